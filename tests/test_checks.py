"""ftcourse.checks: the exercise checks a student sees."""
import contextlib
import io

import numpy as np
import pytest
import torch

from ftcourse.checks import NOT_ANSWERED, WrongAnswer, check_answer, compare


def quiet(fn, *args, **kwargs):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = fn(*args, **kwargs)
    return result, buffer.getvalue()


def test_a_blank_is_not_answered_and_costs_nothing():
    result, printed = quiet(check_answer, "연습 1", None, lambda: 1 / 0)  # expected is never computed
    assert result is False and NOT_ANSWERED in printed and "연습 1" in printed


@pytest.mark.parametrize("answer, expected", [
    (0.1 + 0.2, 0.3), (16_515_072, 16_515_072.0), (torch.tensor(0.5), 0.5), (np.float32(0.25), 0.25),
    (torch.Size([8, 2560]), (8, 2560)), ([8, 1024], (8, 1024)), ("  <think>\n", "<think>"), (True, True),
])
def test_right_answers_pass(answer, expected):
    result, printed = quiet(check_answer, "연습", answer, lambda: expected)
    assert result is True and "정답" in printed


@pytest.mark.parametrize("answer, expected, reason", [
    (0.3001, 0.3, "값이 다릅니다"),
    ("abc", 3, "숫자를 기대했는데 문자열 'abc'"),
    (3, "abc", "문자열을 기대했는데"),
    ((8, 2560), (2560, 8), "0번째 원소: 값이 다릅니다"),
    ([8], (8, 2560), "원소가 2개여야 하는데 1개"),
    (5, (8, 2560), "목록이나 모양을 기대했는데"),
    (1, True, "기대했습니다"),
])
def test_wrong_answers_get_a_korean_reason_and_no_traceback(answer, expected, reason):
    assert reason in compare(answer, expected)
    with pytest.raises(WrongAnswer) as error:
        quiet(check_answer, "연습", answer, expected, hint="힌트")
    lines = error.value._render_traceback_()
    assert len(lines) == 1 and reason in lines[0] and "힌트" in lines[0]


def test_the_tolerance_can_be_widened():
    assert quiet(check_answer, "연습", 0.97, 1.0, rel_tol=0.05)[0] is True
    with pytest.raises(WrongAnswer):
        quiet(check_answer, "연습", 0.97, 1.0)
