"""Slides for each chapter, made from the built book: `python -m ftcourse.slides [SITE_DIR]` (make slides).

A deck is not a second copy of a chapter. It is cut from the chapter's page as the strict build
rendered it (`_build/html/book/<chapter>.html`: glued numbers filled in, references resolved,
figures computed at build time): the title, the objectives box, each `##` section's first
sentences, its first display equation, its points (a list that opens the section, else its
sub-headings, else the first sentence of its next paragraphs), every figure of the section with its
caption, and the summary (one sentence a point, a few points a slide). The full paragraphs go into
the speaker notes. Exercises, code and dropdowns are left out. Rebuild the book and the decks follow.

The decks are written to `<site>/slides/` next to the book's pages, so they share its figures
(`../_images`) and its MathJax (`../_static/mathjax`, see ftcourse/sphinx_site.py), and work
offline. reveal.js itself comes from the pinned PyPI package sphinx-revealjs, which ships a
reveal.js build (MIT) inside its wheel; only that folder is used (the Sphinx builder is not), and its
files are checked against the hashes below before they are copied.
"""
from __future__ import annotations

import copy
import hashlib
import html
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, NavigableString, Tag

from .paths import REPO_ROOT

DECKS = ("intro", "ch1_peft", "ch2_lora", "ch3_quant", "ch4_merging", "recipe")
SLIDES_DIR = "slides"
REVEAL_DIR = "revealjs"  # inside SLIDES_DIR
REVEAL_VERSION = "5.2.0"
# reveal.js files copied from sphinx-revealjs 3.2.1 (relative to its _static/revealjs), with their sha256
REVEAL_FILES = {
    "dist/reveal.js": "46538b52db48724192f59bf46f5e851a18e302777c46f4a34c32709d010d6a29",
    "dist/reveal.css": "68f915a11ebf7203c0446576b7e952ff61c5dd02134a8a226ffaf62ed42136d2",
    "dist/reset.css": "1aa8e84c9cabcbfe4d95b19879fe48b9c2c5e6d54574cbe679bc22edb9fe12b6",
    "dist/theme/white.css": "97f64970ffd6c745ffab96ad26c504950f665e18fa851ac8864fc1851ce99780",
    "plugin/notes/notes.js": "df1201d19d03241a2897d39c3d38768177df1cbd4bde06327b321cb83461ae89",
    "LICENSE": "34014800f4126ac2525e224166f099f26628612e95c41f76d70841b63138c989",
}
REVEAL_FOLDERS = ("dist/theme/fonts/source-sans-pro",)  # fonts the white theme imports
MAX_SENTENCES = 2  # of a section's first paragraph on its slide
MAX_BULLETS = 6
SUMMARY_PER_SLIDE = 4  # summary points a slide
# A list is the section's points only when it opens the section: among its first OPENING blocks after
# the heading, before any code cell, figure or exercise (a list further down belongs to a worked example).
OPENING = 4
NOT_OPENING = ("div.code-was-here", "div.cell", "figure", "div.exercise", "div.sd-tab-set", "section")
# A sentence ends at "다.", "요?" and the like, or at "." after a closing bracket ("…개)."), not at "et al."
SENTENCE_END = re.compile(r"[\uac00-\ud7a3)\]][.?!](?=\s|$)")
LEFT_OUT = ("div.exercise", "div.solution", "details", "div.dropdown", "div.toggle", "a.headerlink",
            "div.margin", "aside", "div.admonition.dropdown", "div.sd-dropdown")


class SlidesError(RuntimeError):
    pass


# ----------------------------------------------------------------------------- reveal.js
def reveal_source() -> Path:
    try:
        import sphinx_revealjs
    except ImportError:
        raise SlidesError("reveal.js comes from the sphinx-revealjs package: pip install -r requirements.txt") from None
    return Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"


