"""One spelling per term. The rules live once, in the glossary's "표기 원칙" table (book/glossary.md):
each row names the spelling the book uses and the variants it never uses. This test finds every
variant in what a reader sees: the pages, the labs (all cells) and the Korean strings of the course code.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ftcourse.paths import REPO_ROOT as ROOT

GLOSSARY = ROOT / "book" / "glossary.md"
SPELLING_SECTION = "## 표기 원칙"
# where a reader meets the course's words
SCANNED = [("book", "*.md"), ("book", "*.yml"), ("book", "*.json"), ("labs", "*.ipynb"), ("solutions", "*.ipynb"),
           ("ftcourse", "*.py"), ("_static", "*.js"), ("_static", "*.html")]
ESCAPE = re.compile(r"\\(.)")


def spelling_rules(glossary: str | None = None) -> dict[str, list[str]]:
    """{used spelling: [variants never used]} from the glossary's 표기 원칙 table."""
    text = glossary if glossary is not None else GLOSSARY.read_text(encoding="utf-8")
    assert SPELLING_SECTION in text, f"book/glossary.md has no {SPELLING_SECTION!r} section"
    section = text.split(SPELLING_SECTION, 1)[1].split("\n## ", 1)[0]
    rules: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.lstrip().startswith("|") or set(cells[0]) <= {"-", " "} or cells[0] == "쓰는 표기":
            continue
        used = ESCAPE.sub(r"\1", cells[0])
        rules[used] = [ESCAPE.sub(r"\1", v.strip()) for v in cells[1].split(",") if v.strip()]
    return rules


def reader_texts() -> dict[str, str]:
    """{path: text a reader sees} for every scanned file; a notebook is its cells' sources, and the
    glossary's own spelling table (which must name the variants) is left out."""
    texts = {}
    for folder, pattern in SCANNED:
        for path in sorted((ROOT / folder).rglob(pattern)):
            if ".ipynb_checkpoints" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":
                text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
            if path == GLOSSARY:
                text = text.split(SPELLING_SECTION, 1)[0]
            texts[str(path.relative_to(ROOT))] = text
    return texts


def variants_in(text: str, rules: dict[str, list[str]]) -> list[tuple[int, str, str]]:
    """(line, variant, spelling to use) for every variant in the text."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for used, variants in rules.items():
            found += [(number, v, used) for v in variants if v in line]
    return found


def test_the_glossary_states_the_rules():
    rules = spelling_rules()
    assert len(rules) >= 10, rules
    for used, variants in rules.items():
        assert variants, f"표기 원칙: {used!r} names no variant to avoid"
        assert used not in variants, used


def test_every_rule_is_about_a_word_the_book_uses():
    """A rule for a word no page uses is dead: it protects nothing."""
    book = "\n".join(reader_texts().values())
    unused = [used for used in spelling_rules() if used.replace("`", "") not in book]
    assert not unused, f"표기 원칙 rules for words the book never uses: {unused}"


def test_one_spelling_per_term():
    rules = spelling_rules()
    problems = [f"{path}:{line}: {variant!r} -> write {used!r}"
                for path, text in reader_texts().items() for line, variant, used in variants_in(text, rules)]
    assert not problems, "variant spellings (rules: book/glossary.md, 표기 원칙):\n" + "\n".join(problems)


@pytest.mark.parametrize("used", list(spelling_rules()))
def test_a_planted_variant_is_caught(used):
    """Plant each rule's first variant into a real page: the check must find exactly it, on its line."""
    rules = spelling_rules()
    page = (ROOT / "book" / "ch1_peft.md").read_text(encoding="utf-8")
    planted = f"{page.rstrip()}\n\n이 문장에는 {rules[used][0]}가 있습니다.\n"
    assert variants_in(planted, rules) == [*variants_in(page, rules), (planted.count("\n"), rules[used][0], used)]
