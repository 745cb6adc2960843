"""Every chapter page has the same skeleton, so chapters 2-4 can copy chapter 1 safely.

A chapter page is `book/intro.md`, a page of the 본문 part of `_toc.yml` (named `book/chN_topic.md`) or one of
TEACHING_PAGES (the training-recipe page).
Its page label is `intro` or `chN`. The page must have:
- `(label)=` right above its `#` title and `(label-...)=` right above every `##` section;
- an "이 장의 목표" (or "학습 목표") admonition with a short list and the reading time ("읽는 시간", computed
  with `ftcourse.reading`), after the opening paragraph(s) and before the first code cell and the first `##` section;
- at least one `{exercise}`;
- `## 요약` as its last `##` section, labelled `(label-summary)=`;
- on every code cell that draws a figure: `mystnb.figure.name` (`fig-<label>-...`),
  `mystnb.figure.caption` and `mystnb.image.alt`.
Across `book/`: every `{ref}`/`{numref}` target exists; every `{literalinclude}` with `:pyobject:`
names a real object whose docstring refers ({ref}) to the labelled section that shows it; every
function of a taught module (`ftcourse.peft_counts`, `ftcourse.memory`) a page calls is shown somewhere.
"""
from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from ftcourse.paths import REPO_ROOT as ROOT

from .test_structure import resolve, toc_entries

BOOK = ROOT / "book"
CHAPTER_PART = "본문"
# pages outside the 본문 part that teach like a chapter (code, figures, exercises): same skeleton
TEACHING_PAGES = ("book/recipe",)
OBJECTIVES_TITLES = ("이 장의 목표", "학습 목표")
OBJECTIVES_ITEMS = (3, 7)
READING_TIME = "읽는 시간"
TAUGHT_MODULES = {"ftcourse.peft_counts": ROOT / "ftcourse" / "peft_counts.py",
                  "ftcourse.memory": ROOT / "ftcourse" / "memory.py",
                  "ftcourse.lora": ROOT / "ftcourse" / "lora.py",
                  "ftcourse.quant": ROOT / "ftcourse" / "quant.py",
                  "ftcourse.merging": ROOT / "ftcourse" / "merging.py",
                  "ftcourse.recipe_notes": ROOT / "ftcourse" / "recipe_notes.py"}
# directives whose body is code or data, not Markdown: never look for headings or blocks inside
CODE_DIRECTIVES = {"code-cell", "code-block", "code", "sourcecode", "literalinclude", "math",
                   "raw", "csv-table", "mermaid", "glue:figure", "bibliography"}
# a code cell draws a figure when it calls one of these
DRAWS = re.compile(r"\bplt\.(show|subplots?|figure)\(|\bplotting\.draw_\w+\(")
FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,}|:{3,})\s*(?:\{(?P<name>[^}\s]+)\})?\s*(?P<arg>.*?)\s*$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
LABEL_LINE = re.compile(r"^\((?P<label>[^()\s]+)\)=\s*$")
OPTION_LABEL = re.compile(r"^\s*:(?:label|name):\s*(?P<label>\S+)\s*$", re.M)
ROLE_REF = re.compile(r"\{(?P<role>ref|numref)\}`(?P<body>[^`]+)`")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")


# --- a small MyST reader ---------------------------------------------------------------------

@dataclass
class Block:
    """A fenced block: a directive such as {code-cell} or {exercise}, or a plain code fence."""

    name: str                 # directive name, "" for a plain fence
    arg: str
    options: dict
    content: list[str]        # body without the option block
    line: int                 # 1-based line of the opening fence
    content_line: int         # 1-based line of content[0]


@dataclass
class Page:
    path: str
    top: list[tuple[int, str]] = field(default_factory=list)   # lines outside every fence
    blocks: list[Block] = field(default_factory=list)         # every block, nested ones included
    problems: list[str] = field(default_factory=list)

    def headings(self) -> list[tuple[int, int, str, str | None]]:
        """(line, level, title, label right above or None) for each heading outside fences."""
        labels = {n: m["label"] for n, t in self.top if (m := LABEL_LINE.match(t))}
        out = []
        for n, text in self.top:
            if m := HEADING.match(text):
                out.append((n, len(m["hashes"]), m["title"], labels.get(n - 1)))
        return out

    def code_cells(self) -> list[Block]:
        return [b for b in self.blocks if b.name == "code-cell"]