def check_reveal(source: Path) -> None:
    """The reveal.js build is the pinned one: its version line and every copied file's sha256."""
    head = (source / "dist" / "reveal.js").read_text(encoding="utf-8")[:200]
    if f"reveal.js {REVEAL_VERSION}" not in head:
        raise SlidesError(f"expected reveal.js {REVEAL_VERSION} in {source}, found: {head[:60]!r}")
    for name, digest in REVEAL_FILES.items():
        actual = hashlib.sha256((source / name).read_bytes()).hexdigest()
        if actual != digest:
            raise SlidesError(f"{source / name}: sha256 {actual} differs from the pinned {digest}")


def copy_reveal(out: Path) -> None:
    source = reveal_source()
    check_reveal(source)
    target = out / REVEAL_DIR
    for name in REVEAL_FILES:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target / name)
    for folder in REVEAL_FOLDERS:
        shutil.copytree(source / folder, target / folder, dirs_exist_ok=True)


# ----------------------------------------------------------------------------- reading a chapter
@dataclass
class Section:
    title: str
    anchor: str
    lead: str = ""  # HTML: the first sentences of the first paragraph
    notes: str = ""  # HTML: the whole first paragraph
    equation: str = ""  # HTML: the first display equation, when it comes right after the opening paragraphs
    bullets: list[str] = field(default_factory=list)  # HTML of list items or sub-section titles
    figures: list[tuple[str, str, str]] = field(default_factory=list)  # (src, alt, caption HTML)


@dataclass
class Chapter:
    name: str
    title: str
    objectives: list[str]
    sections: list[Section]
    summary: list[str]


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ", strip=True).split())


def _title(heading: Tag) -> str:
    heading = copy.copy(heading)
    for extra in heading.select("a.headerlink, span.section-number"):
        extra.decompose()
    return _text(heading)


def _relink(tag: Tag, page: str) -> Tag:
    """Links relative to book/<page>.html, rewritten for slides/<deck>.html (same depth)."""
    for a in tag.find_all("a", href=True):
        href = a["href"]
        if href.startswith("#"):
            a["href"] = f"../book/{page}.html{href}"
        elif not re.match(r"^(?:[a-z]+:|/|\.\./)", href):
            a["href"] = f"../book/{href}"
        a["target"] = "_blank"
    return tag


def _inner(tag: Tag) -> str:
    return "".join(str(c) for c in tag.contents).strip()


def first_sentences(paragraph: Tag, n: int = MAX_SENTENCES) -> str:
    """The paragraph's HTML cut after its n-th sentence end (`SENTENCE_END`: "다.", "까?", "…개).", followed by a
    space or the end of a text run; not the "." of "et al." or of a number)."""
    p = copy.copy(paragraph)
    count = 0
    for node in list(p.descendants):
        if count >= n:
            if isinstance(node, NavigableString) and node.parent is not None:
                node.replace_with("")
            continue
        if isinstance(node, NavigableString) and not node.find_parent(class_="math"):
            for m in SENTENCE_END.finditer(str(node)):
                count += 1
                if count >= n:
                    node.replace_with(str(node)[: m.end()])
                    break
    for tag in p.find_all(True):  # drop tags the cut left empty (links, code)
        if not tag.get_text(strip=True) and tag.name not in ("img", "br"):
            tag.decompose()
    return _inner(p)


def _figures(section: Tag) -> list[tuple[str, str, str]]:
    out = []
    for fig in section.find_all("figure"):
        img = fig.find("img")
        if img is None or not img.get("src"):
            continue
        cap = fig.find("span", class_="caption-text") or fig.find("figcaption")
        number = fig.find("span", class_="caption-number")
        caption = (f"<strong>{html.escape(_text(number))}</strong> " if number else "") + (_inner(cap) if cap else "")
        out.append((img["src"], img.get("alt", ""), caption))
    return out


