"""The week-9 schedule has one source (ftcourse/schedule.py): the home page and the lesson plan
render it, and the built pages show the same slots."""
import html.parser
import re

import pytest

from ftcourse import schedule
from ftcourse.paths import REPO_ROOT as ROOT

from .test_chapter_skeleton import book_labels

SITE = ROOT / "_build" / "html"
PAGES = {"book/index.md": "home_schedule", "book/lesson_plan.md": "plan_schedule"}
TIME_ROW = re.compile(r"^\|\s*\d+분\s*\|", re.M)  # a hand-written schedule row


def test_the_class_is_about_three_hours():
    assert 170 <= schedule.total_minutes() <= 190, schedule.total_minutes()
    kinds = {s.kind for s in schedule.WEEK9}
    assert {"강의", "실습", "정리"} <= kinds, kinds


def test_every_section_the_schedule_names_exists():
    labels = book_labels()
    missing = sorted({schedule.section_label(e) for s in schedule.WEEK9 for e in s.sections
                      if schedule.section_label(e) not in labels})
    assert not missing, f"ftcourse/schedule.py names sections no page defines: {missing}"
    docs = {m for s in schedule.WEEK9 for m in re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", s.material)}
    for doc in docs:
        path = (ROOT / "book" / doc).resolve()
        assert path.with_suffix(".md").exists() or path.with_suffix(".ipynb").exists(), f"{{doc}}`{doc}`: no such page"


@pytest.mark.parametrize("page, key", PAGES.items())
def test_both_pages_render_the_one_schedule(page, key):
    text = (ROOT / page).read_text(encoding="utf-8")
    assert f"```{{glue:md}} {key}\n:format: myst" in text, f"{page} must show the glued schedule {key}"
    assert "from ftcourse.schedule import" in text
    assert not TIME_ROW.search(text), f"{page}: a hand-written schedule row; the schedule lives in ftcourse/schedule.py"


def test_the_tables_hold_every_slot():
    home, plan = schedule.home_table(), schedule.plan_table()
    assert len(home.splitlines()) == len(plan.splitlines()) == len(schedule.WEEK9) + 2
    for (start, end), slot in zip(schedule.spans(), schedule.WEEK9):
        assert f"| {slot.minutes}분 | {slot.topic} |" in home
        assert f"| {start}–{end} | {slot.minutes}분 |" in plan
    assert schedule.spans()[-1][1] == f"{schedule.total_minutes() // 60}:{schedule.total_minutes() % 60:02d}"


class Tables(html.parser.HTMLParser):
    """The rows of every <table> in a page, as lists of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def built_tables(page: str) -> list[list[list[str]]]:
    path = SITE / page
    if not path.exists():
        pytest.fail(f"no built {page}: run `make book` first", pytrace=False)
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tables


def test_the_built_pages_show_the_same_slots():
    """Drift check on what readers see: the home page's and the plan's tables list the same slots."""
    home = next(t for t in built_tables("book/index.html") if t and t[0][:2] == ["시간", "내용"])
    plan = next(t for t in built_tables("book/lesson_plan.html") if t and t[0][:2] == ["시각", "시간"])
    home_rows, plan_rows = home[1:], plan[1:]
    assert len(home_rows) == len(plan_rows) == len(schedule.WEEK9)
    for slot, h, p in zip(schedule.WEEK9, home_rows, plan_rows):
        assert h[0] == p[1] == f"{slot.minutes}분"
        assert h[1] == " ".join(slot.topic.split())
        assert p[2] == f"{slot.kind} {' '.join(schedule.plan_topic(slot).split())}"


def test_the_exercises_a_slot_names_exist_and_suit_the_slot():
    """"학습이 도는 동안 연습 문제 1·4(계산 문제)를 풉니다": those exercises of the slot's lab exist, check
    themselves and ask for no written answer (they can be done before the run's results are in)."""
    from ftcourse import rubric

    named = 0
    for slot in schedule.WEEK9:
        lab = re.search(r"\{doc\}`\.\./labs/(\w+)`", slot.material)
        for numbers in re.findall(r"연습 문제 ([\d·]+)\(계산 문제\)", slot.notes):
            assert lab, f"{slot.topic}: exercises named without the lab they belong to"
            found = {e.number: e for e in rubric.exercises(lab[1])}
            for n in map(int, numbers.split("·")):
                named += 1
                assert n in found, f"{lab[1]} has no 연습 {n}"
                assert found[n].checks and not found[n].written, f"{lab[1]}, 연습 {n} is not a computed exercise"
    assert named, "the lab slot names the exercises to do while training runs"


def test_a_section_entry_with_its_own_text():
    assert schedule.section_label("서론 요약 <intro-summary>") == "intro-summary"
    assert schedule.section_label("intro-summary") == "intro-summary"
