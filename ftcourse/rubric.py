"""The labs' grading rubric, generated from the solution notebooks (the one source of the exercises).

Each lab's `## N. 연습 문제` section holds exercises that start with a `**연습 K.**` Markdown cell.
An exercise is graded in one or both of two ways:

- self-checked: its code cells call `check_answer(...)`; each call is pass/fail (the cell prints
  "✅ ...: 정답입니다" or raises `WrongAnswer`), so a TA only counts the green lines;
- written: a Markdown cell tagged `solution` holds an example answer; a TA reads the student's
  answer against `WRITTEN` below (what a full and a partial answer contain).

Only the written criteria are typed by hand; they name a phrase of the exercise's prompt, so a
renumbered or rewritten exercise no longer matches them. tests/test_rubric.py fails when a lab has
an exercise the rubric cannot grade, a written exercise without criteria, criteria without their
exercise, or a blank (`name = None` in the student's stub) that no check reads.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .labgen import parse
from .paths import REPO_ROOT
from .schedule import LAB_NAMES

CHECK_POINTS = 2  # a self-checked exercise, split evenly over its checks
WRITTEN_POINTS = 3  # a written answer: 3 full, 1-2 partial, 0 missing or off the point
MAX_ASKED = 3  # questions of one exercise shown in the rubric's "묻는 것" column

EXERCISE = re.compile(r"\*\*연습 (\d+)\.\s*([^*]*?)\*\*\s*(.*)", re.S)  # **연습 K.** or **연습 K. 제목.**
SECTION = re.compile(r"^## \d+\. 연습 문제\s*$", re.M)
BLANK = re.compile(r"^\s*(\w+)\s*=\s*None\b", re.M)
# what a prompt says when it wants a number or a shape (a written-only exercise must not)
ASKS_FOR_A_VALUE = re.compile(r"몇\s?(?:개|바이트|배|에폭|방향|스텝|번)|구하세요|계산하세요|모양|shape|튜플")


@dataclass(frozen=True)
class Criteria:
    about: str  # a phrase of the exercise's prompt: ties the criteria to that exercise
    full: str
    partial: str


# The written exercises, by (lab, exercise number). Everything else in the rubric is generated.
WRITTEN: dict[tuple[str, int], Criteria] = {
    ("lab0_setup", 4): Criteria(
        about="응답 표시",
        full="표시를 찾지 못하면 모든 라벨이 -100으로 가려져 그 예제가 손실에 아무것도 더하지 못한다는 것, 모든 예제가 "
             "그러면 학습할 토큰이 없어 멈추거나(오류, NaN 손실) 예제가 빠진다는 것, 그래서 가려진 비율을 확인해야 한다는 것을 "
             "모두 쓰고, 아래 셀의 두 비율로 예상을 확인했다.",
        partial="라벨이 모두 가려진다는 것만 쓰고 그 결과(학습할 것이 없음)를 빠뜨렸거나, 예상만 쓰고 셀로 확인하지 않았다."),
    ("lab1_first_qlora", 3): Criteria(
        about="응답 전용 손실",
        full="모든 토큰에 손실을 걸면 반복되는 템플릿 토큰과 사용자 질문까지 예측하게 되어 두 손실이 같은 양을 재지 않는다는 것, "
             "그래서 숫자를 그대로 견줄 수 없다는 것, 응답 전용 손실이 '답하는 법'을 직접 잰다는 것을 쓴다.",
        partial="손실 값이 다르다는 관찰만 있고 왜 다른지(손실에 들어가는 토큰이 다름)를 설명하지 못했다."),
    ("lab1_first_qlora", 5): Criteria(
        about="예상 최대 메모리",
        full="추정식은 모든 마이크로배치가 BATCH_SIZE × MAX_SEQ_LENGTH 토큰으로 꽉 찬다고 가정하지만 패딩 없는 배치의 길이는 "
             "실제 예제 길이가 정한다는 것, 그래서 최대 길이를 줄여도 그보다 긴 예제만 잘려 측정한 감소가 추정보다 작기 쉽다는 것, "
             "짧은 실행은 긴 배치를 만날 기회가 적다는 것 가운데 둘 이상을 자기 측정값과 함께 쓴다.",
        partial="차이가 있다는 관찰만 있거나, 이유를 하나만 들었다."),
    ("lab2_lora_inside", 5): Criteria(
        about="가장 큰 r",
        full="표의 평가 손실(학습 손실만이 아니라)과 메모리·시간을 근거로 결론을 내고, 차이가 잡음일 수 있음을 지적하며, "
             "결론을 바꾸려면 더 잴 것(평가 행 늘리기, 시드 반복, 더 긴 학습)을 하나 이상 든다.",
        partial="결론은 있으나 근거가 학습 손실뿐이거나, 더 재야 할 것을 쓰지 않았다."),
    ("lab3_quant_cost", 5): Criteria(
        about="16비트 LoRA",
        full="자기 표의 메모리와 스텝 시간으로 16비트 LoRA를 고를 조건(메모리 여유, 양자화 오차 없음)과 QLoRA를 고를 조건을 "
             "말하고, 잰 배율을 '2배'와 견주며 차이의 원인(GPU, 시퀀스 길이와 패딩, 짧은 학습의 잡음, 다른 설정에서 잰 홍보 수치) "
             "을 하나 이상 든다.",
        partial="둘 중 한 질문에만 답했거나, 자기 측정값 없이 일반론만 썼다."),
    ("lab4_merge_deploy", 4): Criteria(
        about="작업 A를 가장 잘 지킨 병합",
        full="자기 표에서 작업 A의 평가 손실이 가장 낮은 병합을 고르고, 4절의 방법 표로 이유(가중치 그대로 더하기, 반씩 더하기, "
             "교차항, 가지치기)를 설명하며, 믿으려면 더 잴 것(평가 행, 시드, 다른 가중치나 밀도)을 든다.",
        partial="병합 이름만 고르고 이유나 더 잴 것 가운데 하나를 빠뜨렸다."),
}


@dataclass
class Exercise:
    lab: str
    number: int
    prompt: str  # the exercise's Markdown, from its **연습 K.** marker to the end of that cell
    checks: list[str] = field(default_factory=list)  # check_answer labels, in order
    blanks: list[str] = field(default_factory=list)  # names the student fills in (`name = None` in the stub)
    checked_names: set[str] = field(default_factory=set)  # names read by a check's answer argument
    written: bool = False  # has a `solution`-tagged Markdown answer
    written_prompt: str = ""  # the Markdown cell right before that answer, when it is not the exercise's first cell
    uses: dict[str, set[str]] = field(default_factory=dict)  # in the answer: name -> names its value is made from

    def covered(self, name: str) -> bool:
        """A blank checks itself when a check reads it, or reads a blank made from it."""
        seen, todo = set(), list(self.checked_names)
        while todo:
            current = todo.pop()
            if current == name:
                return True
            if current not in seen:
                seen.add(current)
                todo += self.uses.get(current, ())
        return False

    @property
    def key(self) -> tuple[str, int]:
        return (self.lab, self.number)

    @property
    def points(self) -> int:
        return (CHECK_POINTS if self.checks else 0) + (WRITTEN_POINTS if self.written else 0)

    @property
    def summary(self) -> str:
        """What the prompt asks, for the TA (`asked`)."""
        return asked(self.prompt)

    @property
    def written_summary(self) -> str:
        """What the written answer answers, when a later cell asks it (`asked`); else empty."""
        return asked(self.written_prompt) if self.written_prompt else ""


def asked(prompt: str) -> str:
    """What a prompt asks: every sentence that asks (…?), else every one that tells (…세요.), at most
    `MAX_ASKED`; a short one ("어느 행일까요?") or one that points back ("그 투영들의 …") reads with the
    sentence before it. Else the prompt's first sentence."""
    text = " ".join(re.sub(r"^\s*[-*]\s+", "", prompt, flags=re.M).split())
    sentences = re.findall(r"\S.*?(?:[\uac00-\ud7a3)][.?]|다:)(?=\s|$)", text)
    for pattern in (r"\?$", r"세요\.$"):
        found = [i for i, s in enumerate(sentences) if re.search(pattern, s)][:MAX_ASKED]
        if found:
            keep: list[int] = []
            for i in found:
                if i and (len(sentences[i]) < 20 or sentences[i].startswith("그 ")) and i - 1 not in keep:
                    keep.append(i - 1)
                keep.append(i)
            return " ".join(sentences[i] for i in keep)
    return sentences[0] if sentences else prompt


