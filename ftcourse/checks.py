"""Exercise checks for the labs: quiet until answered, then right or a hint, never a stack trace.

    check_answer("연습 1", n_projections, lambda: len(projections), hint="층 수 x 7")

The expected value is best given as a function (a lambda): it is computed only once the student
has answered, so the answer is not printed or visible in the cell, and a stub left as None costs
nothing. A wrong answer raises `WrongAnswer`: the student sees one line with the hint (no stack
trace), and a solution whose answer drifts fails under nbval.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

NOT_ANSWERED = "아직 답이 없습니다. 빈칸을 채우고 이 셀을 다시 실행하세요. (not answered yet)"
REL_TOL = 1e-6  # floats: 0.1 + 0.2 is 0.3; a value off in the 7th significant digit is not


class WrongAnswer(AssertionError):
    """A wrong answer: shown in Jupyter as one line (label, what was wrong, the hint)."""

    def _render_traceback_(self) -> list[str]:
        return [f"❌ {self}"]


def _kind(value) -> str:
    if isinstance(value, bool):
        return "참/거짓(bool)"
    if isinstance(value, (int, float)):
        return "숫자"
    if isinstance(value, str):
        return "문자열"
    if isinstance(value, Sequence) or hasattr(value, "shape"):
        return "목록(list)이나 모양(shape)"
    return type(value).__name__


def _as_tuple(value) -> tuple | None:
    """Lists, tuples, torch.Size and numpy shapes compare as tuples; anything else is not a sequence."""
    if hasattr(value, "tolist") and not hasattr(value, "shape"):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return None
    return tuple(value)


def _scalar(value):
    """A 0-dim torch tensor or a numpy scalar as the Python number it holds; anything else unchanged."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def compare(answer, expected, rel_tol: float = REL_TOL) -> str | None:
    """None when `answer` matches `expected`; else a short Korean reason."""
    answer, expected = _scalar(answer), _scalar(expected)
    if isinstance(expected, bool) or isinstance(answer, bool):
        return None if answer is expected else f"{_kind(expected)} {expected!r}을(를) 기대했습니다."
    if isinstance(expected, (int, float)):
        if not isinstance(answer, (int, float)):
            return f"숫자를 기대했는데 {_kind(answer)} {answer!r}이(가) 들어왔습니다."
        if math.isclose(answer, expected, rel_tol=rel_tol, abs_tol=1e-12):
            return None
        return "값이 다릅니다."
    if isinstance(expected, str):
        if not isinstance(answer, str):
            return f"문자열을 기대했는데 {_kind(answer)} {answer!r}이(가) 들어왔습니다."
        if answer.strip() == expected.strip():
            return None
        return "문자열이 다릅니다(대소문자와 공백까지 확인하세요)."
    want, got = _as_tuple(expected), _as_tuple(answer)
    if want is not None:
        if got is None:
            return f"목록이나 모양을 기대했는데 {_kind(answer)} {answer!r}이(가) 들어왔습니다."
        if len(got) != len(want):
            return f"원소가 {len(want)}개여야 하는데 {len(got)}개입니다."
        for i, (a, e) in enumerate(zip(got, want)):
            reason = compare(a, e, rel_tol)
            if reason:
                return f"{i}번째 원소: {reason}"
        return None
    return None if answer == expected else "값이 다릅니다."


def check_answer(label: str, answer, expected, *, rel_tol: float = REL_TOL, hint: str = "") -> bool:
    """True when right; False (and a note) when not answered yet (None); WrongAnswer when wrong.

    `expected` may be a value or a function that returns it (called only when answered).
    """
    if answer is None:
        print(f"⏳ {label}: {NOT_ANSWERED}")
        return False
    if isinstance(expected, Callable):
        expected = expected()
    reason = compare(answer, expected, rel_tol)
    if reason:
        raise WrongAnswer(f"{label}: 답 {answer!r}은(는) 맞지 않습니다. {reason} {hint}".strip())
    print(f"✅ {label}: 정답입니다 (correct).")
    return True
