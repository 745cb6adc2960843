"""Sphinx extension with the site's own fixes (listed in _config.yml as ftcourse.sphinx_site).

- MathJax 3 is served from the site's _static folder instead of a CDN: the course is read in
  classrooms with poor networks and tested on machines without internet. MathJax 3.2.2 comes from
  the pinned PyPI package django-static-mathjax (its es5 build, Apache-2.0).
- sphinx-thebe 0.3.1 adds its inline script twice under Jupyter Book 1, which throws
  "THEBE_JS_URL has already been declared" in every page's console: keep one copy.
- The theme logs "invalid theme mode" when no default mode is set: start in light mode.
"""
from __future__ import annotations

import shutil
from pathlib import Path

MATHJAX_DIR = "mathjax"  # inside _static


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


def _copy_mathjax(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(_mathjax_source(), Path(app.outdir) / "_static" / MATHJAX_DIR, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