def _options(body: list[str]) -> tuple[dict, int]:
    """Directive options as YAML: a `---` block or leading `:key: value` lines. Returns (options, lines used)."""
    if body and body[0].strip() == "---":
        end = next((i for i in range(1, len(body)) if body[i].strip() == "---"), None)
        if end is not None:
            return yaml.safe_load("\n".join(body[1:end])) or {}, end + 1
    n = 0  # `:key: value` lines and their indented `:  ...` continuations (not a `:::` fence)
    while n < len(body) and re.match(r":[A-Za-z_][\w-]*:(\s|$)" if n == 0 else r":([A-Za-z_][\w-]*:|\s)", body[n]):
        n += 1
    if n == 0:
        return {}, 0
    return yaml.safe_load("\n".join(line[1:] for line in body[:n])) or {}, n


def _read(lines: list[str], first_line: int, page: Page) -> None:
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            page.top.append((first_line + i, lines[i]))
            i += 1
            continue
        fence = m["fence"]
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), None)
        if end is None:
            page.problems.append(f"line {first_line + i}: fence {fence} is never closed")
            end = len(lines)
        body = lines[i + 1:end]
        name = m["name"] or ""
        try:
            options, used = _options(body) if name else ({}, 0)
        except yaml.YAMLError as err:
            page.problems.append(f"line {first_line + i}: unreadable options of {{{name}}}: {err}")
            options, used = {}, 0
        content = body[used:]
        block = Block(name, m["arg"], options, content, first_line + i, first_line + i + 1 + used)
        page.blocks.append(block)
        if name and name not in CODE_DIRECTIVES:
            inner = Page(page.path)
            _read(content, block.content_line, inner)
            page.blocks += inner.blocks
            page.problems += inner.problems
        i = end + 1


def read_page(text: str, path: str = "<page>") -> Page:
    lines = text.split("\n")
    start = 0
    if lines and lines[0].strip() == "---":  # jupytext front matter
        start = next(i for i in range(1, len(lines)) if lines[i].strip() == "---") + 1
    page = Page(path)
    _read(lines[start:], start + 1, page)
    return page


def _dig(options: dict, *keys):
    for key in keys:
        if not isinstance(options, dict):
            return None
        options = options.get(key)
    return options


# --- the skeleton of one chapter page ------------------------------------------------------

