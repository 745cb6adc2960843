"""Student labs are generated from the solutions: the generator's own rules and what it writes.

The conventions every lab follows (knobs, exercises, checked outputs, skeleton) are in test_labs.py.
"""
import nbformat
import pytest

from ftcourse import labgen
from ftcourse.paths import REPO_ROOT as ROOT
from ftcourse.version import worktree_digest

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


def test_parse_gives_regions_with_their_lines():
    parts, regions = labgen.parse(SOLUTION_CELL, "t")
    assert parts[0] == "x = 1" and parts[-1] == "print(answer)"
    assert len(regions) == 1 and regions[0].first_line == 2
    assert regions[0].answer == ["answer = x * 42"] and regions[0].stub == ["answer = None  # TODO: x로 계산하세요"]


def test_generate_cleans_solutions_and_stamps_the_code_digest(tmp_path):
    # a copy of the repository's lab inputs, with a solution that was run and saved with its outputs
    for name in ("_config.yml", "requirements-gpu.txt"):
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "solutions").mkdir()
    (tmp_path / "labs").mkdir()
    source = ROOT / "solutions" / "lab0_setup.ipynb"
    nb = nbformat.read(source, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code" and c.get("id") not in ("lab-setup",))
    code.execution_count = 7
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
    code.metadata["collapsed"] = True
    nb.metadata["widgets"] = {"state": {}}
    nbformat.write(nb, tmp_path / "solutions" / source.name)
    labgen.generate(tmp_path)
    again = nbformat.read(tmp_path / "solutions" / source.name, as_version=4)
    assert all(c.get("execution_count") is None and not c.get("outputs") for c in again.cells if c.cell_type == "code")
    assert all(set(c.metadata) <= {"tags"} for c in again.cells) and "widgets" not in again.metadata
    assert labgen.generate(tmp_path, check=True) == []  # a second run changes nothing
    setup = next(c for c in again.cells if c.get("id") == "lab-setup")
    assert f'COURSE_CODE = "{worktree_digest(tmp_path)}"' in setup.source
