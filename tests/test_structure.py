"""The site's shape: the TOC and the page files agree, notebooks are clean, one repository URL."""
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from ftcourse.labgen import NOTEBOOK_METADATA
from ftcourse.labtemplate import repo_url
from ftcourse.paths import REPO_ROOT as ROOT

PAGE_DIRS = ("book", "labs", "solutions")
PAGE_SUFFIXES = (".md", ".ipynb")


def toc_entries() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entries = [toc["root"]]
    for part in toc["parts"]:
        entries += [ch["file"] for ch in part["chapters"]]
    return entries


def resolve(entry: str) -> list[Path]:
    return [ROOT / f"{entry}{s}" for s in PAGE_SUFFIXES if (ROOT / f"{entry}{s}").exists()]


@pytest.mark.parametrize("entry", toc_entries())
def test_every_toc_entry_is_exactly_one_file(entry):
    files = resolve(entry)
    assert files, f"_toc.yml lists {entry}, but neither {entry}.md nor {entry}.ipynb exists"
    # Jupyter Book silently prefers .md when both exist: never let that happen
    assert len(files) == 1, f"{entry} exists as both .md and .ipynb: {files}"


def test_every_page_is_in_the_toc():
    listed = {str(p.relative_to(ROOT)) for e in toc_entries() for p in resolve(e)}
    pages = {str(p.relative_to(ROOT)) for d in PAGE_DIRS for p in (ROOT / d).rglob("*")
             if p.suffix in PAGE_SUFFIXES and ".ipynb_checkpoints" not in p.parts}
    assert pages - listed == set(), f"pages missing from _toc.yml: {sorted(pages - listed)}"


def test_no_placeholder_pages():
    for entry in toc_entries():
        for path in resolve(entry):
            text = path.read_text(encoding="utf-8")
            assert "작성 중" not in text, f"{path}: placeholder text"


def notebooks():
    return sorted(p for d in ("labs", "solutions") for p in (ROOT / d).glob("*.ipynb"))


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_are_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    stray = set(nb.metadata) - set(NOTEBOOK_METADATA)
    assert not stray, f"{path}: stray notebook metadata {sorted(stray)}"
    for i, cell in enumerate(nb.cells):
        extra = set(cell.metadata) - {"tags"}
        assert not extra, f"{path}, cell {i}: stray cell metadata {sorted(extra)}"
        if cell.cell_type == "code":
            assert cell.execution_count is None, f"{path}, cell {i}: execution count stored"
            if path.parent.name == "labs":
                assert not cell.outputs, f"{path}, cell {i}: a student lab must carry no outputs"


def test_repository_url_lives_in_one_place():
    url = repo_url()
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), url
    owner_repo = url.removeprefix("https://github.com/")
    pattern = re.compile(r"github\.com/([\w.-]+/[\w.-]+?)(?:/|\.git|\"|\)|\s|$)")
    for path in [*notebooks(), ROOT / "README.md", *(ROOT / "book").glob("*.md")]:
        for other in pattern.findall(path.read_text(encoding="utf-8")):
            if other.split("/")[0] in {"unslothai", "huggingface", "mlabonne", "QwenLM", "arcee-ai", "pytorch",
                                         "bitsandbytes-foundation", "ggml-org", "vllm-project", "ollama"}:
                continue  # links to the libraries we teach, not to this course
            assert other == owner_repo, f"{path}: repository URL {other} differs from _config.yml's {owner_repo}"


def test_launch_buttons_point_at_colab():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert set(config["execute"]["exclude_patterns"]) >= {"labs/*", "solutions/*"}
    json.dumps(config)  # plain data only


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_code_is_valid_python(path):
    # the labs cannot run here (no GPU); at least every cell must compile
    import ast

    for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
        if cell.cell_type == "code":
            try:
                ast.parse(cell.source)
            except SyntaxError as err:
                pytest.fail(f"{path}, cell {i}: {err}")
