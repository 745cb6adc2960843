"""The nbval sanitize file, read with nbval's own parser, on what the lab steps really print.

A lab marks the cells that report facts with `# NBVAL_CHECK_OUTPUT`; each such cell calls one of
the labs' reports. Here those reports run twice on the CPU (labs 1 and 2, tests/cpu_lab.py),
the second time with another seed and another output folder, so losses, masked shares and paths
differ. After sanitizing, the two runs must read the same, and the facts must still be there.
"""
import re

import pytest
from nbval.plugin import get_sanitize_patterns

from ftcourse.paths import REPO_ROOT

from .cpu_lab import run_lab1_steps, run_lab2_steps

SANITIZE = REPO_ROOT / "scripts" / "nbval-sanitize.cfg"


def sanitize(text: str) -> str:
    for regex, replace in get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


def assert_same_after_sanitizing(first: dict[str, str], second: dict[str, str]) -> None:
    """Two runs' reports (name -> printed text) differ raw and read the same after sanitizing."""
    assert first.keys() == second.keys() and len(first) >= 5
    assert first != second, "the two runs printed the same: the test would not show what the sanitizer does"
    for report in first:
        assert sanitize(first[report]) == sanitize(second[report]), report


def sanitized_without_noise(printed: dict[str, str]) -> dict[str, str]:
    """The reports sanitized, checked for leftover run-to-run numbers (losses, shares, sizes)."""
    clean = {name: sanitize(text) for name, text in printed.items()}
    for noise in (r"\d\.\d{3}", r"\d+\.\d+%", r"\d+\.\d+ [MG]iB"):
        assert not re.search(noise, "".join(clean.values())), noise
    return clean


def test_every_section_is_read_by_nbval():
    text = SANITIZE.read_text(encoding="utf-8")
    sections = re.findall(r"^\[.+\]$", text, flags=re.MULTILINE)
    patterns = get_sanitize_patterns(text)
    assert len(patterns) == len(sections) > 0, "a section lost its regex:/replace: pair (one space after the colon)"
    for regex, _ in patterns:
        re.compile(regex)


@pytest.fixture(scope="module")
def second_run(tiny_model_dir, tmp_path_factory):
    return run_lab1_steps(tiny_model_dir, tmp_path_factory.mktemp("lab1-again"), seed=1234)


def test_two_runs_read_the_same_after_sanitizing(lab1_cpu_run, second_run):
    assert_same_after_sanitizing(lab1_cpu_run.printed, second_run.printed)


@pytest.fixture(scope="module")
def lab2_second_run(tiny_model_dir, tmp_path_factory):
    # another seed and folder; shorter sweeps (no report prints the sweep's step count)
    return run_lab2_steps(tiny_model_dir, tmp_path_factory.mktemp("lab2-again"), seed=1234, sweep_steps=3)


def test_lab2_runs_read_the_same_after_sanitizing(lab2_cpu_run, lab2_second_run):
    assert_same_after_sanitizing(lab2_cpu_run.printed, lab2_second_run.printed)


def test_lab2_facts_survive_sanitizing(lab2_cpu_run):
    clean = sanitized_without_noise(lab2_cpu_run.printed)
    assert "W0 128 × 128 (4비트에서 역양자화), A 8 × 128, B 128 × 8, α/r = 8/8" in clean["describe_layer"]
    assert "특잇값 128개 가운데 0이 아닌 것 8개 (r = 8)" in clean["check_delta_rank"]
    assert "r =  32: 학습 파라미터 131,072개 (공식 131,072개)" in clean["describe_rank_sweep"]
    assert "허용 상대 오차 2e-02" in clean["check_recomputed"]


def test_facts_survive_sanitizing(lab1_cpu_run):
    clean = sanitized_without_noise(lab1_cpu_run.printed)
    assert "투영 14개(층마다 7개) 가운데 4비트 14개, 16비트로 남은 것 0개" in clean["describe_projections"]
    assert "학습 파라미터 32,768 / 전체 721,664" in clean["describe_lora"]
    assert "r = 8: 32,768" in clean["describe_lora"]
    assert "학습 272행, 평가(held-out) 48행" in clean["describe_split"]
    assert "예제 272개 가운데 응답이 잘려 통째로 가려진 예제 0개" in clean["check_response_masking"]
    assert "손실 30개(스텝마다 하나)" in clean["check_losses"]
    assert "어댑터 파라미터 32,768개 = 학습한 파라미터 32,768개" in clean["describe_adapter"]


def test_gpu_and_path_lines_are_blanked():
    # lines that a GPU run adds around the reports, in the formats ftcourse.labs and the labs print
    a = ("GPU: Tesla T4, 비어 있음(free) 14.6 / 14.7 GiB\n"
         "학습 62.3초, 최대 예약 메모리 5.61 GiB, 초당 1,736 토큰\n/content/llm-finetuning/outputs/lab1-adapter\n")
    b = ("GPU: NVIDIA H200, 비어 있음(free) 139.1 / 139.8 GiB\n"
         "학습 4.1초, 최대 예약 메모리 5.47 GiB, 초당 24,090 토큰\n/work/repo/.lab-run/solutions/outputs/lab1-adapter\n")
    assert sanitize(a) == sanitize(b)
