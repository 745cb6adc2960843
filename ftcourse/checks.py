"""Exercise checks for the labs: quiet until answered, then right or a hint."""
from __future__ import annotations

import math


def check_answer(label: str, answer, expected, *, rel_tol: float = 0.0, hint: str = "") -> bool:
    """None means 'not answered yet' (the student lab's stub): say so and carry on.

    A wrong answer raises AssertionError, so nbval fails when a solution's answer drifts.
    """
    if answer is None:
        print(f"⏳ {label}: 아직 답이 없습니다. 빈칸을 채우고 이 셀을 다시 실행하세요. (not answered yet)")
        return False
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        ok = math.isclose(float(answer), float(expected), rel_tol=rel_tol, abs_tol=0.0)
    else:
        ok = answer == expected
    if not ok:
        raise AssertionError(f"{label}: {answer!r}은(는) 기대한 값과 다릅니다. {hint}".strip())
    print(f"✅ {label}: 정답입니다 (correct).")
    return True
