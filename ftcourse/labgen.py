"""Generate the student labs from the solutions (the one source): `make labs`.

In a solution notebook:
- the cells tagged `lab-template` are re-rendered from ftcourse.labtemplate (from the notebook's
  `course` metadata: title, learn, time, gpu_memory);
- in a code cell, the lines between `# BEGIN SOLUTION` and `# BEGIN STUB` are the answer, and the
  commented lines between `# BEGIN STUB` and `# END SOLUTION` are what the student gets instead
  (uncommented);
- a markdown cell tagged `solution` is a written answer; the student gets an empty answer box.

`python -m ftcourse.labgen --check` writes nothing and fails when labs/ or the solutions' template
cells differ from what would be generated (a test runs it).
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

from .labtemplate import TEMPLATE_TAG, template_cells
from .profiles import REPO_ROOT

BEGIN, STUB, END = "# BEGIN SOLUTION", "# BEGIN STUB", "# END SOLUTION"
ANSWER_BOX = "✏️ **여기에 답을 쓰세요.** (Write your answer here.)"
NOTEBOOK_METADATA = ("kernelspec", "language_info", "course")


class SolutionFormatError(ValueError):
    pass


def student_source(source: str, where: str) -> str:
    """Replace every solution region of a code cell by its stub."""
    out: list[str] = []
    state = "code"
    for number, line in enumerate(source.splitlines(), 1):
        marker = line.strip()
        if marker == BEGIN:
            if state != "code":
                raise SolutionFormatError(f"{where}, line {number}: nested '{BEGIN}'")
            state, indent = "answer", line[: len(line) - len(line.lstrip())]
        elif marker == STUB:
            if state != "answer":
                raise SolutionFormatError(f"{where}, line {number}: '{STUB}' outside a solution region")
            state = "stub"
        elif marker == END:
            if state != "stub":
                raise SolutionFormatError(f"{where}, line {number}: '{END}' without a '{STUB}' part before it")
            state = "code"
        elif state == "code":
            out.append(line)
        elif state == "stub":
            body = line.strip()
            if body and not body.startswith("#"):
                raise SolutionFormatError(f"{where}, line {number}: stub lines must be commented out")
            out.append(indent + body[2:] if body.startswith("# ") else indent + body[1:])
    if state != "code":
        raise SolutionFormatError(f"{where}: a solution region is not closed with '{END}'")
    return "\n".join(out)


def _clean(cell) -> None:
    cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


def with_template(solution, name: str):
    """The solution with its template cells re-rendered (the first cells tagged lab-template)."""
    nb = copy.deepcopy(solution)
    body = [c for c in nb.cells if TEMPLATE_TAG not in c.metadata.get("tags", [])]
    nb.cells = template_cells(nb.metadata["course"], f"solutions/{name}", True) + body
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in NOTEBOOK_METADATA}
    return nb


def student_lab(solution, name: str):
    """The student lab generated from a solution."""
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
    nb.cells = template_cells(nb.metadata["course"], f"labs/{name}", False) + cells
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in NOTEBOOK_METADATA}
    return nb


def generate(root: Path = REPO_ROOT, check: bool = False) -> list[str]:
    """Write (or, with check, only compare) every solution and lab; returns the drifted paths."""
    drifted = []
    for solution_path in sorted((root / "solutions").glob("*.ipynb")):
        name = solution_path.name
        solution = with_template(nbformat.read(solution_path, as_version=4), name)
        targets = {solution_path: solution, root / "labs" / name: student_lab(solution, name)}
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
