"""data/synthetic_chat.jsonl: FineTome's conversation schema, synthetic topics, every YAML text in it,
right computed answers, regenerates byte for byte, README counts."""
from __future__ import annotations

import importlib.util
import json
import math
import re
from collections import Counter
from fractions import Fraction

import pytest
import yaml

from ftcourse.chat import rows_with_special_text, standardize, validate_rows
from ftcourse.paths import DATA_DIR

DATA = DATA_DIR
SAMPLE = DATA / "synthetic_chat.jsonl"
TEXTS = DATA / "synthetic_chat"
README = DATA / "README.md"
HANGUL = re.compile("[\uac00-\ud7a3]")
# The source values of the real FineTome-100k (the subsets of arcee-ai/The-Tome): no row may use one,
# so that a printed row can never be mistaken for FineTome.
FINETOME_SOURCES = {
    "infini-instruct-top-500k", "WebInstructSub_axolotl", "ultrainteract_trajectories_sharegpt",
    "self-instruct-sharegpt", "glaive-function-calling-v2-sharegpt", "reasoning-sharegpt",
    "airoboros-3.2", "systemchat-2.0-sharegpt", "financial-instructions-cleaned-2",
}


def load_generator():
    spec = importlib.util.spec_from_file_location("make_synthetic_chat", DATA / "make_synthetic_chat.py")
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


@pytest.fixture(scope="module")
def texts() -> dict[str, dict]:
    files = sorted(TEXTS.glob("*.yaml"))
    assert len(files) >= 5
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in files}


def is_korean(row: dict) -> bool:
    return any(t["from"] == "human" and HANGUL.search(t["value"]) for t in row["conversations"])


def as_turns(row: dict) -> tuple[tuple[str, str], ...]:
    return tuple((t["from"], t["value"]) for t in row["conversations"])


def test_schema_is_finetomes_conversations_without_score(rows, lines):
    assert validate_rows(rows) == len(rows)
    for row, line in zip(rows, lines):
        assert list(row) == ["conversations", "source"]  # FineTome's key order; no made-up `score`
        for turn in row["conversations"]:
            assert list(turn) == ["from", "value"] and turn["value"] == turn["value"].strip()
        assert "\\u" not in line  # ensure_ascii=False: Hangul is stored as text


def test_sources_are_synthetic_topics_never_finetome_names(rows):
    sources = Counter(r["source"] for r in rows)
    assert not set(sources) & FINETOME_SOURCES
    assert not {s.lower() for s in sources} & {s.lower() for s in FINETOME_SOURCES}
    assert all(re.fullmatch(r"synthetic-[a-z]+", s) for s in sources), sources
    # Enough topics, each big enough to be its own task when a lab splits the file by `source`.
    assert len(sources) >= 5 and min(sources.values()) >= 30 and max(sources.values()) < 0.5 * len(rows), sources
    assert {"synthetic-math", "synthetic-code"} <= set(sources)
    for row in rows:
        has_system = row["conversations"][0]["from"] == "system"
        texts = [t["value"] for t in row["conversations"]]
        if row["source"] == "synthetic-system":
            assert has_system, row
        elif row["source"] == "synthetic-korean":
            assert is_korean(row) and not has_system, row
        else:  # the English topics
            assert not has_system and not any(HANGUL.search(x) for x in texts), row


def test_size_and_variety(rows):
    assert 350 <= len(rows) <= 500
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


def test_no_chat_markers_inside_text(rows):
    # An <|im_end|> inside an answer would end the trained span early.
    assert rows_with_special_text(rows) == []
    assert all(standardize(r["conversations"]) for r in rows)


