"""data/finetome_sample.jsonl: FineTome's schema, enough varied rows, regenerates byte for byte, README counts."""
from __future__ import annotations

import importlib.util
import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from ftcourse.chat import rows_with_special_text, standardize, validate_rows

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLE = DATA / "finetome_sample.jsonl"
README = DATA / "README.md"
HANGUL = re.compile("[\uac00-\ud7a3]")
# The source values of the real FineTome-100k (the subsets of arcee-ai/The-Tome).
FINETOME_SOURCES = {
    "infini-instruct-top-500k", "WebInstructSub_axolotl", "ultrainteract_trajectories_sharegpt",
    "self-instruct-sharegpt", "glaive-function-calling-v2-sharegpt", "reasoning-sharegpt",
    "airoboros-3.2", "systemchat-2.0-sharegpt", "financial-instructions-cleaned-2",
}


def load_generator():
    spec = importlib.util.spec_from_file_location("make_finetome_sample", DATA / "make_finetome_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lines() -> list[str]:
    raw = SAMPLE.read_bytes()
    assert raw.endswith(b"\n")
    return raw.decode("utf-8").splitlines()


@pytest.fixture(scope="module")
def rows(lines) -> list[dict]:
    return [json.loads(line) for line in lines]


def is_korean(row: dict) -> bool:
    return any(t["from"] == "human" and HANGUL.search(t["value"]) for t in row["conversations"])


def test_schema_is_finetome(rows, lines):
    assert validate_rows(rows) == len(rows)
    for row, line in zip(rows, lines):
        assert list(row) == ["conversations", "source", "score"]  # same key order as FineTome
        assert isinstance(row["score"], float) and 3.7 <= row["score"] <= 5.25
        assert row["source"] in FINETOME_SOURCES
        for turn in row["conversations"]:
            assert list(turn) == ["from", "value"] and turn["value"] == turn["value"].strip()
        assert "\\u" not in line  # ensure_ascii=False: Hangul is stored as text


def test_size_and_variety(rows):
    assert len(rows) >= 320
    sources = Counter(r["source"] for r in rows)
    assert len(sources) >= 6 and max(sources.values()) < 0.5 * len(rows)
    korean = sum(map(is_korean, rows)) / len(rows)
    assert 0.15 <= korean <= 0.20, korean
    n_gpt = [sum(t["from"] == "gpt" for t in r["conversations"]) for r in rows]
    assert sum(n >= 2 for n in n_gpt) >= 15  # multi-turn
    assert sum(r["conversations"][0]["from"] == "system" for r in rows) >= 10
    prompts = [next(t["value"] for t in r["conversations"] if t["from"] == "human") for r in rows]
    assert len(set(prompts)) == len(prompts)
    answers = [t["value"] for r in rows for t in r["conversations"] if t["from"] == "gpt"]
    assert len(set(answers)) > 0.95 * len(answers)
    lengths = [len(a) for a in answers]
    assert min(lengths) < 40 and max(lengths) > 500
    scores = [r["score"] for r in rows]
    assert len(set(scores)) == len(scores)


def test_no_chat_markers_inside_text(rows):
    # An <|im_end|> inside an answer would end the trained span early.
    assert rows_with_special_text(rows) == []
    assert all(standardize(r["conversations"]) for r in rows)


# Recompute a few kinds of computed answers from their prompts, independently of the generator.
def _numbers(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"-?\d[\d,]*\.?\d*", text)]


def test_computed_answers_are_right(rows):
    checked = Counter()
    for row in rows:
        turns = row["conversations"]
        q, a = turns[0]["value"], turns[1]["value"]
        if m := re.fullmatch(r"(?:Convert (-?[\d.]+) °C to Fahrenheit\.|What is (-?[\d.]+) degrees Celsius in Fahrenheit\?)", q):
            c = float(m.group(1) or m.group(2))
            assert math.isclose(_numbers(a)[-1], c * 9 / 5 + 32, abs_tol=0.006), (q, a)
            checked["celsius"] += 1
        elif m := re.fullmatch(r"A (.+) costs \$(\d+)\. It is on sale for (\d+)% off\. What is the sale price\?", q):
            price, pct = int(m.group(2)), int(m.group(3))
            assert f"${price * (100 - pct) / 100:,.2f}" in a, (q, a)
            checked["discount"] += 1
        elif m := re.fullmatch(r"At a meeting, each of (\d+) people .*", q):
            n = int(m.group(1))
            assert a.endswith(f"= {n * (n - 1) // 2}."), (q, a)
            checked["handshakes"] += 1
        elif m := re.fullmatch(r"What is the sum of all whole numbers from 1 to (\d+)\?", q):
            n = int(m.group(1))
            assert a.endswith(f"= {n * (n + 1) // 2:,}."), (q, a)
            checked["gauss"] += 1
        elif m := re.fullmatch(r"Today is (\w+)\. What day of the week will it be in (\d+) days\?", q):
            days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
            want = days[(days.index(m.group(1)) + int(m.group(2))) % 7]
            assert a.endswith(f"gives {want}."), (q, a)
            checked["weekday"] += 1
        elif m := re.fullmatch(r"(\d+)평은 몇 제곱미터인가요\?", q):
            assert f"{int(m.group(1)) * 400 / 121:.2f}".rstrip("0").rstrip(".") in a, (q, a)
            checked["pyeong"] += 1
    assert len(checked) == 6 and sum(checked.values()) >= 20, checked


def test_regenerates_byte_for_byte():
    gen = load_generator()
    assert gen.dumps(gen.build()).encode("utf-8") == SAMPLE.read_bytes(), \
        "data/finetome_sample.jsonl differs from the generator's output: run python data/make_finetome_sample.py"


def _readme_table(text: str) -> dict[str, int]:
    block = text.split("<!-- counts:start -->", 1)[1].split("<!-- counts:end -->", 1)[0]
    table = {}
    for cells in re.findall(r"^\|\s*(.+?)\s*\|\s*(.+?)\s*\|$", block, flags=re.M):
        label, value = (c.replace("`", "").strip("* ") for c in cells)
        if value.isdigit():
            table[label] = int(value)
    extra = re.search(r"\(2 or more assistant turns\): (\d+)\. Conversations with a system turn: (\d+)\.", block)
    table["multi_turn"], table["with_system"] = int(extra.group(1)), int(extra.group(2))
    return table


def test_readme_counts_match_the_file(rows):
    text = README.read_text(encoding="utf-8")
    table = _readme_table(text)
    want = Counter(r["source"] for r in rows)
    assert {k: v for k, v in table.items() if k in FINETOME_SOURCES} == dict(want)
    assert table["total"] == len(rows)
    ko = sum(map(is_korean, rows))
    assert table["English (en)"] == len(rows) - ko and table["Korean (ko)"] == ko
    assert table["multi_turn"] == sum(sum(t["from"] == "gpt" for t in r["conversations"]) >= 2 for r in rows)
    assert table["with_system"] == sum(any(t["from"] == "system" for t in r["conversations"]) for r in rows)
    assert "NOT FineTome" in text or "not FineTome" in text
    assert "written for this course" in text.lower()
