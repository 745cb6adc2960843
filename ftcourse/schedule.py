"""The week-9 class schedule: the one source of the home page's table and the lesson plan's.

Both pages render it when the site is built (a hidden cell glues the Markdown and the page shows
it with ``{glue:md}`` in MyST format, so the roles in it resolve), and tests/test_schedule.py
checks that the two built tables agree with `WEEK9` and that every section it names exists.
Change the class here, never in a page.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .paths import REPO_ROOT


@dataclass(frozen=True)
class Slot:
    minutes: int
    kind: str  # 강의, 실습, 쉬는 시간, 정리
    topic: str  # one line for the home page
    material: str  # MyST for the "자료" column (a {doc} role, or plain words)
    sections: tuple[str, ...] = ()  # the sections taught in this slot: a label, or "shown text <label>"
    notes: str = ""  # what the instructor does in the slot (the lesson plan only)


WEEK9: tuple[Slot, ...] = (
    Slot(40, "강의", "왜 미세조정인가: 패러다임, 목적, 프롬프트·RAG와의 차이, 기반 모델 고르기, 메모리 계산",
         "{doc}`intro`",
         ("intro-paradigm", "intro-vs-rag", "intro-base-model", "intro-memory-bytes", "intro-memory-models"),
         "질문으로 엽니다: \"모델에 새 지식을 넣으려면 미세조정이 답일까요?\" 메모리 견적 표는 학생과 함께 한 줄씩 읽습니다."),
    Slot(40, "강의", "PEFT 이론: 어댑터, 프롬프트 튜닝, BitFit, LoRA, QLoRA와 Unsloth", "{doc}`ch1_peft`",
         ("ch1-families", "ch1-lora", "ch1-lora-count", "ch1-downsides", "ch1-unsloth"),
         "LoRA 파라미터 수는 칠판에서 손으로 세고, 책의 계산 결과와 맞춰 봅니다."),
    Slot(10, "쉬는 시간", "쉬는 시간. 실습 0(환경 점검)은 수업 전에 해 옵니다", "{doc}`../labs/lab0_setup`", (),
         "Colab 런타임을 T4 GPU로 바꾸고 실습 1을 열어 두게 합니다. 실습 0을 못 한 학생은 이때 준비 셀부터 실행합니다."),
    Slot(15, "강의", "학습 레시피: 학습률과 워밍업, 배치와 기울기 누적, 응답 전용 손실, 최대 길이", "{doc}`recipe`",
         ("recipe-lr", "recipe-batch", "recipe-response-loss", "recipe-max-length", "recipe-checkpointing"),
         "실습 1의 parameters 셀을 화면에 띄우고 설정값마다 무엇을 바꾸는지 짚습니다."),
    Slot(55, "실습", "실습: Qwen3-4B QLoRA 미세조정 60스텝, 손실 곡선과 메모리 측정", "{doc}`../labs/lab1_first_qlora`",
         ("recipe-steps", "recipe-heldout"),
         "학습이 도는 동안 연습 문제 1·4(계산 문제)를 풉니다. 조교는 {ref}`lesson-plan-errors`를 열어 두고 돕니다."),
    Slot(20, "정리", "정리: 결과 비교, 연습 문제 풀이, 다음 장 안내", "각 장의 연습 문제, {doc}`quiz`",
         ("서론 요약 <intro-summary>", "1장 요약 <ch1-summary>"),
         "두세 팀의 손실 곡선과 최대 메모리를 나란히 놓고 비교합니다. 퀴즈 몇 문제로 닫고 2~4장을 예고합니다."),
)


def section_label(entry: str) -> str:
    """The label of a `Slot.sections` entry ("intro-summary" or "서론 요약 <intro-summary>")."""
    return entry.rsplit("<", 1)[1].rstrip(">").strip() if entry.endswith(">") else entry


def total_minutes(slots: tuple[Slot, ...] = WEEK9) -> int:
    return sum(s.minutes for s in slots)


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def spans(slots: tuple[Slot, ...] = WEEK9) -> list[tuple[str, str]]:
    """(start, end) of each slot from the start of class, as h:mm."""
    out, t = [], 0
    for s in slots:
        out.append((_clock(t), _clock(t + s.minutes)))
        t += s.minutes
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def home_rows(slots: tuple[Slot, ...] = WEEK9) -> list[tuple[str, str, str]]:
    """The home page's rows: (time, content, material), before the roles are rendered."""
    return [(f"{s.minutes}분", s.topic, s.material) for s in slots]


def home_table(slots: tuple[Slot, ...] = WEEK9) -> str:
    """The home page's table (MyST)."""
    lines = ["| 시간 | 내용 | 자료 |", "| --- | --- | --- |"]
    lines += [f"| {_cell(a)} | {_cell(b)} | {c} |" for a, b, c in home_rows(slots)]
    return "\n".join(lines)


def plan_topic(slot: Slot) -> str:
    """The topic as the lesson plan shows it after the bold kind: without the kind repeated
    ("**쉬는 시간** 실습 0(환경 점검)은 …", not "**쉬는 시간** 쉬는 시간. 실습 0 …")."""
    if slot.topic.startswith(slot.kind):
        return slot.topic[len(slot.kind):].lstrip(" .:")
    return slot.topic


def plan_table(slots: tuple[Slot, ...] = WEEK9) -> str:
    """The lesson plan's table (MyST): the same slots with clock times, sections and the instructor's notes."""
    lines = ["| 시각 | 시간 | 활동 | 자료와 다룰 절 | 강사 메모 |", "| --- | --- | --- | --- | --- |"]
    for (start, end), s in zip(spans(slots), slots):
        refs = ", ".join(f"{{ref}}`{entry}`" for entry in s.sections)
        material = s.material + (f": {refs}" if refs else "")
        lines.append(f"| {start}–{end} | {s.minutes}분 | **{s.kind}** {_cell(plan_topic(s))} | {material} | {_cell(s.notes)} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the labs
LAB_NAMES = ("lab0_setup", "lab1_first_qlora", "lab2_lora_inside", "lab3_quant_cost", "lab4_merge_deploy")


def lab_meta(name: str, root: Path = REPO_ROOT) -> dict:
    """A lab's title, time and learning goals, from its solution notebook (the lab header's source)."""
    nb = json.loads((root / "solutions" / f"{name}.ipynb").read_text(encoding="utf-8"))
    return nb["metadata"]["course"]


def labs_table(root: Path = REPO_ROOT) -> str:
    """Every lab with the time its header announces (MyST)."""
    lines = ["| 실습 | 예상 시간 (실습 머리말) | 해답 |", "| --- | --- | --- |"]
    for name in LAB_NAMES:
        meta = lab_meta(name, root)
        lines.append(f"| {{doc}}`{_cell(meta['title'])} <../labs/{name}>` | {_cell(meta['time'])} | "
                     f"{{doc}}`해답 <../solutions/{name}>` |")
    return "\n".join(lines)