def skeleton_problems(text: str, label: str, path: str = "<page>") -> list[str]:
    """What the page lacks, one line each; empty when the page follows the skeleton."""
    page = read_page(text, path)
    problems = list(page.problems)
    heads = page.headings()
    titles = [h for h in heads if h[1] == 1]
    if not titles:
        return problems + ["no `#` title"]
    title_line, _, title, title_label = titles[0]
    if title_label != label:
        problems.append(f"`({label})=` must sit right above the title `# {title}`"
                        + (f" (found `({title_label})=`)" if title_label else ""))

    sections = [h for h in heads if h[1] == 2]
    for line, _, sec, sec_label in sections:
        if sec_label is None:
            problems.append(f"line {line}: section `## {sec}` has no label; put `({label}-...)=` right above it")
        elif not sec_label.startswith(f"{label}-"):
            problems.append(f"line {line}: label `{sec_label}` of `## {sec}` must start with `{label}-`")

    first_section = sections[0][0] if sections else float("inf")
    cells = page.code_cells()
    first_cell = cells[0].line if cells else float("inf")
    objectives = [b for b in page.blocks if b.name == "admonition" and b.arg in OBJECTIVES_TITLES]
    if not objectives:
        problems.append(f"no learning objectives: add an `{{admonition}} {OBJECTIVES_TITLES[0]}` with a short list "
                        "right after the opening paragraph(s)")
    else:
        goal = objectives[0]
        opening = [t for n, t in page.top if title_line < n < goal.line and t.strip() and not LABEL_LINE.match(t)]
        items = sum(bool(LIST_ITEM.match(t)) for t in goal.content)
        if goal.line > min(first_section, first_cell):
            problems.append(f"line {goal.line}: the learning objectives must come before the first code cell "
                            "and the first `##` section")
        if not opening:
            problems.append(f"line {goal.line}: the learning objectives must follow an opening paragraph")
        if not OBJECTIVES_ITEMS[0] <= items <= OBJECTIVES_ITEMS[1]:
            problems.append(f"line {goal.line}: the learning objectives list has {items} item(s), "
                            f"expected {OBJECTIVES_ITEMS[0]} to {OBJECTIVES_ITEMS[1]}")
        if not any(READING_TIME in t for t in goal.content):
            problems.append(f"line {goal.line}: the learning objectives must state the reading time "
                            f"({READING_TIME} ..., computed with ftcourse.reading)")

    if not any(b.name == "exercise" for b in page.blocks):
        problems.append("no `{exercise}` block")

    if not sections:
        problems.append("no `##` sections (the last one must be `## 요약`)")
    else:
        line, _, last, last_label = sections[-1]
        if last != "요약":
            problems.append(f"the last `##` section is `## {last}`, not `## 요약`")
        elif last_label != f"{label}-summary":
            problems.append(f"line {line}: `## 요약` must be labelled `({label}-summary)=`")

    for cell in cells:
        if not DRAWS.search("\n".join(cell.content)):
            continue
        name = _dig(cell.options, "mystnb", "figure", "name")
        where = f"line {cell.line}: figure cell"
        if not name:
            problems.append(f"{where} has no mystnb.figure.name")
        elif not str(name).startswith(f"fig-{label}-"):
            problems.append(f"{where} is named `{name}`; figure names start with `fig-{label}-`")
        if not _dig(cell.options, "mystnb", "figure", "caption"):
            problems.append(f"{where} `{name}` has no mystnb.figure.caption")
        if not _dig(cell.options, "mystnb", "image", "alt"):
            problems.append(f"{where} `{name}` has no alt text (mystnb.image.alt)")
    return problems


def page_label(entry: str) -> str:
    name = Path(entry).name
    if name == "intro" or entry in TEACHING_PAGES:
        return name
    m = re.fullmatch(r"(ch\d+)_\w+", name)
    assert m, f"{entry}: a chapter page must be named book/chN_topic.md (its page label is chN)"
    return m[1]


def chapter_entries() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    parts = [p for p in toc["parts"] if p.get("caption") == CHAPTER_PART]
    assert len(parts) == 1, f"_toc.yml needs exactly one part captioned {CHAPTER_PART!r}"
    return ["book/intro"] + [ch["file"] for ch in parts[0]["chapters"]] + list(TEACHING_PAGES)


def chapter_files() -> list[tuple[str, Path]]:
    out = []
    for entry in chapter_entries():
        files = resolve(entry)
        assert files, f"{entry} is listed in _toc.yml but does not exist"
        out.append((entry, files[0]))
    return out


def test_chapter_pages_are_where_the_skeleton_test_looks():
    entries = chapter_entries()
    misplaced = [e for e in toc_entries() if re.fullmatch(r"book/ch\d+_\w+", e) and e not in entries]
    assert not misplaced, f"chapter pages outside the {CHAPTER_PART!r} part of _toc.yml: {misplaced}"
    assert "book/ch1_peft" in entries


@pytest.mark.parametrize("entry, path", [pytest.param(e, p, id=e) for e, p in chapter_files()])
def test_chapter_follows_the_skeleton(entry, path):
    assert path.suffix == ".md", f"{entry}: chapter pages are MyST Markdown (.md), got {path.name}"
    problems = skeleton_problems(path.read_text(encoding="utf-8"), page_label(entry), str(path))
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


