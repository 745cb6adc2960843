"""Write data/synthetic_chat.jsonl, the smoke profile's offline chat data, and its counts in data/README.md.

Every conversation is written for this course; none comes from FineTome-100k, whose schema the rows
share ({"conversations": [{"from": "human"|"gpt"|"system", "value": str}, ...], "source": str}).

The texts live in data/synthetic_chat/*.yaml, one file per topic (its `source`; see data/README.md):
- `written`: conversations used exactly as they are written;
- `templates`: phrasings with {fields}; this script draws the inputs from the template's `draw` lists,
  computes the rest with the COMPUTE entry of the same name, and fills them in, so every number in an
  answer is computed, never typed;
- `functions` and `snippets` (code.yaml): Python code that this script runs to get the outputs it shows.

Run `python data/make_synthetic_chat.py`. The output is deterministic (one seed); a test regenerates it
and compares bytes.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import random
import re
from collections import Counter
from fractions import Fraction
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
TEXT_DIR = HERE / "synthetic_chat"
OUT_PATH = HERE / "synthetic_chat.jsonl"
README_PATH = HERE / "README.md"
SEED = 20261109
HANGUL = re.compile("[\uac00-\ud7a3]")
SPECIAL = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>")


def is_korean(row: dict) -> bool:
    """A row is Korean when a human turn contains a Hangul syllable (the README counts use this)."""
    return any(t["from"] == "human" and HANGUL.search(t["value"]) for t in row["conversations"])


def load_texts() -> dict[str, dict]:
    """Every YAML file of data/synthetic_chat/, by file stem, in name order."""
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(TEXT_DIR.glob("*.yaml"))}


# ----------------------------------------------------------------------------- formatting
def num(x, nd: int = 2) -> str:
    """Thousands separators, at most `nd` decimals, no trailing zeros: 1234 -> '1,234', 3.50 -> '3.5'."""
    if isinstance(x, Fraction) and x.denominator == 1:
        x = int(x)
    if isinstance(x, int):
        return f"{x:,}"
    s = f"{float(x):,.{nd}f}"
    s = s.rstrip("0").rstrip(".") if "." in s else s
    return "0" if s == "-0" else s


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def josa(word: str, with_batchim: str, without: str) -> str:
    """Attach the Korean particle that fits the last syllable: josa('가방', '을', '를') -> '가방을'."""
    code = ord(word[-1]) - 0xAC00
    return word + (with_batchim if 0 <= code < 11172 and code % 28 else without)


def shown(fields: dict, nd: int) -> dict:
    """Numbers formatted by num() with at most `nd` decimals; other fields as they are."""
    return {k: num(x, nd) if isinstance(x, (int, float, Fraction)) and not isinstance(x, bool) else x
            for k, x in fields.items()}


def fill(template, values: dict, rng: random.Random) -> str:
    """A template is a string, a list of alternative strings, or a mapping chosen by values['variant']."""
    if isinstance(template, list):
        template = rng.choice(template)
    elif isinstance(template, dict):
        template = template[values["variant"]]
    return template.format(**values).strip()


# ----------------------------------------------------------------------------- the numbers
# A template's `draw` names the values it picks (see draw()); the function of the template's name gets
# them as keyword arguments and returns the fields it computes (they replace drawn fields of the same
# name), or None to draw again. Numbers are formatted by num() when filled in: return a string to
# format one otherwise.
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def shopping(a, p, b, q, **_):
    total = a * p + b * q
    bill = next(x for x in (1000, 2000, 5000, 10000) if x > total)
    return dict(p=money(p), q=money(q), ap=money(a * p), bq=money(b * q), total=money(total), bill=money(bill),
                note=f"${bill // 100}", change=money(bill - total))


def speed(v, t, v2, **_):
    if v * t % 1:
        return None
    minutes = round(60 * v * t / v2)
    return dict(d=int(v * t), mps=v / 3.6, t2=num(v * t / v2, 3), h2=minutes // 60, m2=minutes % 60)


def compound(p, r, t, n, **_):
    amount = p * (1 + r / 100 / n) ** (n * t)
    return dict(rate=num(r / 100, 3), nt=n * t, amount=f"{amount:,.2f}", interest=f"{amount - p:,.2f}")


def loan(p, annual, years):
    if (p >= 100_000) != (years >= 15):  # long terms for mortgages only
        return None
    i, n = annual / 100 / 12, years * 12
    m = p * i / (1 - (1 + i) ** -n)
    return dict(n=n, m=f"{m:,.2f}", paid=f"{m * n:,.2f}", interest=f"{m * n - p:,.2f}")


def clock(h, m):
    hour_angle = 30 * (h % 12) + 0.5 * m
    diff = abs(hour_angle - 6 * m)
    return dict(time=f"{h}:{m:02d}", h=h % 12, minute_angle=6 * m, hour_angle=hour_angle, diff=diff,
                angle=min(diff, 360 - diff))


def arrangements(word):
    counts = Counter(word)
    total = math.factorial(len(word))
    for c in counts.values():
        total //= math.factorial(c)
    repeats = sorted((ch, c) for ch, c in counts.items() if c > 1)
    return dict(n=len(word), total=total, variant="repeats" if repeats else "distinct",
                repeats=", ".join(f"{ch}: {c}" for ch, c in repeats), denom=" x ".join(f"{c}!" for _, c in repeats))


def ko_shopping(name, fruit1, fruit2, a, p, b, q):
    if fruit1 == fruit2:
        return None
    total = a * p + b * q
    bill = next(x for x in (10000, 20000, 50000) if x > total)
    return dict(subject=josa(name, "은", "는"), ap=a * p, bq=b * q, total=total, bill=bill, change=bill - total)


def ko_speed(v, t, v2):
    if v * t % 1:
        return None
    minutes = Fraction(int(v * t) * 60, v2)
    return dict(d=int(v * t), minutes=num(minutes, 1), hh=round(minutes) // 60, mm=round(minutes) % 60)


def ko_clock(h, m, dur):
    eh, em = divmod(h * 60 + m + dur, 60)
    if em == 0:  # "N시 0분" reads badly
        return None
    return dict(dh=dur // 60, dm=dur % 60, eh=eh, em=em, variant="hours" if dur >= 60 else "minutes")


COMPUTE = {
    # math.yaml
    "shopping": shopping,
    "speed": speed,
    "cycling": lambda v, t, **_: None if v * t % 60 else dict(d=v * t // 60, h=t // 60, m=t % 60),
    "discount": lambda price, pct, pct2, **_: dict(
        off=money(price * pct), keep=100 - pct, factor=(100 - pct) / 100, sale=money(price * (100 - pct)),
        keep2=100 - pct2, factor2=(100 - pct2) / 100, sale2=money(price * (100 - pct2)), off2=money(price * pct2)),
    "mean": lambda a, b, c, d, e: dict(total=a + b + c + d + e, mean=Fraction(a + b + c + d + e, 5)),
    "garden": lambda l, w, c: None if l == w else dict(area=l * w, per=2 * (l + w), cost=2 * (l + w) * c),
    "ages": lambda name, young, b, k, y: None if name == young else dict(
        s=b + k * b + 2 * y, k1=k + 1, y2=2 * y, rest=(k + 1) * b, age=k * b),
    "pipes": lambda a, b: None if a >= b or 60 * a * b % (a + b) else dict(
        rate=str(Fraction(1, a) + Fraction(1, b)), together=str(Fraction(a * b, a + b)),
        h=60 * a * b // (a + b) // 60, m=60 * a * b // (a + b) % 60),
    "gauss": lambda n: dict(n1=n + 1, total=n * (n + 1) // 2, top=n // 2 * 2, k=n // 2, k1=n // 2 + 1,
                            even=n // 2 * (n // 2 + 1)),
    "ratio": lambda n1, n2, p, q, unit: None if n1 == n2 else dict(
        parts=p + q, total=(p + q) * unit, x=p * unit, y=q * unit),
    "boxes": lambda trays, per, box: dict(total=trays * per, full=trays * per // box, left=trays * per % box),
    "recipe": lambda grams, serves, new, **_: dict(amount=num(Fraction(grams * new, serves), 1),
                                                   each=num(Fraction(grams, serves), 1)),
    # science.yaml
    "convert": lambda v, multiply=None, divide=None, **_: dict(out=v * multiply if multiply else v / divide),
    "celsius": lambda c: dict(f=c * 9 / 5 + 32),
    "fahrenheit": lambda f: dict(c=(f - 32) * 5 / 9),
    "seconds": lambda h: dict(s=h * 3600),
    "minutes_in_days": lambda d: dict(m=d * 1440),
    "gibibytes": lambda gib: dict(bytes=gib * 2**30, gb=gib * 2**30 / 1e9),
    "download": lambda mbit, gb: dict(megabits=gb * 8000, s=gb * 8000 / mbit, min=num(gb * 8000 / mbit / 60, 1)),
    "kinetic": lambda m, v: dict(ke=0.5 * m * v * v),
    "ohm": lambda v, r: dict(i=num(v / r, 4), ma=num(1000 * v / r, 1), variant="milliamps" if v < r else "amps"),
    "density": lambda mass, vol: dict(rho=mass / vol, variant="sinks" if mass > vol else "floats"),
    "force": lambda m, a: dict(f=m * a),
    "potential": lambda m, h: dict(pe=m * 9.8 * h),
    "appliance": lambda watts, hours, price: dict(
        wh=watts * hours, kwh=num(watts * hours / 1000, 3), rate=price / 100,
        day=f"{watts * hours * price / 100_000:.2f}", month=f"{watts * hours * price * 30 / 100_000:.2f}"),
    "wavelength": lambda f: dict(lam=num(343 / f, 3)),
    # ml.yaml
    "lora_params": lambda d, k, r: dict(d=str(d), k=str(k), lora=r * (d + k), full=d * k,  # no 4,096 x 4,096
                                        pct=f"{100 * r * (d + k) / (d * k):.2f}"),
    "weight_memory": lambda billions, dtype, bits: dict(gb=billions * bits / 8),
    # finance.yaml
    "compound": compound,
    "doubling": lambda r: dict(rate=r / 100, exact=f"{math.log(2) / math.log(1 + r / 100):.2f}", rule=72 / r),
    "loan": loan,
    "percent_change": lambda thing, old, step: dict(
        new=old + step, pct=100 * step / old, abs=abs(100 * step / old), variant="up" if step > 0 else "down"),
    # reasoning.yaml
    "arithmetic_sequence": lambda a, d: dict(seq=", ".join(str(a + d * i) for i in range(5)), step=abs(d),
                                             x=a + 5 * d, y=a + 6 * d, variant="up" if d > 0 else "down"),
    "geometric_sequence": lambda a, r: dict(seq=", ".join(str(a * r**i) for i in range(5)), x=a * r**5, y=a * r**6),
    "weekday": lambda day, n: dict(today=WEEKDAYS[day], q=n // 7, r=n % 7, later=WEEKDAYS[(day + n) % 7]),
    "clock": clock,
    "handshakes": lambda n: dict(n1=n - 1, total=n * (n - 1) // 2),
    "arrangements": arrangements,
    # korean.yaml
    "ko_shopping": ko_shopping,
    "ko_speed": ko_speed,
    "ko_discount": lambda item, price, pct: dict(item_obj=josa(item, "을", "를"), off=price * pct // 100,
                                                 sale=price * (100 - pct) // 100),
    "ko_mean": lambda name, k, e, m, s: dict(total=k + e + m + s, mean=Fraction(k + e + m + s, 4)),
    "ko_clock": ko_clock,
    "ko_area": lambda l, w: None if l == w else dict(area=l * w, per=2 * (l + w)),
    "ko_pyeong": lambda p: dict(m2=p * 400 / 121),
    "ko_celsius": lambda c: dict(f=c * 9 / 5 + 32),
    "ko_geun": lambda geun: dict(g=geun * 600),
    "ko_lora": lambda d, r: dict(d=str(d), lora=2 * d * r, full=d * d, pct=f"{100 * 2 * r / d:.2f}"),
}


def draw(spec: dict, words: dict, rng: random.Random) -> dict:
    """Pick one value per `draw` entry: from a list; from the file's `words` list of that name (a string);
    from min..max (a mapping, optional step). A picked mapping adds its keys, drawing from any list in it."""
    out = {}
    for key, choices in spec.items():
        if isinstance(choices, str):
            choices = words[choices]
        if isinstance(choices, dict):
            out[key] = rng.randrange(choices["min"], choices["max"] + 1, choices.get("step", 1))
            continue
        value = rng.choice(choices)
        if isinstance(value, dict):
            out.update({k: rng.choice(x) if isinstance(x, list) else x for k, x in value.items()})
        else:
            out[key] = value
    return out


# ----------------------------------------------------------------------------- Python that is run
def _assertion(name: str, args: str, value) -> str:
    if value is None:
        return f"assert {name}({args}) is None"
    if isinstance(value, bool):
        return f"assert {'' if value else 'not '}{name}({args})"
    return f"assert {name}({args}) == {value!r}"


def _printed(snippet: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(snippet, {"__name__": "__main__"})  # noqa: S102 - the course's own snippet from code.yaml
    return out.getvalue().rstrip("\n")


def code_conversations(doc: dict, rng: random.Random):
    """`functions`: every third one is shown and explained, the others are asked for; every fourth gets a
    pytest follow-up. `snippets`: the explanation, the code and the output it prints."""
    ph = doc["phrasing"]
    for i, f in enumerate(doc["functions"]):
        ns: dict = {}
        exec(f["code"], ns)  # noqa: S102 - the course's own function from code.yaml
        calls = [(args, eval(f"{f['name']}({args})", ns)) for args in f["examples"]]  # noqa: S307
        examples = "\n".join(f">>> {f['name']}({args})\n{value!r}" for args, value in calls)
        v = dict(name=f["name"], what=f["what"], code=f["code"].strip(), note=f["note"].strip(),
                 examples=examples, example=f"{f['name']}({calls[0][0]})", value=repr(calls[0][1]),
                 assertion=_assertion(f["name"], *calls[-1]))
        asks = [ph["explain_function"] if i % 3 == 2 else ph["write_function"]]
        asks += [ph["test_follow_up"]] if i % 4 == 1 else []
        yield [(who, fill(ask[who], v, rng)) for ask in asks for who in ("human", "gpt")]
    for s in doc["snippets"]:
        v = dict(explain=s["explain"].strip(), code=s["code"].strip(), output=_printed(s["code"]))
        yield [("human", s["human"]), ("gpt", fill(ph["snippet"]["gpt"], v, rng))]


# ----------------------------------------------------------------------------- assemble
def written_turns(item: dict) -> list[tuple[str, str]]:
    turns = [("system", item["system"])] if "system" in item else []
    for pair in [item, *item.get("then", [])]:
        turns += [("human", pair["human"]), ("gpt", pair["gpt"])]
    return turns


def templated(name: str, spec: dict, words: dict, rng: random.Random, taken: set[str]):
    """`spec['rows']` conversations from one template, with distinct numbers and distinct first prompts."""
    keys: set[str] = set()
    for _ in range(1000):
        if len(keys) == spec["rows"]:
            return
        drawn = draw(spec["draw"], words, rng)
        computed = COMPUTE[name](**drawn)
        if computed is None or repr(drawn) in keys:
            continue
        v = shown(drawn, 4) | shown(computed, 2)
        follow = spec.get("follow_up")
        parts = [spec, follow] if follow and rng.random() < follow["chance"] else [spec]
        turns = [(who, fill(part[who], v, rng)) for part in parts for who in ("human", "gpt")]
        if turns[0][1] not in taken:
            keys.add(repr(drawn))
            taken.add(turns[0][1])
            yield turns
    raise RuntimeError(f"{name}: only {len(keys)} of {spec['rows']} distinct rows")


def check(row: dict) -> None:
    """Each topic's promise: synthetic-system rows have a system turn, synthetic-korean rows are Korean, and
    every other row is English with no system turn; no text holds a chat special token."""
    texts = [t["value"] for t in row["conversations"]]
    has_system = row["conversations"][0]["from"] == "system"
    assert all(texts) and not any(tok in x for x in texts for tok in SPECIAL), row
    if row["source"] == "synthetic-system":
        assert has_system, row
    elif row["source"] == "synthetic-korean":
        assert is_korean(row) and not has_system, row
    else:
        assert not has_system and not any(HANGUL.search(x) for x in texts), row


def first_prompt(turns: list[tuple[str, str]]) -> str:
    return next(text.strip() for who, text in turns if who == "human")


def build(seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    taken: set[str] = set()  # first prompts so far: no two rows start alike
    for doc in load_texts().values():
        convos = [written_turns(item) for item in doc.get("written", [])]
        if "functions" in doc:
            convos += list(code_conversations(doc, rng))
        for turns in convos:
            assert first_prompt(turns) not in taken, f"the same first prompt twice: {first_prompt(turns)[:60]!r}"
            taken.add(first_prompt(turns))
        for name, spec in doc.get("templates", {}).items():
            convos += list(templated(name, spec, doc.get("words", {}), rng, taken))
        for turns in convos:
            row = {"conversations": [{"from": who, "value": text.strip()} for who, text in turns],
                   "source": doc["source"]}
            check(row)
            rows.append(row)
    rng.shuffle(rows)  # mix the topics so that any prefix of the file is varied
    return rows


def dumps(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def counts(rows: list[dict]) -> dict:
    by_source = Counter(r["source"] for r in rows)
    ko = sum(map(is_korean, rows))
    return {
        "rows": len(rows),
        "by_source": dict(sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_language": {"en": len(rows) - ko, "ko": ko},
        "multi_turn": sum(sum(t["from"] == "gpt" for t in r["conversations"]) >= 2 for r in rows),
        "with_system": sum(r["conversations"][0]["from"] == "system" for r in rows),
    }


def counts_markdown(rows: list[dict]) -> str:
    c = counts(rows)
    lines = ["| topic (`source`) | rows |", "| --- | ---: |"]
    lines += [f"| `{src}` | {n} |" for src, n in c["by_source"].items()]
    lines += [f"| **total** | **{c['rows']}** |", "",
              "| language (of the human turns) | rows |", "| --- | ---: |",
              f"| English (`en`) | {c['by_language']['en']} |",
              f"| Korean (`ko`) | {c['by_language']['ko']} |", "",
              f"Multi-turn conversations (2 or more assistant turns): {c['multi_turn']}. "
              f"Conversations with a system turn: {c['with_system']}."]
    return "\n".join(lines)


START, END = "<!-- counts:start -->", "<!-- counts:end -->"


def update_readme(rows: list[dict], path: Path = README_PATH) -> None:
    head, rest = path.read_text(encoding="utf-8").split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{counts_markdown(rows)}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    rows = build()
    OUT_PATH.write_text(dumps(rows), encoding="utf-8")
    update_readme(rows)
    c = counts(rows)
    print(f"wrote {OUT_PATH.name}: {c['rows']} rows, {c['by_language']['ko']} Korean, {len(c['by_source'])} topics")


if __name__ == "__main__":
    main()
