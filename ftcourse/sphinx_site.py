"""Sphinx extension with the site's own fixes (listed in _config.yml as ftcourse.sphinx_site).

- MathJax 3 is served from the site's _static folder instead of a CDN: the course is read in
  classrooms with poor networks and tested on machines without internet. MathJax 3.2.2 comes from
  the pinned PyPI package django-static-mathjax (its es5 build, Apache-2.0).
- sphinx-thebe 0.3.1 adds its inline script twice under Jupyter Book 1, which throws
  "THEBE_JS_URL has already been declared" in every page's console: keep one copy.
- The theme logs "invalid theme mode" when no default mode is set: start in light mode.
- Colab opens notebooks only. `launch_buttons.colab_url` in _config.yml makes sphinx-book-theme
  (header_buttons/launch.py, `add_launch_buttons`, an html-page-context handler at priority 501)
  put a Colab launch button on every executable page, the chapters' MyST `.md` files included,
  where it would open a file Colab cannot read. A later handler (priority 502) keeps the Colab
  button only where it points at an `.ipynb` (labs, solutions) and drops a launch group left empty.
  The labs' own "Open in Colab" badges come from ftcourse.labtemplate and are not touched here.
"""
from __future__ import annotations

import shutil
from pathlib import Path

MATHJAX_DIR = "mathjax"  # inside _static
COLAB_HOST = "colab.research.google.com"


def _mathjax_source() -> Path:
    import mathjax  # the django-static-mathjax package

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _configure(app, config) -> None:
    config.mathjax_path = f"{MATHJAX_DIR}/tex-chtml.js"
    config.html_context.setdefault("default_mode", "light")
    config.html_theme_options["search_bar_text"] = "이 책에서 검색..."


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique  # in place: later handlers may stop the event


def _colab_only_for_notebooks(app, pagename, templatename, context, doctree) -> None:
    buttons = context.get("header_buttons")
    if not buttons:
        return
    for group in [b for b in buttons if b.get("label") == "launch-buttons"]:
        group["buttons"][:] = [b for b in group.get("buttons", []) if not _colab_without_notebook(b)]
        if not group["buttons"]:
            buttons.remove(group)


def _colab_without_notebook(button: dict) -> bool:
    url = button.get("url", "")
    return COLAB_HOST in url and not url.endswith(".ipynb")


def _copy_mathjax(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(_mathjax_source(), Path(app.outdir) / "_static" / MATHJAX_DIR, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    # after sphinx-book-theme's add_launch_buttons (501), before the page is rendered
    app.connect("html-page-context", _colab_only_for_notebooks, priority=502)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
