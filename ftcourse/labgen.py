"""Generate the student labs from the solutions (the one source): `make labs`.

In a solution notebook:
- the cells tagged `lab-template` are re-rendered from ftcourse.labtemplate (from the notebook's
  `course` metadata: title, learn, time; and the lab's recipe in ftcourse.recipes);
- in a code cell, the lines between `# BEGIN SOLUTION` and `# BEGIN STUB` are the answer, and the
  commented lines between `# BEGIN STUB` and `# END SOLUTION` are what the student gets instead
  (uncommented);
- a markdown cell tagged `solution` is a written answer; the student gets an empty answer box.

Both notebooks are written clean: no outputs, no execution counts, no metadata but the cells' tags
and the notebook's kernel, language, `course` and Colab GPU request.

`python -m ftcourse.labgen --check` writes nothing and fails when labs/ or the solutions differ
from what would be generated (a test runs it).
"""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .labtemplate import COLAB_METADATA, TEMPLATE_TAG, template_cells
from .paths import REPO_ROOT
from .version import worktree_digest

BEGIN, STUB, END = "# BEGIN SOLUTION", "# BEGIN STUB", "# END SOLUTION"
ANSWER_BOX = "✏️ **여기에 답을 쓰세요.** (Write your answer here.)"
NOTEBOOK_METADATA = ("kernelspec", "language_info", "course", *COLAB_METADATA)


class SolutionFormatError(ValueError):
    pass


@dataclass
class Region:
    """One exercise region of a code cell: the answer lines and the stub lines that replace them."""

    first_line: int  # 1-based line of `# BEGIN SOLUTION`
    indent: str
    answer: list[str]
    stub: list[str]  # uncommented, indented: exactly what the student gets


def parse(source: str, where: str) -> tuple[list[str | Region], list[Region]]:
    """A code cell as plain lines and regions, in order; raises SolutionFormatError if malformed."""
    parts: list[str | Region] = []
    state, region = "code", None
    for number, line in enumerate(source.splitlines(), 1):
        marker = line.strip()
        if marker == BEGIN:
            if state != "code":
                raise SolutionFormatError(f"{where}, line {number}: nested '{BEGIN}'")
            state = "answer"
            region = Region(number, line[: len(line) - len(line.lstrip())], [], [])
        elif marker == STUB:
            if state != "answer":
                raise SolutionFormatError(f"{where}, line {number}: '{STUB}' outside a solution region")
            state = "stub"
        elif marker == END:
            if state != "stub":
                raise SolutionFormatError(f"{where}, line {number}: '{END}' without a '{STUB}' part before it")
            parts.append(region)
            state = "code"
        elif state == "code":
            parts.append(line)
        elif state == "answer":
            region.answer.append(line)
        else:
            body = line.strip()
            if body and not body.startswith("#"):
                raise SolutionFormatError(f"{where}, line {number}: stub lines must be commented out")
            region.stub.append(region.indent + (body[2:] if body.startswith("# ") else body[1:]))
    if state != "code":
        raise SolutionFormatError(f"{where}: a solution region is not closed with '{END}'")
    return parts, [p for p in parts if isinstance(p, Region)]


def student_source(source: str, where: str) -> str:
    """Replace every solution region of a code cell by its stub."""
    parts, _ = parse(source, where)
    return "\n".join(line for part in parts for line in ([part] if isinstance(part, str) else part.stub))


def _clean(cell) -> None:
    cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


def _notebook_metadata(nb) -> dict:
    return {**{k: v for k, v in nb.metadata.items() if k in NOTEBOOK_METADATA}, **copy.deepcopy(COLAB_METADATA)}


def with_template(solution, name: str, code_digest: str):
    """The solution, clean, with its template cells re-rendered."""
    nb = copy.deepcopy(solution)
    body = [c for c in nb.cells if TEMPLATE_TAG not in c.metadata.get("tags", [])]
    for cell in body:
        _clean(cell)
    lab = Path(name).stem
    nb.cells = template_cells(nb.metadata["course"], lab, f"solutions/{name}", True, code_digest) + body
    nb.metadata = _notebook_metadata(nb)
    return nb


def student_lab(solution, name: str, code_digest: str):
    """The student lab generated from a (clean) solution."""
    nb = copy.deepcopy(solution)
    cells = []
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if TEMPLATE_TAG in tags:
            continue
        _clean(cell)
        if cell.cell_type == "markdown" and "solution" in tags:
            cell.source = ANSWER_BOX
            cell.metadata = {}
        elif cell.cell_type == "code":
            cell.source = student_source(cell.source, f"solutions/{name}, cell {index}")
        cells.append(cell)
    lab = Path(name).stem
    nb.cells = template_cells(nb.metadata["course"], lab, f"labs/{name}", False, code_digest) + cells
    nb.metadata = _notebook_metadata(nb)
    return nb


def generate(root: Path = REPO_ROOT, check: bool = False) -> list[str]:
    """Write (or, with check, only compare) every solution and lab; returns the drifted paths."""
    drifted = []
    code_digest = worktree_digest(root)
    for solution_path in sorted((root / "solutions").glob("*.ipynb")):
        name = solution_path.name
        solution = with_template(nbformat.read(solution_path, as_version=4), name, code_digest)
        targets = {solution_path: solution, root / "labs" / name: student_lab(solution, name, code_digest)}
        for path, nb in targets.items():
            text = nbformat.writes(nb) + "\n"
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                drifted.append(str(path.relative_to(root)))
                if not check:
                    path.write_text(text, encoding="utf-8")
    return drifted


def main(argv: list[str]) -> int:
    check = "--check" in argv
    try:
        drifted = generate(check=check)
    except SolutionFormatError as err:
        print(f"labs: {err}", file=sys.stderr)
        return 1
    if check and drifted:
        print("labs: out of date, run `make labs`: " + ", ".join(drifted), file=sys.stderr)
        return 1
    print("labs: " + (", ".join(f"wrote {p}" for p in drifted) if drifted else "up to date"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
