"""The grading rubric covers every lab exercise, and every exercise with a value for an answer checks itself."""
import copy
import json

import pytest

from ftcourse import rubric
from ftcourse.paths import REPO_ROOT as ROOT
from ftcourse.schedule import LAB_NAMES

FOUND = rubric.all_exercises()


def test_the_rubric_can_grade_every_lab_as_it_is():
    assert rubric.problems(FOUND) == []


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_each_lab_has_exercises_that_check_themselves(lab):
    items = FOUND[lab]
    assert len(items) >= 3, f"{lab}: found {len(items)} exercises; is the reader broken?"
    assert sum(1 for e in items if e.checks) >= 3
    for e in items:
        assert e.points > 0
        if e.blanks:  # the student fills in a value: a check compares it
            assert e.checks, f"{lab}, 연습 {e.number}: blanks {e.blanks} and no check_answer"


@pytest.mark.parametrize("lab", LAB_NAMES)
def test_the_page_shows_every_lab(lab):
    page = (ROOT / "book" / "rubric.md").read_text(encoding="utf-8")
    assert f"```{{glue:md}} rubric_{lab}\n:format: myst" in page, f"book/rubric.md has no table for {lab}"
    table = rubric.lab_table(lab, FOUND[lab])
    rows = [line for line in table.splitlines()[2:] if line.startswith("| ") and not line.startswith("| |")]
    assert [int(r.split("|")[1]) for r in rows] == [e.number for e in FOUND[lab]]
    assert f"**{sum(e.points for e in FOUND[lab])}**" in table


# ----------------------------------------------------------------------------- the checks can fail
def lab_with(lab: str, change) -> dict[str, list[rubric.Exercise]]:
    """The exercises of a copy of `lab` whose notebook cells were changed by `change(cells)`."""
    nb = json.loads((ROOT / "solutions" / f"{lab}.ipynb").read_text(encoding="utf-8"))
    change(nb["cells"])
    return nb


def parse_copy(tmp_path, lab, change):
    (tmp_path / "solutions").mkdir(exist_ok=True)
    nb = lab_with(lab, change)
    (tmp_path / "solutions" / f"{lab}.ipynb").write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return {lab: rubric.exercises(lab, tmp_path)}


def cell_text(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def end_of_exercises(cells) -> int:
    return next(i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and cell_text(c).lstrip().startswith("## 정리"))


def test_a_new_written_exercise_without_criteria_fails(tmp_path):
    lab = "lab1_first_qlora"
    n = len(FOUND[lab]) + 1

    def add(cells):
        at = end_of_exercises(cells)
        cells[at:at] = [{"cell_type": "markdown", "metadata": {}, "source": f"**연습 {n}.** 왜 그럴까요? 두 문장으로 쓰세요."},
                        {"cell_type": "markdown", "metadata": {"tags": ["solution"]}, "source": "예시 답: ..."}]

    found = parse_copy(tmp_path, lab, add)
    assert any(f"연습 {n}: a written answer without criteria" in p for p in rubric.problems(found))


def test_a_new_number_exercise_that_does_not_check_itself_fails(tmp_path):
    lab = "lab2_lora_inside"
    n = len(FOUND[lab]) + 1

    def add(cells):
        at = end_of_exercises(cells)
        code = "# BEGIN SOLUTION\nanswer = 4 * 8\n# BEGIN STUB\n# answer = None\n# END SOLUTION\nprint(answer)\n"
        cells[at:at] = [{"cell_type": "markdown", "metadata": {}, "source": f"**연습 {n}.** 파라미터는 몇 개일까요?"},
                        {"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None}]

    problems = rubric.problems(parse_copy(tmp_path, lab, add))
    assert any(f"연습 {n}: blanks ['answer'] are not read by any check_answer" in p for p in problems), problems


def test_a_written_only_exercise_that_asks_for_a_number_fails(tmp_path):
    lab = "lab3_quant_cost"
    n = len(FOUND[lab]) + 1

    def add(cells):
        at = end_of_exercises(cells)
        cells[at:at] = [{"cell_type": "markdown", "metadata": {}, "source": f"**연습 {n}.** 스케일은 몇 바이트일까요?"},
                        {"cell_type": "markdown", "metadata": {"tags": ["solution"]}, "source": "예시 답: 4바이트"}]

    problems = rubric.problems(parse_copy(tmp_path, lab, add), {**rubric.WRITTEN, (lab, n): rubric.Criteria("스케일", "a", "b")})
    assert any(f"연습 {n}: asks for a number or a shape" in p for p in problems), problems


def test_a_removed_written_exercise_leaves_stale_criteria(tmp_path):
    lab = "lab0_setup"
    written = next(e for e in FOUND[lab] if e.written)

    def drop_answer(cells):
        for c in cells:
            if "solution" in c.get("metadata", {}).get("tags", []):
                c["metadata"]["tags"].remove("solution")

    found = parse_copy(tmp_path, lab, drop_answer)
    problems = rubric.problems(found)
    assert any("do not exist (or have no written answer)" in p and str(written.number) in p for p in problems), problems


def test_renumbered_criteria_are_caught():
    moved = copy.deepcopy(rubric.WRITTEN)
    key = next(iter(moved))
    moved[key] = rubric.Criteria("이 문구는 어느 연습에도 없습니다", "a", "b")
    assert any("no longer mentions" in p for p in rubric.problems(FOUND, moved))


def test_an_intermediate_blank_counts_when_a_checked_answer_is_made_from_it():
    e = rubric.Exercise("lab", 1, "…", checks=["연습 1"], blanks=["cross", "share"], checked_names={"share"},
                        uses={"share": {"cross", "w"}, "cross": {"a", "b"}})
    assert e.covered("cross") and e.covered("share") and not e.covered("other")


def test_a_written_question_asked_in_a_later_cell_is_in_the_table():
    """Lab 1's exercise 5 asks its written question after the measurement: the TA sees that question too."""
    e = FOUND["lab1_first_qlora"][4]
    assert e.written and e.written_summary, "the written part's question was not found"
    assert e.written_summary not in e.summary and e.written_summary in rubric.lab_table("lab1_first_qlora", FOUND["lab1_first_qlora"])


def test_split_points_read_as_fractions():
    e = next(e for items in FOUND.values() for e in items if len(e.checks) == 3)
    assert "(각 2/3점)" in rubric.how_graded(e)