# --- synthetic pages: the checks above can fail ----------------------------------------------

GOOD = textwrap.dedent("""\
    ---
    kernelspec:
      name: python3
    ---

    (ch9)=
    # 시험 장

    첫 문단입니다.

    ```{admonition} 이 장의 목표
    :class: tip

    - 하나를 합니다.
    - 둘을 합니다.
    - 셋을 합니다.

    읽는 시간 약 5분.
    ```

    ```{code-cell} ipython3
    # a comment, not a heading
    x = 1
    ```

    (ch9-first)=
    ## 첫 절

    ```{code-cell} ipython3
    ---
    mystnb:
      image:
        alt: 점 하나
      figure:
        caption: 점 하나를 그린 그림
        name: fig-ch9-dot
    ---
    fig, ax = plt.subplots()
    plt.show()
    ```

    ```{exercise}
    :label: ex-ch9-1

    문제입니다.
    ```

    (ch9-summary)=
    ## 요약

    - 끝입니다.
    """)

OBJECTIVES = "```{admonition} 이 장의 목표\n:class: tip\n\n- 하나를 합니다.\n- 둘을 합니다.\n- 셋을 합니다.\n\n읽는 시간 약 5분.\n```\n"
# case -> (replacements applied to GOOD in order, a phrase the problem must contain)
BROKEN = {
    "title label": ([("(ch9)=\n# 시험 장", "# 시험 장")], "right above the title"),
    "section label": ([("(ch9-first)=\n## 첫 절", "## 첫 절")], "`## 첫 절` has no label"),
    "section prefix": ([("(ch9-first)=", "(first)=")], "must start with `ch9-`"),
    "no objectives": ([("{admonition} 이 장의 목표", "{admonition} 참고")], "no learning objectives"),
    "objectives late": ([(OBJECTIVES, ""), ("(ch9-summary)=", OBJECTIVES + "\n(ch9-summary)=")],
                        "must come before the first code cell"),
    "objectives short": ([("- 둘을 합니다.\n- 셋을 합니다.\n", "")], "has 1 item(s)"),
    "reading time": ([("\n읽는 시간 약 5분.\n", "\n")], "must state the reading time"),
    "no opening": ([("첫 문단입니다.\n", "")], "must follow an opening paragraph"),
    "exercise": ([("```{exercise}\n:label: ex-ch9-1\n\n문제입니다.\n```\n", "")], "no `{exercise}`"),
    "summary title": ([("## 요약", "## 정리")], "not `## 요약`"),
    "summary label": ([("(ch9-summary)=", "(ch9-end)=")], "must be labelled `(ch9-summary)=`"),
    "figure name": ([("name: fig-ch9-dot", "name: dot")], "figure names start with `fig-ch9-`"),
    "figure caption": ([("    caption: 점 하나를 그린 그림\n", "")], "no mystnb.figure.caption"),
    "alt text": ([("  image:\n    alt: 점 하나\n", "")], "no alt text"),
    "helper figure": ([("fig, ax = plt.subplots()\nplt.show()", "plotting.draw_flow(ax, [])"),
                       ("name: fig-ch9-dot", "name: dot")], "figure names start with `fig-ch9-`"),
    "unclosed fence": ([("- 끝입니다.\n", "- 끝입니다.\n```{note}\n열린 채\n")], "never closed"),
}


def test_a_good_synthetic_page_passes():
    assert skeleton_problems(GOOD, "ch9") == []


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_synthetic_page_fails(case):
    replacements, expected = BROKEN[case]
    text = GOOD
    for old, new in replacements:
        assert old in text, f"{case}: {old!r}"
        text = text.replace(old, new)
    problems = skeleton_problems(text, "ch9")
    assert any(expected in p for p in problems), f"{case}: expected {expected!r} in {problems}"


def test_a_heading_inside_a_code_cell_is_not_a_section():
    page = read_page(GOOD)
    assert [title for _, level, title, _ in page.headings() if level == 2] == ["첫 절", "요약"]


# --- references ------------------------------------------------------------------------------

