"""Student labs are generated from the solutions, and nothing of an answer leaks into them."""
from pathlib import Path

import nbformat
import pytest

from ftcourse import labgen
from ftcourse.labtemplate import TEMPLATE_TAG, colab_url

ROOT = Path(__file__).resolve().parent.parent

SOLUTION_CELL = """x = 1
# BEGIN SOLUTION
answer = x * 42
# BEGIN STUB
# answer = None  # TODO: x로 계산하세요
# END SOLUTION
print(answer)"""


def test_labs_are_what_the_generator_writes():
    assert labgen.generate(check=True) == [], "labs/ or solutions' template cells drifted: run `make labs`"


def test_labs_and_solutions_pair_up():
    labs = {p.name for p in (ROOT / "labs").glob("*.ipynb")}
    solutions = {p.name for p in (ROOT / "solutions").glob("*.ipynb")}
    assert labs == solutions and labs, f"unpaired: {sorted(labs ^ solutions)}"


def test_stub_replaces_answer():
    out = labgen.student_source(SOLUTION_CELL, "t")
    assert out == "x = 1\nanswer = None  # TODO: x로 계산하세요\nprint(answer)"


def test_indented_region_keeps_indent():
    src = "if True:\n    # BEGIN SOLUTION\n    y = 2\n    # BEGIN STUB\n    # y = None\n    # END SOLUTION\n"
    assert labgen.student_source(src, "t") == "if True:\n    y = None"


@pytest.mark.parametrize("bad, message", [
    ("# BEGIN SOLUTION\na = 1\n# END SOLUTION", "without a '# BEGIN STUB'"),
    ("# BEGIN SOLUTION\na = 1\n# BEGIN STUB\n# a = None", "not closed"),
    ("# BEGIN SOLUTION\na = 1\n# BEGIN STUB\na = None\n# END SOLUTION", "commented out"),
    ("# BEGIN STUB\n# END SOLUTION", "outside a solution region"),
])
def test_malformed_regions_are_rejected(bad, message):
    with pytest.raises(labgen.SolutionFormatError, match=message):
        labgen.student_source(bad, "t")


def solution_lines(source: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == labgen.BEGIN:
            inside = True
        elif marker in (labgen.STUB, labgen.END):
            inside = False
        elif inside and marker and not marker.startswith("#"):
            lines.append(marker)
    return lines


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb")))
def test_no_answer_leaks_into_the_student_lab(name):
    solution = nbformat.read(ROOT / "solutions" / name, as_version=4)
    lab_cells = {c.id: c for c in nbformat.read(ROOT / "labs" / name, as_version=4).cells}
    regions = 0
    for cell in solution.cells:
        answers = solution_lines(cell.source) if cell.cell_type == "code" else []
        if answers:
            regions += 1
            student = lab_cells[cell.id].source.splitlines()
            leaked = [ln for ln in answers if any(s.strip() == ln for s in student)]
            assert not leaked, f"{name}, cell {cell.id}: answer lines in the student lab: {leaked[:3]}"
        if "solution" in cell.metadata.get("tags", []):
            assert lab_cells[cell.id].source == labgen.ANSWER_BOX, f"{name}, cell {cell.id}: written answer leaked"
    assert regions, f"{name}: a lab without exercises"


@pytest.mark.parametrize("folder", ["labs", "solutions"])
def test_template_on_top_of_every_lab(folder):
    for path in sorted((ROOT / folder).glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        assert [c.get("id") for c in cells[:3]] == ["lab-header", "lab-setup", "lab-parameters"], path
        assert all(TEMPLATE_TAG in c.metadata["tags"] for c in cells[:3])
        assert "parameters" in cells[2].metadata["tags"], f"{path}: no papermill parameters cell"
        assert colab_url(f"{folder}/{path.name}") in cells[0].source, f"{path}: Colab link"
        assert 'if "google.colab" in sys.modules:' in cells[1].source, f"{path}: install must be Colab-only"
