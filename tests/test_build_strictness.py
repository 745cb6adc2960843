"""The strict build catches what a reader would hit: a broken reference, a failing cell, a lost figure,
a figure label drawn with missing glyphs.

Each case builds a one-page book with the project's own _config.yml and checks that the build fails
and names the file; a clean page must pass (so the test can tell the difference).
"""
import shutil
import textwrap
from pathlib import Path

import pytest

from ftcourse.build_book import build
from ftcourse.paths import REPO_ROOT as ROOT

pytestmark = pytest.mark.build
HEADER = textwrap.dedent("""\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---
    """)
CLEAN = HEADER + textwrap.dedent("""\
    (probe-top)=
    # 점검 페이지

    수식 $W_0 + BA$와 참조 {ref}`probe-top`.

    ```{code-cell} ipython3
    import matplotlib.pyplot as plt
    from ftcourse import plotting

    plotting.setup()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.set_title("한국어 제목")
    plt.show()
    ```
    """)
BROKEN = {
    "cross-reference": CLEAN + "\n깨진 참조 {ref}`no-such-label`.\n",
    "raising cell": CLEAN + "\n```{code-cell} ipython3\nraise ValueError('boom')\n```\n",
    "missing figure": CLEAN + "\n```{figure} figures/deleted.png\n:alt: 지워진 그림\n\n캡션\n```\n",
    # a character the bundled Korean font lacks would be drawn as a box: matplotlib warns, the build fails
    "missing glyph": CLEAN + "\n```{code-cell} ipython3\nfig, ax = plt.subplots()\nax.set_title('\u2212 \u2603')\nplt.show()\n```\n",
}


def make_book(tmp_path: Path, page: str) -> Path:
    book = tmp_path / "book"
    (book / "pages").mkdir(parents=True)
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, book / name)
    shutil.copytree(ROOT / "_static", book / "_static")
    (book / "_toc.yml").write_text("format: jb-book\nroot: pages/probe\n", encoding="utf-8")
    (book / "pages" / "probe.md").write_text(page, encoding="utf-8")
    return book


def test_clean_page_builds(tmp_path):
    code, log = build(make_book(tmp_path, CLEAN))
    assert code == 0, log[-2000:]


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_page_fails_and_names_the_file(tmp_path, case):
    code, log = build(make_book(tmp_path, BROKEN[case]))
    assert code != 0, f"{case}: the strict build passed"
    assert "pages/probe" in log, f"{case}: the build log does not name the file:\n{log[-2000:]}"
