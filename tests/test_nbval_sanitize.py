"""The nbval sanitize file, read with nbval's own parser: it must blank what changes between two
runs of a lab (paths, timings, memory, throughput, losses) and keep the facts (counts, names)."""
import re
from pathlib import Path

from nbval.plugin import get_sanitize_patterns

SANITIZE = Path(__file__).resolve().parent.parent / "scripts" / "nbval-sanitize.cfg"


def sanitize(text: str) -> str:
    for regex, replace in get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


def test_every_section_is_read_by_nbval():
    text = SANITIZE.read_text(encoding="utf-8")
    sections = re.findall(r"^\[.+\]$", text, flags=re.MULTILINE)
    patterns = get_sanitize_patterns(text)
    assert len(patterns) == len(sections) > 0, "a section lost its regex:/replace: pair (one space after the colon)"
    for regex, _ in patterns:
        re.compile(regex)


# Lines as the labs print them, from two runs on different machines.
RUN_A = """불러오기 34초, 예약된 GPU 메모리 3.12 GiB
메모리: 불러온 뒤 3.12 GiB, 학습 직전 3.50 GiB, 최대 5.61 GiB (학습이 더한 몫 2.11 GiB)
학습 시간 468초 (7.8분), 토큰 812,345개, 초당 1,736 토큰
MFU 추정: 23.4% (최대 65 TFLOPS 기준, 4비트 역양자화와 재계산은 빼고 셈)
5스텝, 12.3초, 최대 예약 메모리 5.21 GiB
스텝별 손실: [1.234, 1.101, 0.987, 1.02, 0.955]
캐시: unsloth/Qwen3-4B-unsloth-bnb-4bit (model) 3.31 GiB, /root/.cache/huggingface/hub/models--unsloth--Qwen3-4B
어댑터 파라미터 16,515,072개, 파일 63.1 MiB; 16비트 원본 7.52 GiB의 0.82%
투영 252개 가운데 4비트 252개, 16비트로 남은 것 0개
<peft.tuners.lora.bnb.Linear4bit object at 0x7f3a2c1d9e50> 2026-11-22 14:03:11.523
"""
RUN_B = """불러오기 9초, 예약된 GPU 메모리 3.08 GiB
메모리: 불러온 뒤 3.08 GiB, 학습 직전 3.49 GiB, 최대 5.47 GiB (학습이 더한 몫 1.98 GiB)
학습 시간 1,302초 (21.7분), 토큰 812,345개, 초당 624 토큰
MFU 추정: 8.1% (최대 65 TFLOPS 기준, 4비트 역양자화와 재계산은 빼고 셈)
5스텝, 40.0초, 최대 예약 메모리 5.30 GiB
스텝별 손실: [1.236, 1.1, 0.99, 1.019, 0.957]
캐시: unsloth/Qwen3-4B-unsloth-bnb-4bit (model) 3.31 GiB, /content/.hf/hub/models--unsloth--Qwen3-4B
어댑터 파라미터 16,515,072개, 파일 63.1 MiB; 16비트 원본 7.52 GiB의 0.82%
투영 252개 가운데 4비트 252개, 16비트로 남은 것 0개
<peft.tuners.lora.bnb.Linear4bit object at 0x7f00aa11bb22> 2026-11-23 09:00:00
"""


def test_two_runs_compare_equal_after_sanitizing():
    assert RUN_A != RUN_B
    for a, b in zip(RUN_A.splitlines(), sanitize(RUN_B).splitlines()):
        assert sanitize(a) == b, (a, b)


def test_facts_survive_sanitizing():
    clean = sanitize(RUN_A)
    for fact in ("16,515,072개", "투영 252개 가운데 4비트 252개", "unsloth/Qwen3-4B-unsloth-bnb-4bit", "5스텝",
                 "812,345개", "65 TFLOPS"):
        assert fact in clean, fact
    for noise in ("468", "3.12", "0x7f3a", "/root/", "1.234", "23.4"):
        assert noise not in clean, noise