def _add_dependencies(uses: dict[str, set[str]], answer: str) -> None:
    import textwrap

    for node in ast.walk(ast.parse(textwrap.dedent(answer))):
        if isinstance(node, ast.Assign):
            made_from = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            for target in node.targets:
                for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                    uses.setdefault(name, set()).update(made_from)


def _check_calls(source: str) -> list[ast.Call]:
    return [n for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "check_answer"]


def exercises(lab: str, root: Path = REPO_ROOT) -> list[Exercise]:
    """The exercises of a lab's solution notebook, in order."""
    nb = json.loads((root / "solutions" / f"{lab}.ipynb").read_text(encoding="utf-8"))
    found: list[Exercise] = []
    inside = False
    question = ""  # the exercise's last Markdown cell after its first one
    for i, cell in enumerate(nb["cells"]):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            if SECTION.search(source):
                inside = True
            if source.lstrip().startswith("## 정리"):
                break
            if not inside:
                continue
            match = EXERCISE.search(source)
            if match:
                found.append(Exercise(lab, int(match[1]), f"{match[2]} {match[3]}".strip()))
                question = ""
            elif found and "solution" in cell.get("metadata", {}).get("tags", []):
                found[-1].written = True
                found[-1].written_prompt = question
            elif found:
                question = source  # a later question of the exercise (its written part, say)
        elif inside and found and cell["cell_type"] == "code":
            _, regions = parse(source, f"{lab}, cell {i}")
            exercise = found[-1]
            for region in regions:
                exercise.blanks += BLANK.findall("\n".join(region.stub))
                _add_dependencies(exercise.uses, "\n".join(region.answer))
            for call in _check_calls(source):
                label = call.args[0]
                exercise.checks.append(label.value if isinstance(label, ast.Constant) else ast.unparse(label))
                exercise.checked_names |= {n.id for n in ast.walk(call.args[1]) if isinstance(n, ast.Name)}
    return found