def _notebook_texts() -> list[tuple[Path, str]]:
    out = []
    for d in ("labs", "solutions"):
        for path in sorted((ROOT / d).glob("*.ipynb")):
            nb = json.loads(path.read_text(encoding="utf-8"))
            for cell in nb["cells"]:
                source = "".join(cell["source"])
                if cell["cell_type"] == "markdown":
                    out.append((path, source))
                name = _dig(cell.get("metadata", {}), "mystnb", "figure", "name")
                if name:
                    out.append((path, f"({name})="))
    return out


def defined_labels(texts: list[str]) -> set[str]:
    labels = set()
    for text in texts:
        page = read_page(text)
        labels |= set(re.findall(r"^\(([^()\s]+)\)=\s*$", text, re.M))
        labels |= set(OPTION_LABEL.findall(text))
        labels |= {str(n) for b in page.code_cells() if (n := _dig(b.options, "mystnb", "figure", "name"))}
    return labels


def used_refs(text: str) -> list[str]:
    """{ref}/{numref} targets used in the Markdown (code cells are not Markdown)."""
    page = read_page(text)
    prose = [t for _, t in page.top] + [t for b in page.blocks if b.name not in CODE_DIRECTIVES for t in b.content]
    targets = []
    for m in ROLE_REF.finditer("\n".join(prose)):
        body = m["body"]
        inner = re.search(r"<([^<>]+)>\s*$", body)
        targets.append((inner[1] if inner else body).strip())
    return targets


def book_labels() -> set[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(BOOK.glob("*.md"))]
    return defined_labels(texts + [t for _, t in _notebook_texts()])


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.md")), ids=lambda p: p.name)
def test_every_ref_target_exists(path):
    labels = book_labels()
    missing = sorted({t for t in used_refs(path.read_text(encoding="utf-8")) if t not in labels})
    assert not missing, f"{path.relative_to(ROOT)}: {{ref}}/{{numref}} to undefined label(s) {missing}"


def test_a_missing_ref_target_is_caught():
    text = GOOD + "\n{ref}`ch9-first`, {ref}`둘째 <ch9-nowhere>`, {numref}`fig-ch9-dot`\n"
    labels = defined_labels([text])
    assert {"ch9", "ch9-first", "ch9-summary", "ex-ch9-1", "fig-ch9-dot"} <= labels
    assert [t for t in used_refs(text) if t not in labels] == ["ch9-nowhere"]


# --- code shown with {literalinclude} --------------------------------------------------------

def _python_object(source: Path, dotted: str):
    node: ast.AST = ast.parse(source.read_text(encoding="utf-8"))
    for part in dotted.split("."):
        found = [n for n in getattr(node, "body", [])
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part]
        if not found:
            return None
        node = found[0]
    return node