def _opening_blocks(section: Tag) -> list[Tag]:
    """The blocks that open a section: up to `OPENING` after its heading, stopping at the first code cell,
    figure, exercise, tab set or sub-section."""
    out = []
    for block in section.find_all(True, recursive=False):
        if block.name in ("h2", "span"):
            continue
        if any(block.name == sel.split(".")[0] and (("." not in sel) or sel.split(".")[1] in block.get("class", []))
               for sel in NOT_OPENING):
            break
        out.append(block)
        if len(out) == OPENING:
            break
    return out


def _continues(paragraph: Tag) -> bool:
    """Whether the paragraph goes on with a sentence that a display equation interrupted."""
    before = paragraph.find_previous_sibling(True)
    return before is not None and before.name == "div" and "math" in before.get("class", [])


def _pages(items: list[str], most: int) -> list[list[str]]:
    """`items` over as few slides as hold `most` each, evened out (9 -> 3+3+3 not 4+4+1; 13 -> 4+3+3+3)."""
    if not items:
        return []
    n = -(-len(items) // most)
    size, extra = divmod(len(items), n)
    pages, start = [], 0
    for i in range(n):
        end = start + size + (i < extra)
        pages.append(items[start:end])
        start = end
    return pages


def _points(points: Tag) -> list[str]:
    """A list's items as slide points: each item's first sentence; a definition list's term with the first
    sentence of its definition."""
    if points.name != "dl":
        return [first_sentences(li, 1) for li in points.find_all("li", recursive=False)]
    out = []
    for term in points.find_all("dt", recursive=False):
        definition = term.find_next_sibling("dd")
        first = definition.find("p") if definition is not None else None
        out.append(f"<strong>{_inner(term)}</strong>" + (f": {first_sentences(first, 1)}" if first is not None else ""))
    return out


def _table_points(section) -> list[str]:
    """A summary written as a table (the recipe page's): one point a row, "<b>first cell</b> (second): the rest"."""
    points = []
    for table in section.find_all("table"):
        for row in table.select("tbody tr"):
            cells = [" ".join(_inner(p) for p in td.find_all("p")) or _inner(td) for td in row.find_all("td")]
            if len(cells) >= 2:
                middle = f" ({cells[1]})" if len(cells) > 2 else ""
                points.append(f"<strong>{cells[0]}</strong>{middle}: {' '.join(cells[2:] or cells[1:])}")
    return points


def read_chapter(page_html: str, name: str) -> Chapter:
    soup = BeautifulSoup(page_html, "html.parser")
    article = soup.select_one("article.bd-article") or soup.body
    top = article.find("section")
    if top is None or top.h1 is None:
        raise SlidesError(f"{name}: no chapter heading (h1) in the built page")
    for selector in LEFT_OUT:
        for tag in top.select(selector):
            tag.decompose()
    for cell in top.select("div.cell"):  # code and its output: keep only the figures it drew
        figures = cell.find_all("figure")
        if figures:
            cell.replace_with(*[f.extract() for f in figures])
        else:  # an empty mark: a list after it is not one that opens its section (`_opening_blocks`)
            cell.replace_with(BeautifulSoup('<div class="code-was-here"></div>', "html.parser").div)
    _relink(top, name)
    objectives = []
    for box in top.find_all("div", class_="admonition", recursive=True):
        title = box.find("p", class_="admonition-title")
        if title and "목표" in title.get_text() and box.find("ul"):
            objectives = [_inner(li) for li in box.find("ul").find_all("li", recursive=False)]
            box.decompose()
            break
    sections, summary = [], []
    for sec in top.find_all("section", recursive=False):
        heading = sec.find(["h2"], recursive=False)
        if heading is None:
            continue
        title = _title(heading)
        lists = sec.find_all("ul", recursive=False)
        if title == "요약":
            summary = [_inner(li) for ul in lists for li in ul.find_all("li", recursive=False)]
            summary = summary or _table_points(sec)
            continue
        s = Section(title=title, anchor=sec.get("id", ""))
        paragraphs = [p for p in sec.find_all("p", recursive=False) if p.get_text(strip=True)]
        if paragraphs:
            s.lead = first_sentences(paragraphs[0])
            s.notes = "".join(f"<p>{_inner(p)}</p>" for p in paragraphs[:3])
        opening = _opening_blocks(sec)
        equation = next((b for b in opening if b.name == "div" and "math" in b.get("class", [])), None)
        if equation is not None:
            s.equation = str(equation)
        points = next((b for b in opening if b.name in ("ul", "ol", "dl")), None)
        if points is not None:
            s.bullets = _points(points)[:MAX_BULLETS]
        else:
            subs = [sub.find("h3", recursive=False) for sub in sec.find_all("section", recursive=False)]
            s.bullets = [html.escape(_title(h)) for h in subs if h is not None][:MAX_BULLETS]
            if not s.bullets:  # no list, no sub-sections: the next paragraphs' first sentences
                starts = [p for p in paragraphs[1:] if not _continues(p)]  # not "…로 같습니다." after an equation
                s.bullets = [first_sentences(p, 1) for p in starts[:3]]
                later = sec.find(["ul", "ol", "dl"], recursive=False)
                if len(s.bullets) < 3 and later is not None:  # few paragraphs, and a list further down: its points
                    s.bullets = _points(later)[:MAX_BULLETS]
        s.figures = _figures(sec)
        sections.append(s)
    return Chapter(name, _title(top.h1), objectives, sections, summary)


# ----------------------------------------------------------------------------- writing a deck
def _mathjax_config(root: Path) -> str:
    """The site's MathJax settings (macros) from _config.yml, so math reads the same on slides."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    macros = config.get("sphinx", {}).get("config", {}).get("mathjax3_config", {}).get("tex", {}).get("macros", {})
    import json

    return json.dumps({"tex": {"macros": macros, "inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]]},
                       "options": {"processHtmlClass": "math"},
                       "startup": {"typeset": True}}, ensure_ascii=False)


def _font_stack(root: Path) -> str:
    """The site's Korean-first font stack (the first font-family of _static/course.css)."""
    css = (root / "_static" / "course.css").read_text(encoding="utf-8")
    match = re.search(r"font-family:\s*([^;]+);", css)
    return " ".join(match[1].split()) if match else "sans-serif"


CSS = """
.reveal {{ font-family: {fonts}; word-break: keep-all; font-size: 30px; }}
.reveal h1, .reveal h2, .reveal h3 {{ font-family: {fonts}; text-transform: none; line-height: 1.25; }}
.reveal h1 {{ font-size: 1.8em; }} .reveal h2 {{ font-size: 1.25em; }}
.reveal p, .reveal li {{ line-height: 1.45; }}
.reveal ul {{ display: block; }} .reveal li {{ margin: 0.25em 0; }}
.reveal .lead {{ font-size: 0.95em; }} .reveal .meta {{ font-size: 0.6em; opacity: 0.75; }}
.reveal figure {{ margin: 0; }} .reveal figure img {{ max-height: 600px; max-width: 96%; margin: 0 auto; }}
.reveal div.math {{ font-size: 0.9em; margin: 0.4em 0; }}
.reveal figcaption {{ font-size: 0.5em; line-height: 1.35; text-align: left; }}
.reveal code {{ font-size: 0.9em; }} .reveal a {{ text-decoration: none; }}
.reveal ul.dense {{ font-size: 0.8em; }} .reveal ul.denser {{ font-size: 0.66em; }}
"""

PAGE = """<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<meta name="generator" content="ftcourse.slides from book/{name}.html">
<title>{title} — 슬라이드</title>
<link rel="stylesheet" href="{reveal}/dist/reset.css">
<link rel="stylesheet" href="{reveal}/dist/reveal.css">
<link rel="stylesheet" href="{reveal}/dist/theme/white.css">
<style>{css}</style>
<script>window.MathJax = {mathjax};</script>
<script defer src="../_static/mathjax/tex-chtml.js"></script>
</head>
<body>
<div class="reveal"><div class="slides">
{slides}
</div></div>
<script src="{reveal}/dist/reveal.js"></script>
<script src="{reveal}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({{hash: true, slideNumber: "c/t", width: 1280, height: 800, margin: 0.05,
                   plugins: [RevealNotes]}});
</script>
</body>
</html>
"""


def _list(items: list[str]) -> str:
    """A bullet list, set smaller when its text is long (reveal.js does not shrink text to fit)."""
    if not items:
        return ""
    length = sum(len(BeautifulSoup(item, "html.parser").get_text()) for item in items)
    cls = ' class="denser"' if length > 650 else ' class="dense"' if length > 380 else ""
    return f"<ul{cls}>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def deck_html(ch: Chapter, root: Path = REPO_ROOT) -> str:
    page = f"../book/{ch.name}.html"
    slides = [f'<section id="title"><h1>{html.escape(ch.title)}</h1>'
              f'<p class="meta">LLM 미세조정 · 9주차</p>'
              f'<p class="meta"><a href="{page}" target="_blank">책에서 읽기</a></p></section>']
    if ch.objectives:
        slides.append(f'<section id="objectives"><h2>이 장의 목표</h2>{_list(ch.objectives)}</section>')
    for s in ch.sections:
        heading = f'<h2><a href="{page}#{s.anchor}" target="_blank">{html.escape(s.title)}</a></h2>'
        body = ((f'<p class="lead">{s.lead}</p>' if s.lead else "") + (s.equation if s.equation else "")
                + _list(s.bullets))
        notes = f'<aside class="notes">{s.notes}</aside>' if s.notes else ""
        stack = [f'<section id="{s.anchor}">{heading}{body}{notes}</section>']
        for i, (src, alt, caption) in enumerate(s.figures, 1):
            stack.append(f'<section id="{s.anchor}-fig{i}" class="figure-slide"><h3>{html.escape(s.title)}</h3>'
                         f'<figure><img src="{html.escape(src)}" alt="{html.escape(alt)}">'
                         f'<figcaption>{caption}</figcaption></figure></section>')
        slides.append(stack[0] if len(stack) == 1 else "<section>" + "".join(stack) + "</section>")
    pages = _pages(ch.summary, SUMMARY_PER_SLIDE)
    for i, points in enumerate(pages):
        short = [first_sentences(BeautifulSoup(f"<p>{p}</p>", "html.parser").p, 1) for p in points]
        title = "요약" + (f" ({i + 1}/{len(pages)})" if len(pages) > 1 else "")
        notes = "".join(f"<p>{p}</p>" for p in points)
        slides.append(f'<section id="summary{i + 1 if i else ""}"><h2>{title}</h2>{_list(short)}'
                      f'<aside class="notes">{notes}</aside></section>')
    return PAGE.format(name=ch.name, title=html.escape(ch.title), reveal=REVEAL_DIR,
                       css=CSS.format(fonts=_font_stack(root)), mathjax=_mathjax_config(root),
                       slides="\n".join(slides))


def build(site: Path, root: Path = REPO_ROOT, decks: tuple[str, ...] = DECKS, out: Path | None = None) -> list[Path]:
    """Write one deck per chapter into `out` (default: <site>/slides); returns the files written."""
    out = out or site / SLIDES_DIR
    out.mkdir(parents=True, exist_ok=True)
    copy_reveal(out)
    written = []
    for name in decks:
        page = site / "book" / f"{name}.html"
        if not page.exists():
            raise SlidesError(f"{page} does not exist: build the book first (make book)")
        chapter = read_chapter(page.read_text(encoding="utf-8"), name)
        if not chapter.sections:
            raise SlidesError(f"{name}: found no ## sections in the built page")
        target = out / f"{name}.html"
        target.write_text(deck_html(chapter, root), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    site = Path(argv[0]).resolve() if argv else REPO_ROOT / "_build" / "html"
    start = time.perf_counter()
    try:
        files = build(site)
    except SlidesError as error:
        print(f"slides: {error}", file=sys.stderr)
        return 1
    print(f"slides: {len(files)} decks in {files[0].parent} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