def test_every_yaml_text_is_in_the_file(rows, texts):
    gen = load_generator()
    assert list(gen.load_texts()) == list(texts)  # the generator reads every YAML file there
    by_source = Counter(r["source"] for r in rows)
    assert {doc["source"] for doc in texts.values()} == set(by_source)
    have = {(r["source"], as_turns(r)) for r in rows}
    all_text = {source: "\n".join(t["value"] for r in rows if r["source"] == source for t in r["conversations"])
                for source in by_source}
    for stem, doc in texts.items():
        source = doc["source"]
        written = doc.get("written", [])
        for item in written:  # hand-written conversations appear exactly, turn for turn
            turns = [("system", item["system"])] if "system" in item else []
            for pair in [item, *item.get("then", [])]:
                turns += [("human", pair["human"]), ("gpt", pair["gpt"])]
            turns = tuple((who, text.strip()) for who, text in turns)
            assert (source, turns) in have, f"{stem}.yaml: {turns[0][1][:60]!r} is not in the jsonl"
        for f in doc.get("functions", []) + doc.get("snippets", []):
            assert f["code"].strip() in all_text[source], f"{stem}.yaml: code not in the jsonl: {f['code'][:40]!r}"
        # and nothing else: the row count is the hand-written plus the templated rows
        want = (len(written) + len(doc.get("functions", [])) + len(doc.get("snippets", []))
                + sum(t["rows"] for t in doc.get("templates", {}).values()))
        assert by_source[source] == want, (stem, by_source[source], want)


# Recompute several kinds of computed answers from their prompts, independently of the generator.
def _numbers(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"-?\d[\d,]*\.?\d*", text)]


def _int(text: str) -> int:
    return int(text.replace(",", ""))


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
            assert a.endswith(f"= {n * (n - 1) // 2:,}."), (q, a)
            checked["handshakes"] += 1
        elif m := re.fullmatch(r"What is the sum of all whole numbers from 1 to ([\d,]+)\?", q):
            n = _int(m.group(1))
            assert a.endswith(f"= {n * (n + 1) // 2:,}."), (q, a)
            checked["gauss"] += 1
        elif m := re.fullmatch(r"Today is (\w+)\. What day of the week will it be in ([\d,]+) days\?", q):
            days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
            want = days[(days.index(m.group(1)) + _int(m.group(2))) % 7]
            assert a.endswith(f"gives {want}."), (q, a)
            checked["weekday"] += 1
        elif m := re.fullmatch(r"How many trainable parameters does a rank-(\d+) LoRA adapter add to a (\d+) x (\d+) weight matrix\?", q):
            r, d, k = map(int, m.groups())
            assert f"= {r * (d + k):,} parameters" in a and f"{100 * r * (d + k) / (d * k):.2f}%" in a, (q, a)
            checked["lora"] += 1
        elif m := re.fullmatch(r"(\d+)평은 몇 제곱미터인가요\?", q):
            assert f"{int(m.group(1)) * 400 / 121:.2f}".rstrip("0").rstrip(".") in a, (q, a)
            checked["pyeong"] += 1
        elif m := re.fullmatch(r"\w+의 시험 점수는 국어 (\d+)점, 영어 (\d+)점, 수학 (\d+)점, 과학 (\d+)점입니다\..*", q):
            scores = list(map(int, m.groups()))
            mean = Fraction(sum(scores), 4)
            assert a.endswith(f"= {float(mean):g}점입니다."), (q, a)
            checked["ko_mean"] += 1
    assert len(checked) == 8 and sum(checked.values()) >= 20, checked


def test_regenerates_byte_for_byte():
    gen = load_generator()
    assert gen.dumps(gen.build()).encode("utf-8") == SAMPLE.read_bytes(), \
        "data/synthetic_chat.jsonl differs from the generator's output: run python data/make_synthetic_chat.py"


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
    assert {k: v for k, v in table.items() if k.startswith("synthetic-")} == dict(want)
    assert table["total"] == len(rows)
    ko = sum(map(is_korean, rows))
    assert table["English (en)"] == len(rows) - ko and table["Korean (ko)"] == ko
    assert table["multi_turn"] == sum(sum(t["from"] == "gpt" for t in r["conversations"]) >= 2 for r in rows)
    assert table["with_system"] == sum(any(t["from"] == "system" for t in r["conversations"]) for r in rows)
    assert "NOT FineTome" in text and "contains no FineTome" in text
    assert "Written for this course; licensed like the course text (CC BY-SA 4.0" in " ".join(text.split())
    assert "make_synthetic_chat.py" in text and "finetome_sample" not in text