def literalinclude_problems(text: str, page_path: Path) -> list[str]:
    """Each :pyobject: include must exist and say (in its docstring) which labelled section shows it."""
    page = read_page(text, str(page_path))
    heads = page.headings()
    problems = []
    for block in page.blocks:
        if block.name != "literalinclude" or "pyobject" not in block.options:
            continue
        obj_name = str(block.options["pyobject"])
        where = f"line {block.line}: literalinclude {block.arg} :pyobject: {obj_name}"
        source = (page_path.parent / block.arg).resolve()
        if not source.is_file():
            problems.append(f"{where}: no such file {source}")
            continue
        node = _python_object(source, obj_name)
        if node is None:
            problems.append(f"{where}: {source.name} defines no {obj_name}")
            continue
        above = [h for h in heads if h[0] < block.line]
        if not above or above[-1][3] is None:
            title = above[-1][2] if above else "(none)"
            problems.append(f"{where}: the section showing it (`{title}`) has no label to name in the docstring")
            continue
        section_label = above[-1][3]
        doc = ast.get_docstring(node) or ""
        named = {t for t in used_refs(doc)}
        if section_label not in named:
            problems.append(f"{where}: its docstring must say where it is taught, e.g. "
                            f"\"Taught in ... ({{ref}}`{section_label}`)\" (it names {sorted(named) or 'none'})")
    return problems


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.md")), ids=lambda p: p.name)
def test_literalincludes_show_real_code_that_points_back(path):
    problems = literalinclude_problems(path.read_text(encoding="utf-8"), path)
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_literalinclude_problems_are_caught(tmp_path):
    (tmp_path / "mod.py").write_text(textwrap.dedent('''\
        def good():
            """Taught in 9장 ({ref}`ch9-first`)."""

        def silent():
            """No pointer back."""
        '''), encoding="utf-8")
    page = tmp_path / "book" / "page.md"
    page.parent.mkdir()

    def include(name, path="../mod.py"):
        return f"\n```{{literalinclude}} {path}\n:language: python\n:pyobject: {name}\n```\n"

    head = "(ch9)=\n# 장\n\n(ch9-first)=\n## 첫 절\n"
    assert literalinclude_problems(head + include("good"), page) == []
    # inside tabs (colon fences) the includes are still found, each one
    tabs = ("\n::::{tab-set}\n:::{tab-item} good\n" + include("good") + ":::\n"
            ":::{tab-item} silent\n" + include("silent") + ":::\n::::\n")
    problems = literalinclude_problems(head + tabs, page)
    assert len(problems) == 1 and "pyobject: silent" in problems[0], problems
    cases = {
        "missing": (include("nowhere"), "defines no nowhere"),
        "no file": (include("good", "../gone.py"), "no such file"),
        "no pointer": (include("silent"), "must say where it is taught"),
        "unlabelled section": ("\n## 둘째 절\n" + include("good"), "has no label"),
    }
    for case, (tail, expected) in cases.items():
        problems = literalinclude_problems(head + tail, page)
        assert any(expected in p for p in problems), f"{case}: {problems}"


def _called_module_functions(code: str) -> dict[str, set[str]]:
    """Functions of TAUGHT_MODULES that this code calls, by module."""
    tree = ast.parse(code)
    aliases: dict[str, str] = {}          # local name -> module
    direct: dict[str, tuple[str, str]] = {}  # local name -> (module, function)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full in TAUGHT_MODULES:
                    aliases[a.asname or a.name] = full
                elif node.module in TAUGHT_MODULES:
                    direct[a.asname or a.name] = (node.module, a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in TAUGHT_MODULES and a.asname:
                    aliases[a.asname] = a.name
    calls: dict[str, set[str]] = {m: set() for m in TAUGHT_MODULES}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in aliases:
            calls[aliases[f.value.id]].add(f.attr)
        elif isinstance(f, ast.Name) and f.id in direct:
            module, name = direct[f.id]
            calls[module].add(name)
    return calls


def test_taught_functions_a_page_calls_are_shown_somewhere():
    shown: set[tuple[Path, str]] = set()
    called: dict[tuple[Path, str], list[str]] = {}
    for path in sorted(BOOK.glob("*.md")):
        page = read_page(path.read_text(encoding="utf-8"), str(path))
        for b in page.blocks:
            if b.name == "literalinclude" and "pyobject" in b.options:
                shown.add(((path.parent / b.arg).resolve(), str(b.options["pyobject"])))
        code = "\n".join("\n".join(c.content) for c in page.code_cells()
                         if not any(line.lstrip().startswith("%") for line in c.content))
        for module, names in _called_module_functions(code).items():
            source = TAUGHT_MODULES[module].resolve()
            for name in names:
                node = _python_object(source, name)
                if isinstance(node, ast.FunctionDef):
                    called.setdefault((source, name), []).append(path.name)
    hidden = sorted(f"{src.name}:{name} (used in {', '.join(sorted(set(pages)))})"
                    for (src, name), pages in called.items() if (src, name) not in shown)
    assert called, "found no calls into the taught modules: is the reader broken?"
    assert not hidden, ("functions a page uses but no page shows; add a {literalinclude} with :pyobject: "
                        f"where they are taught: {hidden}")