def all_exercises(root: Path = REPO_ROOT) -> dict[str, list[Exercise]]:
    return {lab: exercises(lab, root) for lab in LAB_NAMES}


def problems(found: dict[str, list[Exercise]], written: dict[tuple[str, int], Criteria] = WRITTEN) -> list[str]:
    """Why the rubric cannot grade the labs as they are; empty when it can."""
    out = []
    keys = set()
    for lab, items in found.items():
        numbers = [e.number for e in items]
        if numbers != list(range(1, len(items) + 1)):
            out.append(f"{lab}: exercises are numbered {numbers}, not 1, 2, 3, ...")
        for e in items:
            keys.add(e.key)
            where = f"{lab}, 연습 {e.number}"
            if not e.checks and not e.written:
                out.append(f"{where}: neither a check_answer nor a written (solution-tagged) answer: nothing to grade")
            unchecked = [b for b in e.blanks if not e.covered(b)]
            if unchecked:
                out.append(f"{where}: blanks {unchecked} are not read by any check_answer (the answer must check itself)")
            if e.written and e.key not in written:
                out.append(f"{where}: a written answer without criteria in ftcourse.rubric.WRITTEN")
            if e.written and e.key in written and written[e.key].about not in e.prompt:
                out.append(f"{where}: WRITTEN's criteria are about {written[e.key].about!r}, which the prompt no longer "
                           "mentions (renumbered or rewritten?)")
            if not e.checks and ASKS_FOR_A_VALUE.search(e.prompt):
                out.append(f"{where}: asks for a number or a shape ({ASKS_FOR_A_VALUE.search(e.prompt)[0]!r}) "
                           "but nothing checks it")
    stale = sorted(set(written) - keys)
    if stale:
        out.append(f"criteria in ftcourse.rubric.WRITTEN for exercises that do not exist (or have no written answer): {stale}")
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def how_graded(e: Exercise) -> str:
    parts = []
    if e.checks:
        from fractions import Fraction

        each = Fraction(CHECK_POINTS, len(e.checks))  # 2/3, not 0.666667: a TA adds these up by hand
        labels = ", ".join(f"`{label}`" for label in e.checks)
        parts.append(f"자동 확인 {CHECK_POINTS}점: {labels}"
                     + (f" (각 {each}점)" if len(e.checks) > 1 else "")
                     + ". '정답입니다'가 찍히면 만점, '맞지 않습니다'나 '아직 답이 없습니다'면 0점")
    if e.written:
        c = WRITTEN[e.key]
        parts.append(f"서술 {WRITTEN_POINTS}점. **만점:** {c.full} **부분 점수(1~2점):** {c.partial} "
                     "**0점:** 빈칸이거나 질문과 관계없는 답")
    return "<br>".join(parts)


def lab_table(lab: str, items: list[Exercise]) -> str:
    """One lab's rubric as a MyST table."""
    lines = ["| 연습 | 묻는 것 | 점수 | 채점 |", "| --- | --- | --- | --- |"]
    for e in items:
        shown = e.summary + (f"<br>**서술:** {e.written_summary}" if e.written_summary else "")
        lines.append(f"| {e.number} | {_cell(shown)} | {e.points} | {_cell(how_graded(e))} |")
    lines.append(f"| | **합계** | **{sum(e.points for e in items)}** | |")
    return "\n".join(lines)


def totals(found: dict[str, list[Exercise]]) -> dict[str, int]:
    return {lab: sum(e.points for e in items) for lab, items in found.items()}
