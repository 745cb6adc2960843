"""Write data/finetome_sample.jsonl: an offline stand-in for FineTome-100k, written for this course.

Every conversation below is written by this script (templates, hand-written answers, and answers that
the script computes). Nothing is copied from FineTome. The rows use FineTome's exact schema, so a lab
can swap one for the other:

    {"conversations": [{"from": "human"|"gpt"|"system", "value": str}, ...],
     "source": str, "score": float}

Run `python data/make_finetome_sample.py` to rewrite the jsonl and the counts table in
data/README.md. The output is deterministic (one fixed seed); a test regenerates it and compares bytes.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import random
import re
import struct
import textwrap
from collections import Counter
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_PATH = HERE / "finetome_sample.jsonl"
README_PATH = HERE / "README.md"
SEED = 20261109

# `source` values that occur in the real FineTome-100k (its nine subsets of arcee-ai/The-Tome).
INFINI = "infini-instruct-top-500k"
WEBINSTRUCT = "WebInstructSub_axolotl"
ULTRA = "ultrainteract_trajectories_sharegpt"
SELF_INSTRUCT = "self-instruct-sharegpt"
REASONING = "reasoning-sharegpt"
AIROBOROS = "airoboros-3.2"
SYSTEMCHAT = "systemchat-2.0-sharegpt"
FINANCE = "financial-instructions-cleaned-2"

HANGUL = re.compile("[\uac00-\ud7a3]")
STEP_PREFIX = "Solve the following math problem step-by-step.\n"


def row_language(row: dict) -> str:
    """'ko' when any human turn contains a Hangul syllable, else 'en' (the README counts use this)."""
    for turn in row["conversations"]:
        if turn["from"] == "human" and HANGUL.search(turn["value"]):
            return "ko"
    return "en"


# ----------------------------------------------------------------------------- number formatting
def num(x, nd: int = 2) -> str:
    """Round to `nd` decimals and drop trailing zeros: 3.50 -> '3.5', 4.00 -> '4'."""
    if isinstance(x, Fraction) and x.denominator == 1:
        x = int(x)
    if isinstance(x, int):
        return f"{x:,}"
    s = f"{float(x):,.{nd}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def won(n: int) -> str:
    return f"{n:,}원"


def join_and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def josa(word: str, with_batchim: str, without: str) -> str:
    """Attach the Korean particle that fits the last syllable: josa('가방', '을', '를') -> '가방을'."""
    code = ord(word[-1]) - 0xAC00
    has_batchim = 0 <= code < 11172 and code % 28 != 0
    return word + (with_batchim if has_batchim else without)


def f32(x: float) -> float:
    """FineTome's scores are float32 values read back as Python floats; mimic that."""
    return struct.unpack("f", struct.pack("f", x))[0]


# ----------------------------------------------------------------------------- the builder
class Sample:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.rows: list[dict] = []
        self._prompts: set[str] = set()

    def fresh(self, prompt: str) -> bool:
        return prompt not in self._prompts

    def add(self, source: str, *turns: tuple[str, str]) -> None:
        convo = [{"from": who, "value": text.strip()} for who, text in turns]
        first_human = next(t["value"] for t in convo if t["from"] == "human")
        if first_human in self._prompts:
            raise ValueError(f"duplicate prompt: {first_human[:60]!r}")
        self._prompts.add(first_human)
        # FineTome's scores are fineweb-edu classifier logits, about 3.74 to 5.21 with most rows
        # near the bottom; a capped exponential tail gives the same shape.
        excess = self.rng.expovariate(1 / 0.3)
        while excess > 1.47:
            excess = self.rng.expovariate(1 / 0.3)
        score = 3.74 + excess
        self.rows.append({"conversations": convo, "source": source, "score": f32(score)})


def H(text: str) -> tuple[str, str]:
    return ("human", text)


def G(text: str) -> tuple[str, str]:
    return ("gpt", text)


def S(text: str) -> tuple[str, str]:
    return ("system", text)


NAMES = ["Maya", "Leo", "Priya", "Daniel", "Sofia", "Omar", "Hana", "Lucas", "Grace", "Ethan",
         "Amara", "Noah", "Chloe", "Mateo", "Ava", "Kenji", "Zara", "Felix", "Ines", "Tariq"]
KO_NAMES = ["민수", "지영", "서연", "도윤", "하준", "수빈", "예린", "준호", "지우", "태윤"]


def draw(s: Sample, make, n: int, tries: int = 400) -> None:
    """Call `make(rng)` until n distinct rows were added.

    `make` returns None (try again), (source, turns), or (source, turns, key) where equal keys mark
    rows that would only differ in wording (the same conversion of the same value, say).
    """
    added, keys = 0, set()
    for _ in range(tries):
        if added == n:
            return
        result = make(s.rng)
        if result is None:
            continue
        source, turns = result[:2]
        first = next(t[1].strip() for t in turns if t[0] == "human")
        key = result[2] if len(result) == 3 else first
        if s.fresh(first) and key not in keys:
            keys.add(key)
            s.add(source, *turns)
            added += 1
    raise RuntimeError(f"{make.__name__}: only {added} of {n} distinct rows")


# ============================================================================= English math
def math_shopping(rng):
    name = rng.choice(NAMES)
    a, p = rng.randint(2, 6), rng.choice([125, 199, 250, 275, 340, 450])
    b, q = rng.randint(2, 8), rng.choice([45, 60, 75, 89, 120])
    total = a * p + b * q
    bill = next(x for x in (1000, 2000, 5000, 10000) if x > total)
    q_text = (f"{STEP_PREFIX}{name} buys {a} notebooks at {money(p)} each and {b} pens at {money(q)} "
              f"each, and pays with a ${bill // 100} bill. How much change does {name} get back?")
    a_text = (f"Step 1: The notebooks cost {a} x {money(p)} = {money(a * p)}.\n"
              f"Step 2: The pens cost {b} x {money(q)} = {money(b * q)}.\n"
              f"Step 3: Together they cost {money(a * p)} + {money(b * q)} = {money(total)}.\n"
              f"Step 4: The change is {money(bill)} - {money(total)} = {money(bill - total)}.\n"
              f"Answer: {name} gets back {money(bill - total)}.")
    return ULTRA, [H(q_text), G(a_text)]


def math_speed(rng):
    v = rng.choice([45, 60, 72, 80, 90, 96, 110, 120])
    t = rng.choice([2, 3, 4, 5, 1.5, 2.5, 0.5])
    d = v * t
    if d != int(d):
        return None
    d = int(d)
    vehicle = rng.choice(["A train", "A bus", "A car", "A delivery van"])
    hours = num(t) + (" hour" if t == 1 else " hours")
    q = f"{vehicle} covers {d} km in {hours}. What is its average speed in km/h?"
    a = (f"Average speed is distance divided by time: {d} km / {num(t)} h = {v} km/h.")
    if rng.random() < 0.5:
        a += (f" In metres per second that is {v} / 3.6 = {num(v / 3.6)} m/s, because 1 km/h is "
              f"1000 m per 3600 s.")
    source = rng.choice([WEBINSTRUCT, INFINI])
    if rng.random() < 0.35:  # a follow-up turn with a second speed
        v2 = rng.choice([x for x in (40, 50, 64, 75, 100) if x != v])
        minutes = Fraction(d, v2) * 60
        h2, m2 = divmod(round(minutes), 60)
        follow = f"How long would the same trip take at {v2} km/h?"
        ans2 = (f"Time is distance divided by speed: {d} / {v2} h = {num(Fraction(d, v2), 3)} h. "
                f"That is {num(minutes)} minutes, or about {h2} h {m2} min.")
        if minutes % 60 == 0:
            ans2 = (f"Time is distance divided by speed: {d} / {v2} = {int(h2)} h exactly.")
        return source, [H(q), G(a), H(follow), G(ans2)]
    return source, [H(q), G(a)]


def math_cycling(rng):
    v = rng.choice([12, 15, 16, 18, 20, 24])
    t = rng.choice(range(40, 245, 5))
    if (v * t) % 60:
        return None
    d = v * t // 60
    h, m = divmod(t, 60)
    name = rng.choice(NAMES)
    q = (f"{STEP_PREFIX}{name} cycles at a steady {v} km/h. How long does a {d} km ride take? "
         f"Give the answer in hours and minutes.")
    hours = f"{h} hour{'s' if h != 1 else ''}"
    answer = hours if m == 0 else f"{hours} and {m} minutes"
    a = (f"Step 1: Time = distance / speed = {d} / {v} hours.\n"
         f"Step 2: In minutes: {d} / {v} x 60 = {t} minutes.\n"
         f"Step 3: {t} minutes = {h} h {m} min.\n"
         f"Answer: the ride takes {answer}.")
    return ULTRA, [H(q), G(a)], (v, t)


def math_discount(rng):
    item = rng.choice(["jacket", "backpack", "desk lamp", "pair of headphones", "rain coat",
                       "blender", "bookshelf", "pair of boots"])
    price = rng.randint(18, 240)
    pct = rng.choice([10, 15, 20, 25, 30, 40])
    sale = price * (100 - pct)  # cents
    q = f"A {item} costs ${price}. It is on sale for {pct}% off. What is the sale price?"
    a = (f"{pct}% of ${price} is {money(price * pct)}, so the sale price is ${price} - "
         f"{money(price * pct)} = {money(sale)}. A quicker way: pay {100 - pct}% of the price, "
         f"{price} x {num((100 - pct) / 100)} = {money(sale)}.")
    turns = [H(q), G(a)]
    if rng.random() < 0.4:
        pct2 = rng.choice([x for x in (5, 35, 50, 60) if x != pct])
        turns += [H(f"And if the discount were {pct2}% instead?"),
                  G(f"Then you pay {100 - pct2}% of ${price}: {price} x {num((100 - pct2) / 100)} "
                    f"= {money(price * (100 - pct2))}, which saves {money(price * pct2)}.")]
    return INFINI, turns


def math_mean(rng):
    n = rng.choice([4, 5])
    scores = [rng.randint(55, 100) for _ in range(n)]
    mean = Fraction(sum(scores), n)
    listed = ", ".join(map(str, scores[:-1])) + f" and {scores[-1]}"
    q = f"The test scores of {n} students are {listed}. What is the mean score?"
    a = (f"Add the scores: {' + '.join(map(str, scores))} = {sum(scores)}. Divide by the number of "
         f"students: {sum(scores)} / {n} = {num(mean)}. The mean score is {num(mean)}.")
    return WEBINSTRUCT, [H(q), G(a)]


def math_garden(rng):
    l, w = rng.randint(6, 30), rng.randint(3, 20)
    if l == w:
        return None
    c = rng.choice([4, 6, 7, 9, 12])
    q = (f"{STEP_PREFIX}A rectangular garden is {l} m long and {w} m wide. Fencing costs ${c} per "
         f"metre. Find the area of the garden and the cost of fencing all the way around it.")
    per = 2 * (l + w)
    a = (f"Step 1: Area = length x width = {l} x {w} = {l * w} square metres.\n"
         f"Step 2: Perimeter = 2 x ({l} + {w}) = {per} m.\n"
         f"Step 3: Fencing cost = {per} x ${c} = ${per * c:,}.\n"
         f"Answer: the area is {l * w} m^2 and the fence costs ${per * c:,}.")
    return ULTRA, [H(q), G(a)]


def math_ages(rng):
    name, young = rng.sample(NAMES, 2)
    b, k, y = rng.randint(3, 15), rng.randint(2, 4), rng.randint(2, 10)
    s = b + k * b + 2 * y
    times = {2: "twice", 3: "three times", 4: "four times"}[k]
    q = (f"{STEP_PREFIX}{name} is {times} as old as {young}. In {y} years the sum of their ages "
         f"will be {s}. How old is {name} now?")
    a = (f"Step 1: Let {young}'s age be b, so {name} is {k}b.\n"
         f"Step 2: In {y} years their ages are b + {y} and {k}b + {y}, so (b + {y}) + ({k}b + {y}) "
         f"= {s}.\n"
         f"Step 3: {k + 1}b + {2 * y} = {s}, so {k + 1}b = {s - 2 * y} and b = {b}.\n"
         f"Step 4: {name} is {k} x {b} = {k * b}.\n"
         f"Answer: {name} is {k * b} years old.")
    return ULTRA, [H(q), G(a)]


PIPE_PAIRS = [(a, b) for a in range(2, 13) for b in range(a + 1, 25)
              if (60 * a * b) % (a + b) == 0]


def math_pipes(rng):
    a, b = rng.choice(PIPE_PAIRS)
    together = Fraction(a * b, a + b)
    minutes = together * 60
    h, m = divmod(int(minutes), 60)
    when = "" if m == 0 else f", which is {h} h {m} min"
    q = (f"One pipe fills a tank in {a} hours and a second pipe fills it in {b} hours. How long do "
         f"they take to fill the tank together?")
    a_text = (f"Per hour the first pipe fills 1/{a} of the tank and the second 1/{b}. Together they "
              f"fill 1/{a} + 1/{b} = {Fraction(1, a) + Fraction(1, b)} of the tank per hour. The time "
              f"is the reciprocal, {together} hours{when}.")
    return rng.choice([WEBINSTRUCT, REASONING]), [H(q), G(a_text)]


def math_gauss(rng):
    n = rng.randint(20, 500)
    q = f"What is the sum of all whole numbers from 1 to {n}?"
    a = (f"Use the formula n(n + 1)/2 for the sum 1 + 2 + ... + n. With n = {n}: "
         f"{n} x {n + 1} / 2 = {n * (n + 1) // 2:,}.")
    turns = [H(q), G(a)]
    if n % 2 == 0 and rng.random() < 0.5:
        k = n // 2
        turns += [H(f"And the sum of the even numbers from 2 to {n}?"),
                  G(f"The even numbers are 2 x (1 + 2 + ... + {k}), so the sum is "
                    f"2 x {k} x {k + 1} / 2 = {k * (k + 1):,}.")]
    return rng.choice([INFINI, ULTRA]), turns


def math_ratio(rng):
    p, q = rng.choice([(1, 2), (2, 3), (3, 5), (1, 3), (4, 5), (3, 7), (5, 3)])
    unit = rng.choice([15, 20, 25, 40, 60, 75, 120])
    total = (p + q) * unit
    n1, n2 = rng.sample(NAMES, 2)
    qtext = f"Split ${total:,} between {n1} and {n2} in the ratio {p}:{q}. How much does each get?"
    a = (f"The ratio has {p} + {q} = {p + q} parts, so one part is ${total:,} / {p + q} = ${unit}. "
         f"{n1} gets {p} x ${unit} = ${p * unit:,} and {n2} gets {q} x ${unit} = ${q * unit:,}. "
         f"Check: ${p * unit:,} + ${q * unit:,} = ${total:,}.")
    return INFINI, [H(qtext), G(a)]


def math_boxes(rng):
    trays, per, box = rng.randint(3, 9), rng.choice([12, 16, 20, 24, 30]), rng.choice([6, 8, 9, 10, 15])
    total = trays * per
    full, left = divmod(total, box)
    q = (f"A bakery bakes {trays} trays of {per} cookies and packs them in boxes of {box}. How many "
         f"boxes can it fill, and how many cookies are left over?")
    a = f"It bakes {trays} x {per} = {total} cookies. {total} / {box} = {full} remainder {left}, so it fills {full} boxes"
    a += "." if left == 0 else f" and {left} cookies are left over."
    if left == 0:
        a += " No cookies are left over."
    return rng.choice([INFINI, ULTRA]), [H(q), G(a)]


def math_recipe(rng):
    ingredient, base = rng.choice([("flour", 300), ("rice", 240), ("sugar", 120), ("butter", 80),
                                   ("oats", 160), ("lentils", 200)])
    serves = rng.choice([2, 4, 6])
    new = rng.choice([x for x in (3, 5, 8, 9, 10, 12) if x != serves])
    amount = Fraction(base * new, serves)
    q = f"A recipe for {serves} servings uses {base} g of {ingredient}. How much do I need for {new} servings?"
    a = (f"Scale by {new}/{serves}: {base} g x {new} / {serves} = {num(amount, 1)} g of {ingredient}. "
         f"That is {num(Fraction(base, serves), 1)} g per serving.")
    return AIROBOROS, [H(q), G(a)]


# ============================================================================= unit conversions
LENGTH_ETC = [
    # (from, to, factor, why, values)
    ("kilometres", "miles", 1 / 1.609344, "1 mile is exactly 1.609344 km, so divide by 1.609344",
     [5, 10, 21.0975, 42.195, 100, 250]),
    ("miles", "kilometres", 1.609344, "1 mile is exactly 1.609344 km, so multiply by 1.609344",
     [3, 13.1, 26.2, 60, 500]),
    ("kilograms", "pounds", 1 / 0.45359237, "1 pound is exactly 0.45359237 kg, so divide by it",
     [2.5, 23, 68, 75, 100]),
    ("pounds", "kilograms", 0.45359237, "1 pound is exactly 0.45359237 kg, so multiply by it",
     [5, 12, 150, 220]),
    ("inches", "centimetres", 2.54, "1 inch is exactly 2.54 cm", [6, 13.3, 15.6, 27, 65]),
    ("centimetres", "inches", 1 / 2.54, "1 inch is exactly 2.54 cm, so divide by 2.54", [30, 100, 175, 182]),
    ("feet", "metres", 0.3048, "1 foot is exactly 0.3048 m", [6, 29032, 1000, 35000]),
    ("litres", "US gallons", 1 / 3.785411784, "1 US gallon is exactly 3.785411784 L, so divide by it",
     [1, 20, 50, 60]),
    ("US gallons", "litres", 3.785411784, "1 US gallon is exactly 3.785411784 L", [2, 5, 12.5]),
    ("km/h", "m/s", 1 / 3.6, "1 km/h is 1000 m per 3600 s, so divide by 3.6", [36, 50, 90, 120, 300]),
    ("m/s", "km/h", 3.6, "1 m/s is 3600 m per hour, which is 3.6 km/h", [1.5, 10, 25, 343]),
]
CONVERT_PHRASES = ["Convert {v} {a} to {b}.", "How many {b} are in {v} {a}?", "What is {v} {a} in {b}?",
                   "Express {v} {a} in {b}, rounded to two decimal places."]


def convert_units(rng):
    a, b, factor, why, values = rng.choice(LENGTH_ETC)
    v = rng.choice(values)
    q = rng.choice(CONVERT_PHRASES).format(v=num(v, 4), a=a, b=b)
    out = v * factor
    ans = f"{why}: {num(v, 4)} {a} is about {num(out)} {b}."
    if rng.random() < 0.3:
        ans = f"About {num(out)} {b}. ({why}.)"
    return WEBINSTRUCT, [H(q), G(ans)], (a, b, v)


def convert_temperature(rng):
    if rng.random() < 0.5:
        c = rng.choice([-40, -18, -10, 0, 4, 12, 18.5, 25, 37, 60, 100, 180, 220])
        f = c * 9 / 5 + 32
        q = rng.choice(["Convert {c} °C to Fahrenheit.", "What is {c} degrees Celsius in Fahrenheit?"]).format(c=num(c, 1))
        a = f"Use F = C x 9/5 + 32: {num(c, 1)} x 9/5 + 32 = {num(f)} °F."
        if c == -40:
            a += " This is the one temperature where both scales agree."
        return WEBINSTRUCT, [H(q), G(a)], ("C", c)
    f = rng.choice([-4, 0, 32, 50, 68, 72, 98.6, 212, 350, 451])
    c = (f - 32) * 5 / 9
    q = rng.choice(["Convert {f} °F to Celsius.", "What is {f} degrees Fahrenheit in Celsius?"]).format(f=num(f, 1))
    a = f"Use C = (F - 32) x 5/9: ({num(f, 1)} - 32) x 5/9 = {num(c)} °C."
    return WEBINSTRUCT, [H(q), G(a)], ("F", f)


def convert_time_data(rng):
    kind = rng.randrange(4)
    if kind == 0:
        h = rng.choice([1.5, 2, 8, 24, 36])
        return WEBINSTRUCT, [H(f"How many seconds are there in {num(h)} hours?"),
                             G(f"One hour has 60 x 60 = 3,600 seconds, so {num(h)} hours have "
                               f"{num(h)} x 3,600 = {num(h * 3600)} seconds.")]
    if kind == 1:
        d = rng.choice([3, 7, 30, 365])
        return WEBINSTRUCT, [H(f"How many minutes are in {d} days?"),
                             G(f"A day has 24 x 60 = 1,440 minutes, so {d} days have {d} x 1,440 = "
                               f"{d * 1440:,} minutes.")]
    if kind == 2:
        gib = rng.choice([4, 8, 16, 24, 80])
        return INFINI, [H(f"How many bytes are in {gib} GiB, and how many GB is that?"),
                        G(f"A gibibyte (GiB) is 2^30 = 1,073,741,824 bytes, so {gib} GiB = "
                          f"{gib * 2**30:,} bytes. A gigabyte (GB) is 10^9 bytes, so that is "
                          f"about {num(gib * 2**30 / 1e9)} GB. Memory sizes are often quoted in GiB, "
                          f"disk sizes in GB, which is why the numbers differ.")]
    mbit = rng.choice([50, 100, 300, 500, 1000])
    size_gb = rng.choice([1, 4, 15, 60])
    secs = size_gb * 8000 / mbit
    return INFINI, [H(f"How long does it take to download a {size_gb} GB file at {mbit} Mbit/s?"),
                    G(f"{size_gb} GB is {size_gb} x 8,000 = {size_gb * 8000:,} megabits. At {mbit} Mbit/s "
                      f"that takes {size_gb * 8000:,} / {mbit} = {num(secs)} seconds, about "
                      f"{num(secs / 60, 1)} minutes, if the link runs at full speed the whole time.")]


# ============================================================================= physics
def physics(rng):
    kind = rng.randrange(7)
    if kind == 0:
        m, v = rng.choice([0.15, 2, 60, 1200, 1500]), rng.choice([3, 10, 15, 25, 40])
        ke = 0.5 * m * v * v
        return WEBINSTRUCT, [H(f"What is the kinetic energy of a {num(m)} kg object moving at {v} m/s?"),
                             G(f"Kinetic energy is KE = (1/2)mv^2 = 0.5 x {num(m)} x {v}^2 = {num(ke)} J.")]
    if kind == 1:
        v, r = rng.choice([(1.5, 10), (3.3, 220), (5, 220), (5, 1000), (9, 47), (9, 330), (12, 100),
                           (12, 4.7), (230, 53)])
        return WEBINSTRUCT, [H(f"A {num(v)} V source is connected across a {num(r)} ohm resistor. What current flows?"),
                             G(f"By Ohm's law, I = V / R = {num(v)} / {num(r)} = {num(v / r, 4)} A"
                               + (f", or {num(1000 * v / r, 1)} mA." if v / r < 1 else "."))]
    if kind == 2:
        mass, vol = rng.choice([54, 158, 270, 386, 540]), rng.choice([20, 50, 100])
        rho = mass / vol
        return WEBINSTRUCT, [H(f"A block has a mass of {mass} g and a volume of {vol} cm^3. What is its density?"),
                             G(f"Density is mass divided by volume: {mass} g / {vol} cm^3 = {num(rho)} g/cm^3. "
                               + ("Since that is more than 1 g/cm^3, the block sinks in water."
                                  if rho > 1 else "It is less dense than water, so it floats."))]
    if kind == 3:
        m, a = rng.choice([2, 5, 70, 800, 1000]), rng.choice([0.5, 2, 3, 9.8])
        return WEBINSTRUCT, [H(f"What force is needed to accelerate a {m} kg mass at {num(a)} m/s^2?"),
                             G(f"Newton's second law gives F = ma = {m} x {num(a)} = {num(m * a)} N.")]
    if kind == 4:
        m, h = rng.choice([1, 2.5, 10, 65]), rng.choice([3, 12, 20, 50])
        return WEBINSTRUCT, [H(f"How much gravitational potential energy does a {num(m)} kg mass gain when lifted {h} m? Use g = 9.8 m/s^2."),
                             G(f"PE = mgh = {num(m)} x 9.8 x {h} = {num(m * 9.8 * h)} J.")]
    if kind == 5:
        watts, hours, price = rng.choice([9, 60, 150, 1200, 2000]), rng.choice([3, 5, 8, 24]), rng.choice([12, 15, 30])
        kwh = watts * hours / 1000
        cost = kwh * price / 100
        return FINANCE if rng.random() < 0.3 else WEBINSTRUCT, [
            H(f"A {watts} W appliance runs for {hours} hours a day. How much energy does it use per day, "
              f"and what does that cost at {price} cents per kWh?"),
            G(f"Energy = power x time = {watts} W x {hours} h = {watts * hours:,} Wh = {num(kwh, 3)} kWh. "
              f"Cost = {num(kwh, 3)} x ${num(price / 100)} = ${cost:.2f} per day, or about "
              f"${cost * 30:.2f} over 30 days.")]
    f = rng.choice([110, 262, 440, 1000, 2000])
    return WEBINSTRUCT, [H(f"Sound travels at about 343 m/s in air. What is the wavelength of a {f} Hz tone?"),
                         G(f"Wavelength = speed / frequency = 343 / {f} = {num(343 / f, 3)} m.")]


SCIENCE = [
    ("Why is the sky blue?",
     "Sunlight contains all visible colours. Air molecules scatter short wavelengths much more strongly "
     "than long ones (Rayleigh scattering, roughly proportional to 1/wavelength^4), so blue light is "
     "scattered across the whole sky. At sunset the light crosses more air, the blue is scattered out "
     "of the direct beam, and the sun looks red or orange."),
    ("What is the overall chemical equation for photosynthesis?",
     "6 CO2 + 6 H2O + light energy -> C6H12O6 + 6 O2. Plants use light to turn carbon dioxide and water "
     "into glucose, and release oxygen as a by-product."),
    ("Why does ice float on water?",
     "Ice is less dense than liquid water. When water freezes, hydrogen bonds lock the molecules into an "
     "open hexagonal lattice that takes up about 9% more volume, so ice floats."),
    ("What causes the seasons on Earth?",
     "The seasons come from the tilt of Earth's axis, about 23.4 degrees. For part of the orbit one "
     "hemisphere leans toward the Sun and gets more direct sunlight and longer days, which is summer "
     "there. The distance to the Sun changes only a little and is not the cause."),
    ("Why does water boil at a lower temperature on a mountain?",
     "Water boils when its vapour pressure equals the surrounding air pressure. Air pressure is lower at "
     "altitude, so that point is reached at a lower temperature, below 100 °C. That is why pasta takes "
     "longer to cook up high."),
    ("What is the difference between mitosis and meiosis?",
     "Mitosis makes two genetically identical cells with the full set of chromosomes; it is used for "
     "growth and repair. Meiosis makes four cells with half the chromosomes, each genetically different; "
     "it produces eggs and sperm."),
    ("What does the pH scale measure?",
     "pH measures how acidic or basic a solution is: it is the negative base-10 logarithm of the "
     "hydrogen-ion concentration. Pure water at 25 °C has pH 7; lower values are acidic and higher values "
     "are basic. Each step of 1 is a tenfold change in concentration."),
    ("State Newton's third law with an example.",
     "For every action there is an equal and opposite reaction: if A pushes on B, B pushes back on A with "
     "a force of the same size in the opposite direction. A swimmer pushes water backward and the water "
     "pushes the swimmer forward."),
    ("What is an isotope?",
     "Isotopes are atoms of the same element with different numbers of neutrons. They have the same "
     "number of protons, so the same chemistry, but different masses. Carbon-12 and carbon-14 are "
     "isotopes of carbon."),
    ("What is the difference between weather and climate?",
     "Weather is the state of the atmosphere over hours or days: today's rain or tomorrow's temperature. "
     "Climate is the long-term pattern of weather in a region, usually averaged over 30 years or more."),
    ("Explain conduction, convection and radiation.",
     "They are the three ways heat moves. Conduction passes heat through direct contact, like a metal "
     "spoon warming in soup. Convection carries heat with a moving fluid, like warm air rising from a "
     "radiator. Radiation carries energy as electromagnetic waves and needs no medium, which is how "
     "sunlight reaches Earth."),
    ("How do DNA bases pair?",
     "Adenine pairs with thymine and guanine pairs with cytosine. A-T pairs are held by two hydrogen "
     "bonds and G-C pairs by three."),
    ("How fast does light travel?",
     "In a vacuum light travels at exactly 299,792,458 metres per second, about 300,000 km/s. Light from "
     "the Sun takes about 8 minutes and 20 seconds to reach Earth."),
    ("What is Avogadro's number?",
     "It is the number of particles in one mole: exactly 6.02214076 x 10^23. One mole of carbon-12 atoms "
     "has a mass of 12 grams."),
    ("Why do we see lightning before we hear thunder?",
     "Light travels about 300,000 km per second while sound travels about 343 m per second in air. "
     "Counting the seconds between flash and thunder and dividing by 3 gives the distance in kilometres, "
     "roughly."),
    ("What is the difference between speed and velocity?",
     "Speed is how fast something moves, a scalar. Velocity is speed together with direction, a vector. "
     "A car driving around a circular track at a constant 50 km/h has constant speed but changing velocity."),
]


# ============================================================================= Python
PY_FUNCS = [
    ("is_palindrome", "checks whether a string is a palindrome, ignoring case and non-alphanumeric characters",
     '''
def is_palindrome(text):
    cleaned = [ch.lower() for ch in text if ch.isalnum()]
    return cleaned == cleaned[::-1]
''', ["'A man, a plan, a canal: Panama'", "'hello'", "'Was it a car or a cat I saw?'"],
     "It keeps only letters and digits, lowercases them, and compares the list with its reverse "
     "(`[::-1]`)."),
    ("count_vowels", "counts the vowels in a string",
     '''
def count_vowels(text):
    return sum(1 for ch in text.lower() if ch in "aeiou")
''', ["'banana'", "'Fine-tuning'", "'rhythm'"],
     "A generator expression yields 1 for every lowercase character that is in the string of vowels, "
     "and `sum` adds them up."),
    ("factorial", "computes n! iteratively",
     '''
def factorial(n):
    if n < 0:
        raise ValueError("n must be non-negative")
    result = 1
    for k in range(2, n + 1):
        result *= k
    return result
''', ["0", "5", "10"],
     "The loop multiplies 2, 3, ..., n into `result`; 0! and 1! stay 1 because the loop body never runs."),
    ("fibonacci", "returns the first n Fibonacci numbers as a list",
     '''
def fibonacci(n):
    numbers = []
    a, b = 0, 1
    for _ in range(n):
        numbers.append(a)
        a, b = b, a + b
    return numbers
''', ["1", "8", "12"],
     "The tuple assignment `a, b = b, a + b` moves one step along the sequence without a temporary "
     "variable."),
    ("gcd", "computes the greatest common divisor of two integers with Euclid's algorithm",
     '''
def gcd(a, b):
    while b:
        a, b = b, a % b
    return abs(a)
''', ["48, 18", "270, 192", "17, 5"],
     "Each step replaces (a, b) with (b, a mod b); when b reaches 0, a holds the answer."),
    ("is_prime", "tests whether an integer is prime",
     '''
def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True
''', ["1", "97", "91"],
     "It only tries divisors up to the square root of n, because a larger factor would pair with a "
     "smaller one already tried."),
    ("flatten", "flattens a list of lists by one level",
     '''
def flatten(nested):
    return [item for sub in nested for item in sub]
''', ["[[1, 2], [3], [4, 5, 6]]", "[['a'], [], ['b', 'c']]"],
     "The comprehension reads like two nested loops: for each sublist, for each item in it."),
    ("word_frequencies", "counts how often each word appears in a text, case-insensitively",
     '''
from collections import Counter

def word_frequencies(text):
    return Counter(text.lower().split())
''', ["'the cat and the hat'", "'To be or not to be'"],
     "`str.split()` splits on any whitespace and `Counter` tallies the words; it behaves like a dict."),
    ("chunk", "splits a list into chunks of a given size",
     '''
def chunk(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]
''', ["[1, 2, 3, 4, 5, 6, 7], 3", "list('abcdef'), 2"],
     "`range` steps by `size`, and slicing past the end simply returns a shorter last chunk."),
    ("binary_search", "finds the index of a target in a sorted list, or -1",
     '''
def binary_search(items, target):
    lo, hi = 0, len(items) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
''', ["[2, 5, 8, 12, 16, 23, 38], 23", "[2, 5, 8, 12, 16, 23, 38], 7"],
     "Each comparison halves the search range, so it needs about log2(n) steps."),
    ("dedupe", "removes duplicates from a list while keeping the first occurrence order",
     '''
def dedupe(items):
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result
''', ["[3, 1, 3, 2, 1]", "['b', 'a', 'b', 'c']"],
     "A set gives fast membership tests, and the list keeps the original order, which `set(items)` "
     "alone would lose."),
    ("second_largest", "returns the second largest distinct number in a list",
     '''
def second_largest(numbers):
    distinct = sorted(set(numbers), reverse=True)
    if len(distinct) < 2:
        raise ValueError("need at least two distinct numbers")
    return distinct[1]
''', ["[4, 9, 2, 9, 7]", "[10, 20]"],
     "Converting to a set drops repeats, so a repeated maximum does not count twice."),
    ("running_sum", "returns the running (cumulative) sums of a list",
     '''
from itertools import accumulate

def running_sum(numbers):
    return list(accumulate(numbers))
''', ["[1, 2, 3, 4]", "[5, -2, 7]"],
     "`itertools.accumulate` yields each partial sum; `list` collects them."),
    ("transpose", "transposes a matrix given as a list of rows",
     '''
def transpose(matrix):
    return [list(col) for col in zip(*matrix)]
''', ["[[1, 2, 3], [4, 5, 6]]", "[[1, 2], [3, 4], [5, 6]]"],
     "`zip(*matrix)` passes each row as a separate argument, so zip groups the i-th elements together."),
    ("title_case", "capitalizes the first letter of every word",
     '''
def title_case(text):
    return " ".join(word.capitalize() for word in text.split())
''', ["'low rank adaptation'", "'hello wORLD'"],
     "`str.capitalize` uppercases the first character and lowercases the rest of each word."),
    ("merge_dicts", "merges two dictionaries, with values from the second winning",
     '''
def merge_dicts(a, b):
    return {**a, **b}
''', ["{'lr': 0.001, 'r': 8}, {'r': 16}", "{}, {'x': 1}"],
     "Unpacking both dicts into a new literal copies a first, then b overwrites shared keys. Python "
     "3.9+ also allows `a | b`."),
    ("digit_sum", "returns the sum of the digits of a non-negative integer",
     '''
def digit_sum(n):
    return sum(int(d) for d in str(n))
''', ["2026", "999999"],
     "Turning the number into a string lets you loop over its digits."),
    ("fizzbuzz", "returns the FizzBuzz sequence from 1 to n",
     '''
def fizzbuzz(n):
    out = []
    for i in range(1, n + 1):
        if i % 15 == 0:
            out.append("FizzBuzz")
        elif i % 3 == 0:
            out.append("Fizz")
        elif i % 5 == 0:
            out.append("Buzz")
        else:
            out.append(str(i))
    return out
''', ["15"],
     "The check for 15 comes first; otherwise multiples of 15 would stop at the Fizz branch."),
    ("run_length_encode", "compresses a string with run-length encoding",
     '''
from itertools import groupby

def run_length_encode(text):
    return "".join(f"{ch}{len(list(group))}" for ch, group in groupby(text))
''', ["'aaabccdddd'", "'abc'"],
     "`groupby` groups consecutive equal characters; each group becomes the character plus its count."),
    ("are_anagrams", "checks whether two words are anagrams",
     '''
def are_anagrams(a, b):
    return sorted(a.lower()) == sorted(b.lower())
''', ["'listen', 'silent'", "'apple', 'paper'"],
     "Two words are anagrams when their sorted letters are identical."),
    ("max_subarray_sum", "finds the largest sum of a contiguous subarray (Kadane's algorithm)",
     '''
def max_subarray_sum(numbers):
    best = current = numbers[0]
    for x in numbers[1:]:
        current = max(x, current + x)
        best = max(best, current)
    return best
''', ["[-2, 1, -3, 4, -1, 2, 1, -5, 4]", "[-3, -1, -2]"],
     "`current` is the best sum of a subarray ending here: either extend the previous one or start "
     "fresh at x. It runs in one pass, O(n)."),
    ("safe_divide", "divides two numbers and returns None instead of raising on division by zero",
     '''
def safe_divide(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        return None
''', ["10, 4", "1, 0"],
     "Catching only `ZeroDivisionError` keeps other mistakes, such as passing a string, visible."),
    ("rotate", "rotates a list k positions to the right",
     '''
def rotate(items, k):
    if not items:
        return []
    k %= len(items)
    return items[-k:] + items[:-k] if k else items[:]
''', ["[1, 2, 3, 4, 5], 2", "[1, 2, 3], 4"],
     "`k %= len(items)` handles k larger than the list; k == 0 needs its own branch because "
     "`items[-0:]` is the whole list."),
    ("caesar", "shifts every letter of a string by k places in the alphabet",
     '''
def caesar(text, k):
    out = []
    for ch in text:
        if ch.isalpha():
            base = ord("A") if ch.isupper() else ord("a")
            out.append(chr((ord(ch) - base + k) % 26 + base))
        else:
            out.append(ch)
    return "".join(out)
''', ["'Hello, World!', 3", "'abc xyz', 1"],
     "`% 26` wraps z around to a; non-letters pass through unchanged."),
    ("to_binary", "converts a non-negative integer to its binary string without the 0b prefix",
     '''
def to_binary(n):
    return format(n, "b")
''', ["5", "255", "1024"],
     "`format(n, 'b')` gives the binary digits; `bin(n)` would add a '0b' prefix."),
    ("squares_of_evens", "returns the squares of the even numbers in a list",
     '''
def squares_of_evens(numbers):
    return [x * x for x in numbers if x % 2 == 0]
''', ["[1, 2, 3, 4, 5, 6]", "[7, 9]"],
     "The `if` clause at the end of the comprehension filters before squaring."),
]

PY_ASK = ["Write a Python function `{name}` that {what}.",
          "Implement `{name}` in Python: a function that {what}.",
          "Can you write a Python function that {what}? Call it `{name}`."]


def _call(namespace: dict, name: str, args: str):
    return eval(f"{name}({args})", namespace)  # noqa: S307 - our own code and literals


def _assertion(namespace: dict, name: str, args: str) -> str:
    value = _call(namespace, name, args)
    if value is None:
        return f"assert {name}({args}) is None"
    if value is True or value is False:
        return f"assert {'' if value else 'not '}{name}({args})"
    return f"assert {name}({args}) == {value!r}"


def python_rows(s: Sample) -> None:
    for i, (name, what, code, examples, note) in enumerate(PY_FUNCS):
        code = textwrap.dedent(code).strip()
        ns: dict = {}
        exec(code, ns)  # noqa: S102 - our own snippet; the examples below are computed from it
        shown = [f"`{name}({args})` returns `{_call(ns, name, args)!r}`" for args in examples]
        if i % 3 != 2:
            ask = PY_ASK[i % len(PY_ASK)].format(name=name, what=what)
            answer = f"```python\n{code}\n```\n\n{note}\n\nFor example, {join_and(shown)}."
            s.add(SELF_INSTRUCT, H(ask), G(answer))
        else:
            ask = f"What does this Python function do?\n\n```python\n{code}\n```"
            answer = (f"It {what}. {note} For example, {shown[0]}.")
            s.add(SELF_INSTRUCT, H(ask), G(answer))
        if i % 4 == 1:  # a follow-up turn asking for a test
            args = examples[-1]
            s.rows[-1]["conversations"] += [
                {"from": "human", "value": f"How would I test `{name}` with pytest?"},
                {"from": "gpt", "value": (
                    f"Put the function in a module and write plain `assert` statements in a test "
                    f"function; pytest collects every function whose name starts with `test_`:\n\n"
                    f"```python\ndef test_{name}():\n    {_assertion(ns, name, args)}\n```\n\n"
                    f"Run it with `pytest -q`.")},
            ]


def _run(snippet: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(snippet, {"__name__": "__main__"})  # noqa: S102 - our own snippet
    return buf.getvalue().rstrip("\n")


PY_CONCEPTS = [
    ("What does `enumerate` do in Python?",
     "`enumerate` pairs every item of an iterable with a counter, so you do not need to track an index "
     "by hand. The optional `start` argument sets the first number.",
     "fruits = ['apple', 'banana', 'cherry']\nfor i, fruit in enumerate(fruits, start=1):\n    print(i, fruit)"),
    ("How does `zip` work?",
     "`zip` walks several iterables in step and yields tuples of their items; it stops at the shortest one.",
     "names = ['Ana', 'Ben', 'Cy']\nscores = [91, 78]\nfor name, score in zip(names, scores):\n    print(name, score)"),
    ("Why use `dict.get` instead of square brackets?",
     "`d[key]` raises `KeyError` for a missing key, while `d.get(key, default)` returns the default.",
     "config = {'lr': 2e-4}\nprint(config.get('lr'))\nprint(config.get('epochs', 1))"),
    ("What is the difference between a list and a tuple?",
     "A list is mutable: you can append, remove and change items. A tuple is immutable, so it can be a "
     "dict key or a set member, and it signals that the data should not change.",
     "point = (3, 4)\nitems = [3, 4]\nitems.append(5)\nprint(items)\ntry:\n    point[0] = 1\nexcept TypeError as err:\n    print('TypeError:', err)"),
    ("Explain the mutable default argument pitfall in Python.",
     "Default values are evaluated once, when the function is defined. A list default is therefore shared "
     "between calls. Use `None` and create the list inside the function instead.",
     "def add(item, bucket=[]):\n    bucket.append(item)\n    return bucket\n\nprint(add(1))\nprint(add(2))"),
    ("What is the difference between `is` and `==`?",
     "`==` compares values; `is` checks whether two names refer to the same object. Use `is` for `None`.",
     "a = [1, 2]\nb = [1, 2]\nprint(a == b)\nprint(a is b)\nprint(a is a)"),
    ("How do f-strings format numbers?",
     "Put a format specification after a colon inside the braces: `.2f` for two decimals, `,` for "
     "thousands separators, `%` for percentages.",
     "loss = 0.123456\nsteps = 12500\nshare = 0.4137\nprint(f'{loss:.3f} {steps:,} {share:.1%}')"),
    ("What does `*args` and `**kwargs` mean in a function definition?",
     "`*args` collects extra positional arguments into a tuple and `**kwargs` collects extra keyword "
     "arguments into a dict.",
     "def show(*args, **kwargs):\n    print(args)\n    print(kwargs)\n\nshow(1, 2, r=8, alpha=16)"),
    ("What is a generator in Python?",
     "A generator is a function that uses `yield`. Calling it returns an iterator that produces values "
     "lazily, one at a time, so it never builds the whole sequence in memory.",
     "def countdown(n):\n    while n > 0:\n        yield n\n        n -= 1\n\nprint(list(countdown(4)))"),
    ("How do I sort a list of dictionaries by a key?",
     "Pass a `key` function to `sorted`; a lambda that returns the field works well. Add `reverse=True` "
     "for descending order.",
     "runs = [{'r': 16, 'loss': 0.82}, {'r': 8, 'loss': 0.91}, {'r': 32, 'loss': 0.79}]\nfor run in sorted(runs, key=lambda run: run['loss']):\n    print(run['r'], run['loss'])"),
    ("What does slicing with `[::-1]` do?",
     "A slice is `[start:stop:step]`; a step of -1 walks backwards, so `[::-1]` returns a reversed copy.",
     "print('stressed'[::-1])\nprint([1, 2, 3][::-1])"),
    ("What does `if __name__ == '__main__':` do?",
     "Python sets `__name__` to `'__main__'` only for the file you run directly. Code under this check "
     "runs as a script but not when the module is imported.",
     "print(__name__)"),
    ("How do list comprehensions with two `for` clauses work?",
     "The clauses nest from left to right, exactly like two nested loops.",
     "pairs = [(x, y) for x in range(2) for y in 'ab']\nprint(pairs)"),
    ("How do I count items quickly in Python?",
     "`collections.Counter` counts hashable items and has a handy `most_common` method.",
     "from collections import Counter\ncounts = Counter('mississippi')\nprint(counts.most_common(2))"),
]


def python_concepts(s: Sample) -> None:
    for i, (q, explain, snippet) in enumerate(PY_CONCEPTS):
        out = _run(snippet)
        answer = f"{explain}\n\n```python\n{snippet}\n```\n\nOutput:\n\n```\n{out}\n```"
        s.add(INFINI if i % 2 else SELF_INSTRUCT, H(q), G(answer))


# ============================================================================= ML / fine-tuning
ML_TERMS = [
    ("fine-tuning", "Fine-tuning continues training a pre-trained model on a smaller, task-specific "
     "dataset, so it adapts its behaviour (style, format, domain) without learning from scratch."),
    ("pre-training", "Pre-training is the first, expensive stage: a model learns general language "
     "patterns by predicting the next token on a very large text corpus. Fine-tuning then adapts it."),
    ("supervised fine-tuning (SFT)", "SFT trains a model on example conversations or prompt-response "
     "pairs with the ordinary next-token loss. It is usually how a base model learns to follow "
     "instructions and use a chat format."),
    ("LoRA", "LoRA (Low-Rank Adaptation) freezes the original weight matrix W and learns a low-rank "
     "update: W + (alpha/r) B A, where B is d x r and A is r x k with a small rank r. Only A and B are "
     "trained. B starts at zero, so training starts exactly from the original model, and after training "
     "B A can be merged into W, so inference costs nothing extra."),
    ("QLoRA", "QLoRA trains LoRA adapters on top of a base model stored in 4-bit NF4. The frozen weights "
     "are dequantized on the fly for each matrix multiplication, while the adapters stay in 16-bit. It "
     "also uses double quantization and paged optimizers to save more memory."),
    ("PEFT", "PEFT (parameter-efficient fine-tuning) is the family of methods that train only a small "
     "number of parameters, often under 1% of the model, while the rest stays frozen. LoRA, prefix "
     "tuning, prompt tuning, adapters and BitFit are examples."),
    ("an adapter layer", "An adapter is a small bottleneck network (down-projection, nonlinearity, "
     "up-projection) inserted into each transformer block. Only the adapters are trained. Unlike LoRA, "
     "they add layers, so they add some inference latency."),
    ("prompt tuning", "Prompt tuning learns a few continuous 'soft prompt' embeddings that are prepended "
     "to the input, while the whole model stays frozen. Only those embedding vectors are trained."),
    ("BitFit", "BitFit fine-tunes only the bias terms of a model and freezes every weight matrix. It "
     "trains a tiny fraction of the parameters."),
    ("the LoRA rank r", "The rank r is the inner dimension of the LoRA matrices B (d x r) and A (r x k). "
     "A larger r gives the update more capacity and more trainable parameters; values such as 8, 16 or "
     "32 are common."),
    ("lora_alpha", "lora_alpha scales the LoRA update: the added weight is (alpha / r) B A. Setting alpha "
     "equal to r or to 2r is a common starting point."),
    ("the learning rate", "The learning rate sets how large each optimizer step is. Too high and the loss "
     "diverges or oscillates; too low and training is slow. LoRA often uses about 1e-4 to 2e-4, higher "
     "than for full fine-tuning."),
    ("learning-rate warmup", "Warmup raises the learning rate from near zero to its target over the first "
     "steps. It avoids large, unstable updates while the optimizer statistics are still poor."),
    ("weight decay", "Weight decay shrinks the weights a little at every step, which discourages large "
     "weights and acts as regularization. AdamW applies it separately from the gradient update."),
    ("gradient accumulation", "Gradient accumulation adds up gradients over several small batches before "
     "one optimizer step. With a batch of 2 and 4 accumulation steps, each update sees 8 examples while "
     "memory holds only 2 at a time."),
    ("an epoch", "An epoch is one full pass over the training dataset. A step is one optimizer update, so "
     "one epoch has about (number of examples / effective batch size) steps."),
    ("overfitting", "Overfitting means the model memorises the training data and does worse on new data: "
     "training loss keeps falling while validation loss rises. More data, fewer epochs, or "
     "regularization help."),
    ("a tokenizer", "A tokenizer turns text into a sequence of integer token IDs and back. Modern LLMs use "
     "subword tokenizers such as byte-level BPE, so any text can be represented."),
    ("byte-pair encoding (BPE)", "BPE builds a vocabulary by starting from single characters or bytes and "
     "repeatedly merging the most frequent adjacent pair into a new token, until the vocabulary reaches a "
     "target size."),
    ("a chat template", "A chat template is the exact text format that wraps each message with role "
     "markers, for example Qwen's im_start and im_end tokens around every turn. Fine-tuning data must use "
     "the same template the model will see at inference time."),
    ("the EOS token", "The end-of-sequence token marks where a response stops. If a fine-tuned model "
     "never sees it at the end of answers, it may keep generating past the end."),
    ("training on responses only", "It means computing the loss only on the assistant's tokens: the "
     "labels of the system and user tokens are set to -100, which the loss ignores. The model then spends "
     "its capacity on how to answer, not on imitating prompts."),
    ("cross-entropy loss", "For language models, cross-entropy is the average of -log p(correct next "
     "token). A uniform guess over V tokens gives ln V, so a loss well below that shows the model "
     "has learned something."),
    ("perplexity", "Perplexity is exp(average cross-entropy loss). It can be read as the number of "
     "equally likely tokens the model is choosing between; lower is better."),
    ("quantization", "Quantization stores numbers with fewer bits, for example 8-bit or 4-bit integers "
     "instead of 16-bit floats, plus scale factors. It cuts memory and can speed up inference at a small "
     "cost in accuracy."),
    ("NF4", "NF4 (4-bit NormalFloat) is a 4-bit data type whose 16 levels are placed at quantiles of a "
     "normal distribution, which suits neural-network weights. QLoRA stores the frozen base model in NF4."),
    ("BF16", "BF16 (bfloat16) is a 16-bit float with 8 exponent bits, the same range as FP32, but only 7 "
     "mantissa bits. FP16 has 5 exponent bits and 10 mantissa bits, so it is more precise but overflows "
     "much sooner."),
    ("mixed-precision training", "Mixed precision does most computation in 16-bit floats (FP16 or BF16) "
     "while keeping sensitive parts, such as master weights or loss scaling, in higher precision. It "
     "saves memory and speeds up training on GPUs with tensor cores."),
    ("gradient checkpointing", "Gradient checkpointing saves memory by storing only some activations in "
     "the forward pass and recomputing the rest during the backward pass. It trades extra compute for "
     "lower memory."),
    ("AdamW", "AdamW is Adam with decoupled weight decay. It keeps two moving averages per parameter, the "
     "mean of the gradients and the mean of their squares, so its state takes twice the size of the "
     "trainable weights."),
    ("catastrophic forgetting", "Catastrophic forgetting is when training on a new task degrades what "
     "the model could do before. Freezing the base weights, as PEFT methods do, limits it."),
    ("RLHF", "RLHF (reinforcement learning from human feedback) trains a reward model on human "
     "preference comparisons and then optimizes the language model against it, usually with PPO."),
    ("DPO", "DPO (Direct Preference Optimization) learns from pairs of preferred and rejected answers "
     "directly with a classification-style loss, without training a separate reward model."),
    ("model merging", "Model merging combines the weights of several fine-tuned models of the same "
     "architecture into one model, for example by averaging them or by adding task vectors, without "
     "further training."),
    ("a task vector", "A task vector is the difference between fine-tuned weights and the base weights. "
     "Adding it to the base adds the skill; adding several task vectors combines skills."),
    ("the KV cache", "During generation the model stores the keys and values of earlier tokens for every "
     "layer, so each new token only computes attention for itself. The cache grows with the sequence "
     "length and the batch size."),
    ("sampling temperature", "Temperature divides the logits before the softmax. Below 1 the distribution "
     "gets sharper and output more deterministic; above 1 it flattens and output gets more varied."),
    ("retrieval-augmented generation (RAG)", "RAG retrieves relevant documents for a question and puts "
     "them into the prompt, so the model can answer from up-to-date or private knowledge without "
     "changing its weights. Fine-tuning is better at changing behaviour; RAG at supplying facts."),
    ("knowledge distillation", "Distillation trains a smaller student model to imitate a larger teacher "
     "model's outputs, often its full probability distributions, to get a cheaper model with similar "
     "behaviour."),
    ("an attention mask", "The attention mask tells the model which positions are real tokens (1) and "
     "which are padding (0), so padding does not influence the result."),
]
ML_ASK = ["What is {t}?", "Explain {t} in simple terms.", "Can you define {t} briefly?",
          "In the context of LLM fine-tuning, what does {t} mean?"]


def ml_rows(s: Sample) -> None:
    for i, (term, answer) in enumerate(ML_TERMS):
        q = ML_ASK[i % len(ML_ASK)].format(t=term)
        q = q[0].upper() + q[1:]
        s.add(INFINI if i % 3 else AIROBOROS, H(q), G(answer))


def lora_params(rng):
    d, k = rng.choice([(768, 768), (1024, 1024), (2560, 2560), (4096, 4096), (4096, 11008),
                       (2560, 9728), (5120, 5120)])
    r = rng.choice([4, 8, 16, 32, 64])
    lora, full = r * (d + k), d * k
    q = f"How many trainable parameters does a rank-{r} LoRA adapter add to a {d} x {k} weight matrix?"
    a = (f"LoRA trains B ({d} x {r}) and A ({r} x {k}), so it adds r(d + k) = {r} x ({d} + {k}) = "
         f"{lora:,} parameters. The full matrix has {d} x {k} = {full:,}, so the adapter is "
         f"{100 * lora / full:.2f}% of it.")
    return INFINI, [H(q), G(a)]


DTYPE_BYTES = {"FP32": 4, "FP16": 2, "BF16": 2, "INT8": 1, "4-bit": 0.5}


def weight_memory(rng):
    billions = rng.choice([0.5, 1.5, 3, 4, 7, 8, 13, 70])
    dtype = rng.choice(list(DTYPE_BYTES))
    b = DTYPE_BYTES[dtype]
    q = f"How much memory do the weights of a model with {num(billions)}B parameters take in {dtype}?"
    a = (f"{dtype} uses {num(b)} byte{'s' if b != 1 else ''} per parameter, so {num(billions)} x 10^9 x "
         f"{num(b)} = {num(billions * b)} x 10^9 bytes, about {num(billions * b)} GB. That is the weights "
         f"alone; activations, the KV cache and (for training) gradients and optimizer states come on top.")
    return INFINI, [H(q), G(a)]


# ============================================================================= how-to (English)
HOWTO = [
    ("How do I hard-boil an egg?",
     "Put the eggs in a pot and cover them with cold water by about 2 cm. Bring the water to a boil, "
     "turn off the heat, cover the pot and leave the eggs for 10 to 12 minutes. Move them to a bowl of "
     "cold water for a few minutes; that stops the cooking and makes them easier to peel."),
    ("How can I get a coffee stain out of a cotton shirt?",
     "Act quickly. Rinse the stain from the back with cold water, then rub in a little liquid laundry "
     "detergent and let it sit for 5 to 10 minutes. Wash as usual and check before drying, because a "
     "dryer's heat can set the stain."),
    ("Give me a simple way to plan a monthly budget.",
     "Write down your monthly take-home income. List fixed costs such as rent, transport and "
     "subscriptions, then estimate variable costs like food. Decide on a savings amount and treat it as "
     "a fixed cost. Whatever is left is your spending money; track it for a month and adjust."),
    ("How do I take a screenshot on Windows?",
     "Press Windows + Shift + S to select an area with the Snipping Tool; the image goes to the "
     "clipboard. The Print Screen key copies the whole screen, and Windows + Print Screen saves it to "
     "Pictures > Screenshots."),
    ("How often should I water a snake plant?",
     "Rarely. Let the soil dry out completely between waterings, which usually means every 2 to 3 weeks, "
     "and less often in winter. Overwatering and root rot are the most common way to kill one."),
    ("What is a good way to prepare for a job interview?",
     "Read about the company and the role, and match your experience to the job description. Prepare "
     "short stories about past work using the situation, task, action and result structure. Practise "
     "answers aloud, prepare two or three questions of your own, and plan your route or test your video "
     "setup the day before."),
    ("How do I write a polite email declining a meeting?",
     "Thank the sender, decline clearly, and offer an alternative if you can. For example: \"Thank you "
     "for the invitation. Unfortunately I can't join on Thursday. Could we find a time next week, or "
     "would a short written update help?\" Keep it short and friendly."),
    ("How should I store fresh herbs?",
     "Treat soft herbs such as parsley, coriander and basil like flowers: trim the stems and stand them in "
     "a glass of water. Keep basil at room temperature and the others in the fridge. Wrap hardy herbs like "
     "rosemary and thyme in a slightly damp paper towel and refrigerate them."),
    ("How can I make a strong password that I can remember?",
     "Use a passphrase of four or more random, unrelated words, for example chosen with dice, which is "
     "long and easy to remember. Use a different password for every site and keep them in a password "
     "manager. Turn on two-factor authentication where it is offered."),
    ("What is the 3-2-1 backup rule?",
     "Keep 3 copies of your data, on 2 different types of storage, with 1 copy off-site, for example in "
     "the cloud or at another location. A single fire, theft or disk failure then cannot destroy "
     "everything."),
    ("How do I clean a laptop keyboard safely?",
     "Shut down and unplug the laptop. Turn it upside down and tap gently to remove crumbs, then use "
     "compressed air between the keys. Wipe the keys with a cloth slightly dampened with isopropyl "
     "alcohol; never pour liquid on the keyboard."),
    ("How do I start running if I have never run before?",
     "Start with walk-run intervals, for example 1 minute of easy running and 2 minutes of walking, "
     "repeated for 20 to 30 minutes, three times a week. Run slowly enough to hold a conversation. "
     "Lengthen the running parts a little each week and take rest days between runs."),
    ("How do I make a good cup of black tea?",
     "Use freshly boiled water, about 95 to 100 °C for black tea. Steep one teaspoon of leaves or one bag "
     "per cup for 3 to 5 minutes, then remove it; steeping longer makes it bitter."),
    ("How can I fall asleep more easily?",
     "Keep a regular sleep and wake time, even on weekends. Avoid caffeine in the afternoon and screens "
     "in the last hour before bed. Keep the bedroom dark, quiet and cool, and if you cannot sleep after "
     "about 20 minutes, get up and do something calm until you feel sleepy."),
    ("Write a short thank-you note to a colleague who helped me finish a project.",
     "Hi Sam, thank you for all your help on the project this month. Your review of the data pipeline "
     "caught problems I would have missed, and we finished on time because of it. I really appreciate "
     "it, and I owe you a coffee!"),
    ("How do I remove a stripped screw?",
     "Press a wide rubber band between the screwdriver and the screw head to add grip, and turn slowly "
     "while pushing down firmly. If that fails, use a screw extractor bit, which bites into the head as "
     "you turn it counter-clockwise."),
]


# ============================================================================= finance
def compound_interest(rng):
    p = rng.choice([1000, 2500, 5000, 10000, 20000])
    r = rng.choice([2, 3, 3.5, 4, 5, 6, 7])
    t = rng.choice([3, 5, 10, 15, 20])
    n, label = rng.choice([(1, "annually"), (4, "quarterly"), (12, "monthly")])
    amount = p * (1 + r / 100 / n) ** (n * t)
    q = (f"If I invest ${p:,} at {num(r)}% annual interest compounded {label}, how much will I have "
         f"after {t} years?")
    a = (f"Use A = P(1 + r/n)^(nt) with P = {p:,}, r = {num(r / 100, 3)}, n = {n} and t = {t}: "
         f"A = {p:,} x (1 + {num(r / 100, 3)}/{n})^{n * t} = ${amount:,.2f}. The interest earned is "
         f"${amount - p:,.2f}.")
    return FINANCE, [H(q), G(a)]


def doubling_time(rng):
    r = rng.choice([3, 4, 6, 8, 9, 12])
    exact = math.log(2) / math.log(1 + r / 100)
    q = f"How long does it take money to double at {r}% interest per year, compounded annually?"
    a = (f"Exactly, t = ln 2 / ln(1 + {num(r / 100)}) = {exact:.2f} years. The rule of 72 gives a quick "
         f"estimate: 72 / {r} = {num(72 / r)} years, close to the exact answer.")
    return FINANCE, [H(q), G(a)]


def loan_payment(rng):
    p = rng.choice([10000, 15000, 25000, 200000, 300000])
    annual = rng.choice([4, 5, 6, 7.5])
    years = rng.choice([3, 5, 15, 30]) if p >= 200000 else rng.choice([3, 4, 5])
    i, n = annual / 100 / 12, years * 12
    m = p * i / (1 - (1 + i) ** -n)
    q = (f"What is the monthly payment on a ${p:,} loan at {num(annual)}% annual interest over "
         f"{years} years?")
    a = (f"With monthly rate i = {num(annual)}% / 12 and n = {n} payments, the payment is "
         f"M = P i / (1 - (1 + i)^-n) = ${m:,.2f}. Over the whole loan you pay ${m * n:,.2f}, of which "
         f"${m * n - p:,.2f} is interest.")
    return FINANCE, [H(q), G(a)]


def percent_change(rng):
    old = rng.choice([40, 80, 125, 250, 1200])
    new = old + rng.choice([-30, -10, -5, 5, 15, 25, 60])
    pct = (new - old) / old * 100
    thing = rng.choice(["a share price", "a shop's monthly revenue", "a subscription price",
                        "the number of daily website visits"])
    q = f"If {thing} goes from {old} to {new}, what is the percentage change?"
    a = (f"Percentage change = (new - old) / old x 100 = ({new} - {old}) / {old} x 100 = {num(pct)}%. "
         f"That is {'an increase' if pct > 0 else 'a decrease'} of {num(abs(pct))}%.")
    return FINANCE, [H(q), G(a)], (old, new)


FIN_TERMS = [
    ("What is diversification?", "Diversification spreads money across many investments, such as "
     "different companies, sectors, countries or asset types, so that a loss in one has a smaller effect "
     "on the whole portfolio. It reduces risk that is specific to one investment, not the risk of the "
     "whole market."),
    ("What is an ETF?", "An exchange-traded fund is a fund that holds a basket of assets, often tracking "
     "an index, and trades on a stock exchange like a single share. ETFs usually have low fees and give "
     "instant diversification."),
    ("What is the difference between APR and APY?", "APR is the yearly interest rate without "
     "compounding. APY includes compounding, so with monthly compounding an APR of 12% gives an APY of "
     "(1 + 0.12/12)^12 - 1, about 12.68%."),
    ("How does inflation affect savings?", "Inflation raises prices, so the same money buys less over "
     "time. If savings earn 2% while inflation is 3%, their purchasing power falls by roughly 1% a year."),
    ("What is a bond?", "A bond is a loan to a government or company. The issuer pays interest, called "
     "the coupon, and repays the face value at maturity. When market interest rates rise, existing bond "
     "prices fall."),
    ("What is an emergency fund?", "An emergency fund is cash set aside for unexpected costs such as job "
     "loss or repairs. A common guideline is three to six months of essential expenses, kept in an easy "
     "to access account."),
    ("What is a dividend?", "A dividend is a payment a company makes to its shareholders, usually from "
     "profits, for example a fixed amount per share each quarter."),
    ("What does liquidity mean in finance?", "Liquidity is how quickly an asset can be turned into cash "
     "without losing much value. Cash is the most liquid; property is much less liquid."),
]


# ============================================================================= reasoning
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def reasoning_sequence(rng):
    if rng.random() < 0.5:
        a, d = rng.randint(-10, 30), rng.choice([-7, -4, 3, 5, 6, 9, 11])
        seq = [a + d * i for i in range(5)]
        nxt = [a + d * i for i in (5, 6)]
        rule = f"each term {'adds' if d > 0 else 'subtracts'} {abs(d)}"
    else:
        a, r = rng.choice([1, 2, 3, 5]), rng.choice([2, 3, -2])
        seq = [a * r ** i for i in range(5)]
        nxt = [a * r ** i for i in (5, 6)]
        rule = f"each term is multiplied by {r}"
    q = f"What are the next two numbers in the sequence {', '.join(map(str, seq))}, ...?"
    ans = f"The pattern is that {rule}. The next two numbers are {nxt[0]} and {nxt[1]}."
    return REASONING, [H(q), G(ans)]


def reasoning_weekday(rng):
    today, n = rng.choice(WEEKDAYS), rng.choice([10, 23, 45, 50, 100, 365, 1000])
    later = WEEKDAYS[(WEEKDAYS.index(today) + n) % 7]
    q = f"Today is {today}. What day of the week will it be in {n} days?"
    ans = (f"Days of the week repeat every 7 days, so only the remainder matters: {n} = 7 x {n // 7} + "
           f"{n % 7}. Moving {n % 7} day{'s' if n % 7 != 1 else ''} forward from {today} gives {later}.")
    return REASONING, [H(q), G(ans)]


def reasoning_clock(rng):
    h, m = rng.randint(1, 12), rng.choice([0, 10, 15, 20, 30, 40, 45, 50])
    hour_angle = 30 * (h % 12) + 0.5 * m
    diff = abs(hour_angle - 6 * m)
    angle = min(diff, 360 - diff)
    q = f"What is the smaller angle between the hour and minute hands of a clock at {h}:{m:02d}?"
    ans = (f"The minute hand is at 6 x {m} = {6 * m} degrees. The hour hand moves 30 degrees per hour "
           f"plus 0.5 degrees per minute: 30 x {h % 12} + 0.5 x {m} = {num(hour_angle)} degrees. The "
           f"difference is {num(diff)} degrees, so the smaller angle is {num(angle)} degrees.")
    return REASONING, [H(q), G(ans)]


def reasoning_handshakes(rng):
    n = rng.randint(5, 40)
    q = f"At a meeting, each of {n} people shakes hands once with every other person. How many handshakes are there?"
    ans = (f"Each handshake is a pair of people, so count pairs: n(n - 1)/2 = {n} x {n - 1} / 2 = "
           f"{n * (n - 1) // 2}.")
    return REASONING, [H(q), G(ans)]


def reasoning_arrangements(rng):
    word = rng.choice(["CODE", "MODEL", "PYTHON", "LETTER", "BANANA", "TENSOR", "SEOUL", "COFFEE",
                       "LLAMA", "ADAPTER"])
    counts = Counter(word)
    total = math.factorial(len(word))
    for c in counts.values():
        total //= math.factorial(c)
    repeats = {ch: c for ch, c in counts.items() if c > 1}
    q = f"In how many distinct ways can the letters of the word {word} be arranged?"
    if not repeats:
        ans = (f"{word} has {len(word)} different letters, so there are {len(word)}! = {total:,} "
               f"arrangements.")
    else:
        rep = ", ".join(f"{ch} appears {c} times" for ch, c in sorted(repeats.items()))
        denom = " x ".join(f"{c}!" for _, c in sorted(repeats.items()))
        ans = (f"{word} has {len(word)} letters, but {rep}. Swapping identical letters gives the same "
               f"word, so divide: {len(word)}! / ({denom}) = {total:,}.")
    return REASONING, [H(q), G(ans)]


LOGIC = [
    ("All roses are flowers. Some flowers fade quickly. Can we conclude that some roses fade quickly?",
     "No. The flowers that fade quickly might all be other flowers, so the premises do not say anything "
     "about roses in particular. The conclusion may be true, but it does not follow."),
    ("If it rains, the ground gets wet. The ground is wet. Did it rain?",
     "Not necessarily. Concluding that it rained is the fallacy of affirming the consequent: a sprinkler "
     "or a spilled bucket could also make the ground wet. Only the reverse direction is valid: if the "
     "ground is dry, it did not rain."),
    ("Three boxes are labelled 'apples', 'oranges' and 'mixed', and every label is wrong. You may take "
     "one fruit from one box. How do you fix all the labels?",
     "Take a fruit from the box labelled 'mixed'. Its label is wrong, so it holds only one kind; say you "
     "draw an apple, so it is the apples box. The box labelled 'oranges' cannot hold oranges and cannot "
     "hold apples any more, so it is the mixed box, and the box labelled 'apples' holds the oranges."),
    ("A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost?",
     "The ball costs 5 cents. If the ball costs x, the bat costs x + 1.00, so 2x + 1.00 = 1.10 and x = "
     "0.05. The intuitive answer of 10 cents would make the total $1.20."),
    ("You have a 3-litre jug and a 5-litre jug and unlimited water. How do you measure exactly 4 litres?",
     "Fill the 5-litre jug and pour it into the 3-litre jug, leaving 2 litres. Empty the 3-litre jug and "
     "pour the 2 litres into it. Fill the 5-litre jug again and top up the 3-litre jug, which takes 1 "
     "litre. Exactly 4 litres remain in the 5-litre jug."),
]


# ============================================================================= system prompts
SYSTEM_ROWS = [
    [S("You are a concise assistant. Answer in exactly one sentence."),
     H("Why do we need sleep?"),
     G("Sleep lets the body and brain recover, consolidate memories and regulate hormones, and too "
       "little of it harms attention, mood and health.")],
    [S("You are a friendly tutor for beginner programmers. Use simple words and one short example."),
     H("What is a variable?"),
     G("A variable is a name that points to a value, like a labelled box. In Python, `age = 20` stores "
       "20 under the name `age`, and `print(age + 1)` prints 21.")],
    [S("You are a careful assistant. If a question lacks information, say exactly what is missing."),
     H("How long will it take me to drive to the airport?"),
     G("I need two things to estimate that: the distance from your starting point to the airport and "
       "your expected average speed, or simply the two locations so the route can be looked up. Traffic "
       "at your departure time also matters.")],
    [S("Reply only with the French translation of the user's text."),
     H("Good morning, how are you?"),
     G("Bonjour, comment allez-vous ?")],
    [S("Answer with a JSON object that has the keys \"answer\" and \"confidence\"."),
     H("What is the capital of Australia?"),
     G('{"answer": "Canberra", "confidence": "high"}')],
    [S("You are a math tutor. Never give the final answer; give one hint that moves the student forward."),
     H("Solve 3x + 5 = 20."),
     G("Start by undoing the + 5: what do you get if you subtract 5 from both sides of the equation?")],
    [S("Classify the sentiment of the user's message as positive, negative or neutral. Reply with one word."),
     H("The delivery was late again and nobody answered my emails."),
     G("negative")],
    [S("Classify the sentiment of the user's message as positive, negative or neutral. Reply with one word."),
     H("The package arrived on Tuesday."),
     G("neutral")],
    [S("Classify the sentiment of the user's message as positive, negative or neutral. Reply with one word."),
     H("I love how quiet this new keyboard is!"),
     G("positive")],
    [S("Summarize the user's text in one sentence."),
     H("Our team moved the nightly data export from a cron job on an old server to a managed workflow "
       "service. The export now retries automatically when the database is busy, logs every run, and "
       "sends an alert only after three failed attempts. Since the change, no export has been missed."),
     G("The nightly export now runs on a managed workflow service with automatic retries, logging and "
       "alerts, and has not missed a run since.")],
    [S("You are a cooking assistant. Keep every answer under 60 words."),
     H("How do I keep pasta from sticking?"),
     G("Use plenty of water, about a litre per 100 g, bring it to a full boil before adding the pasta, "
       "and stir during the first two minutes. Skip the oil; it mostly floats on top.")],
    [S("You are an assistant for a machine-learning course. Be precise and brief."),
     H("Why is lora_dropout often set to 0?"),
     G("With small datasets and few steps, dropout on the LoRA path gives little regularization benefit, "
       "and 0 lets optimized kernels such as Unsloth's skip the dropout operation, so training is faster.")],
    [S("You are an assistant for a machine-learning course. Be precise and brief."),
     H("My training loss is NaN from the first step. What should I check first?"),
     G("Check that some labels are not -100 in every batch (a wrong response marker can mask everything), "
       "then lower the learning rate, and make sure FP16 is not overflowing; BF16 or loss scaling fixes "
       "that."),
     H("How do I check the labels?"),
     G("Take one batch from the trainer's dataloader and count the labels that are not -100 in each row. "
       "Any row with a count of 0 contributes no loss, and if every row is 0 the loss is undefined.")],
    [S("You are a helpful assistant. Use a numbered list for any procedure."),
     H("How do I create a Python virtual environment?"),
     G("1. Run `python3 -m venv .venv` in your project folder.\n2. Activate it: `source .venv/bin/activate` "
       "on Linux or macOS, `.venv\\Scripts\\activate` on Windows.\n3. Install packages with "
       "`pip install ...`; they stay inside `.venv`.\n4. Leave it with `deactivate`.")],
]


# ============================================================================= Korean
KO_SPELLING = [
    ("'되'와 '돼'는 어떻게 구분하나요?",
     "'돼'는 '되어'의 준말입니다. 그래서 '되어'로 바꿔 말이 되면 '돼', 안 되면 '되'를 씁니다. 예를 들어 "
     "'안 돼요'는 '안 되어요'로 바꿀 수 있으므로 '돼'가 맞고, '되는 일'은 '되어는 일'이 어색하므로 '되'가 맞습니다."),
    ("'안'과 '않'의 차이를 알려 주세요.",
     "'안'은 '아니'의 준말로 동사나 형용사 앞에서 부정을 나타냅니다(예: 안 먹다). '않'은 '아니하'의 준말로 "
     "'-지 않다' 꼴로 씁니다(예: 먹지 않다). 문장에서 빼도 말이 되면 대체로 '안'입니다."),
    ("'몇일'과 '며칠' 중 무엇이 맞나요?",
     "'며칠'이 맞습니다. '몇 일'이라면 '몇 월[며둴]'처럼 [며딜]로 소리 나야 하는데 실제로는 [며칠]로 발음하므로, 표준어 규정에 따라 "
     "언제나 '며칠'로 적습니다. 예: 오늘이 며칠이에요?"),
    ("'왠지'와 '웬지' 중 바른 표기는 무엇인가요?",
     "'왠지'가 맞습니다. '왜인지'가 줄어든 말이기 때문입니다. 반면 '웬'은 '어찌 된'이라는 뜻의 관형사라서 "
     "'웬일', '웬 떡이야'처럼 씁니다."),
    ("'로서'와 '로써'는 어떻게 다른가요?",
     "'로서'는 자격이나 지위를 나타냅니다(예: 교사로서 책임을 다했다). '로써'는 수단이나 도구를 나타냅니다"
     "(예: 대화로써 갈등을 풀었다). '~의 자격으로'로 바꿀 수 있으면 '로서'입니다."),
    ("'금새'와 '금세' 중 어느 것이 맞나요?",
     "'금세'가 맞습니다. '금시에'가 줄어든 말이라서 '세'로 적습니다. 예: 아이가 금세 잠들었다."),
    ("'어떡해'와 '어떻게'는 언제 쓰나요?",
     "'어떻게'는 방법이나 상태를 묻는 부사입니다(예: 이거 어떻게 해요?). '어떡해'는 '어떻게 해'가 줄어든 "
     "말이라서 문장을 끝낼 때 씁니다(예: 지갑을 잃어버렸어, 어떡해!)."),
    ("'바래요'라고 쓰면 틀린가요?",
     "'바라다'의 활용형은 '바라요', '바랍니다'가 맞습니다. '바래다'는 '색이 바래다'처럼 빛이 변한다는 "
     "뜻이므로, '합격하길 바래요'는 '합격하길 바라요'로 고쳐야 합니다."),
    ("'일부로'와 '일부러'를 구분해 주세요.",
     "'일부러'는 '일부러 그런 게 아니야'처럼 '의도적으로'라는 뜻의 부사입니다. '일부로'는 '전체의 일부로 "
     "포함되다'처럼 명사 '일부'에 조사 '로'가 붙은 말입니다. 의도를 말할 때는 '일부러'를 씁니다."),
    ("'역활'이 맞나요, '역할'이 맞나요?",
     "'역할(役割)'이 맞습니다. 발음이 [여칼]이라 '역활'로 잘못 쓰기 쉽지만 표준어는 '역할'입니다."),
    ("'설겆이'와 '설거지' 중 표준어는?",
     "'설거지'가 표준어입니다. 예전에는 '설겆이'라고도 썼지만 지금은 '설거지'만 표준어로 인정합니다."),
    ("'봬요'와 '뵈요' 중 무엇이 맞나요?",
     "'봬요'가 맞습니다. '뵈다'의 어간 '뵈-'에는 '-요'가 바로 붙을 수 없고 '-어'가 먼저 붙어 '뵈어요'가 "
     "되는데, 이를 줄인 말이 '봬요'입니다. 그래서 '내일 봬요'라고 씁니다."),
    ("'할수있다'는 어떻게 띄어 쓰나요?",
     "'할 수 있다'로 띄어 씁니다. '수'는 의존 명사라서 앞말과 띄어 쓰고, '있다'도 별개의 단어이므로 띄어 씁니다."),
    ("'낫다', '낳다', '낮다'의 뜻을 비교해 주세요.",
     "'낫다'는 병이 회복되거나 더 좋다는 뜻입니다(감기가 낫다, 이게 더 낫다). '낳다'는 아이나 알을 낳거나 "
     "결과를 가져온다는 뜻입니다(좋은 결과를 낳다). '낮다'는 높이나 수준이 아래에 있다는 뜻입니다(천장이 낮다)."),
]

KO_HONORIFIC = [
    ("'밥 먹었어?'를 할머니께 드리는 존댓말로 바꿔 주세요.",
     "'진지 드셨어요?' 또는 더 공손하게 '진지 잡수셨어요?'라고 합니다. '밥'은 높임말 '진지'로, '먹다'는 "
     "'드시다'나 '잡수시다'로 바꿉니다."),
    ("'선생님이 집에 있다'를 높임 표현으로 고쳐 주세요.",
     "'선생님께서 댁에 계신다'가 자연스럽습니다. 주격 조사 '이'는 '께서'로, '집'은 '댁'으로, 사람이 있다는 "
     "뜻의 '있다'는 '계시다'로 높입니다."),
    ("'계시다'와 '있으시다'는 어떻게 다르게 쓰나요?",
     "높일 사람 자신이 어떤 곳에 있을 때는 '계시다'를 씁니다(예: 사장님은 회의실에 계십니다). 높일 사람에게 "
     "딸린 대상이 있을 때는 '있으시다'를 씁니다(예: 사장님은 오늘 회의가 있으십니다). '회의가 계시다'는 틀린 표현입니다."),
    ("'내일 다시 와.'를 손님에게 쓰는 말로 바꿔 주세요.",
     "'내일 다시 오세요.' 또는 더 정중하게 '내일 다시 와 주시겠어요?'라고 할 수 있습니다. 격식을 갖춘 자리라면 "
     "'내일 다시 방문해 주십시오.'도 좋습니다."),
    ("'이거 알아?'를 존댓말로 바꾸면요?",
     "'이거 아세요?'라고 하면 됩니다. '알다'에 높임의 '-시-'가 붙어 '아시다'가 되고, '아세요'로 활용됩니다. "
     "문어체로는 '이것을 아십니까?'입니다."),
    ("회사에서 상사에게 '수고하세요'라고 인사해도 되나요?",
     "윗사람에게 '수고하세요'는 피하는 편이 좋다고 보는 사람이 많습니다. 수고를 하라고 시키는 말처럼 들릴 수 "
     "있기 때문입니다. 퇴근할 때는 '먼저 들어가 보겠습니다' 또는 '내일 뵙겠습니다'처럼 말하면 무난합니다."),
    ("'말씀'은 높임말인가요, 낮춤말인가요?",
     "둘 다입니다. 남의 말을 높일 때 '선생님 말씀'처럼 쓰고, 자기 말을 낮출 때도 '제가 말씀드리겠습니다'처럼 "
     "씁니다. 문맥에 따라 높임말도 되고 겸양어도 됩니다."),
    ("'아버지가 주무신다'와 '아버지가 잔다' 중 어떤 표현을 써야 하나요?",
     "윗사람인 아버지를 높여야 하므로 '아버지께서 주무신다'가 바릅니다. '자다'의 높임말은 '주무시다'이고, "
     "주격 조사도 '께서'로 바꾸면 더 공손합니다."),
]


def ko_shopping(rng):
    name = rng.choice(KO_NAMES)
    a, p = rng.randint(2, 6), rng.choice([800, 1200, 1500, 2500, 3000])
    b, q = rng.randint(1, 4), rng.choice([900, 1800, 2200, 3500])
    total = a * p + b * q
    bill = next(x for x in (10000, 20000, 50000) if x > total)
    fruit1, fruit2 = rng.sample(["사과", "배", "귤", "복숭아", "키위"], 2)
    qt = (f"{josa(name, '은', '는')} {fruit1} {a}개를 개당 {won(p)}에, {fruit2} {b}개를 개당 {won(q)}에 샀습니다. "
          f"{won(bill)}을 냈다면 거스름돈은 얼마인가요?")
    at = (f"{fruit1} 값은 {a} × {won(p)} = {won(a * p)}이고, {fruit2} 값은 {b} × {won(q)} = {won(b * q)}입니다. "
          f"합계는 {won(total)}이므로 거스름돈은 {won(bill)} - {won(total)} = {won(bill - total)}입니다.")
    return INFINI, [H(qt), G(at)]


def ko_speed(rng):
    v, t = rng.choice([60, 80, 90, 100, 120]), rng.choice([1.5, 2, 2.5, 3, 4])
    d = v * t
    if d != int(d):
        return None
    qt = f"자동차가 {int(d)}km를 {num(t)}시간 동안 달렸습니다. 평균 속력은 시속 몇 km인가요?"
    at = f"평균 속력은 거리 ÷ 시간입니다. {int(d)} ÷ {num(t)} = {v}이므로 시속 {v}km입니다."
    turns = [H(qt), G(at)]
    if rng.random() < 0.4:
        v2 = rng.choice([x for x in (50, 70, 110) if x != v])
        minutes = Fraction(int(d), v2) * 60
        hh, mm = divmod(round(minutes), 60)
        turns += [H(f"같은 거리를 시속 {v2}km로 가면 얼마나 걸리나요?"),
                  G(f"시간 = 거리 ÷ 속력 = {int(d)} ÷ {v2}시간입니다. 분으로 바꾸면 {num(minutes, 1)}분, "
                    f"약 {hh}시간 {mm}분이 걸립니다.")]
    return INFINI, turns


def ko_discount(rng):
    price = rng.choice([12000, 25000, 38000, 45000, 89000, 120000])
    pct = rng.choice([10, 15, 20, 30, 35])
    item = rng.choice(["운동화", "가방", "전기 주전자", "겨울 외투", "무선 이어폰"])
    sale = price * (100 - pct) // 100
    qt = f"{won(price)}짜리 {josa(item, '을', '를')} {pct}% 할인하면 얼마인가요?"
    at = (f"할인 금액은 {won(price)} × {pct}% = {won(price * pct // 100)}입니다. 따라서 할인가는 "
          f"{won(price)} - {won(price * pct // 100)} = {won(sale)}입니다.")
    return INFINI, [H(qt), G(at)]


def ko_mean(rng):
    subjects = ["국어", "영어", "수학", "과학"]
    scores = [rng.randint(60, 100) for _ in subjects]
    mean = Fraction(sum(scores), 4)
    name = rng.choice(KO_NAMES)
    parts = ", ".join(f"{s} {x}점" for s, x in zip(subjects, scores))
    qt = f"{name}의 시험 점수는 {parts}입니다. 네 과목의 평균은 몇 점인가요?"
    at = f"총점은 {' + '.join(map(str, scores))} = {sum(scores)}점이고, 평균은 {sum(scores)} ÷ 4 = {num(mean)}점입니다."
    return INFINI, [H(qt), G(at)]


def ko_clock(rng):
    h, m = rng.randint(7, 20), rng.choice([0, 15, 20, 40, 45, 50])
    dur = rng.choice([35, 50, 75, 95, 130, 170])
    end = h * 60 + m + dur
    eh, em = divmod(end, 60)
    start, arrive = (f"{h}시" if m == 0 else f"{h}시 {m}분"), (f"{eh}시" if em == 0 else f"{eh}시 {em}분")
    qt = f"{start}에 출발해서 {dur}분 걸리는 기차를 탔습니다. 도착 시각은 몇 시 몇 분인가요?"
    at = (f"{dur}분은 {dur // 60}시간 {dur % 60}분입니다. {start}에 더하면 {arrive}에 도착합니다."
          if dur >= 60 else f"{start}에 {dur}분을 더하면 {arrive}에 도착합니다.")
    return INFINI, [H(qt), G(at)]


def ko_area(rng):
    l, w = rng.randint(3, 15), rng.randint(2, 10)
    if l == w:
        return None
    qt = f"가로 {l}m, 세로 {w}m인 직사각형 방의 넓이와 둘레를 구해 주세요."
    at = f"넓이는 가로 × 세로 = {l} × {w} = {l * w}제곱미터이고, 둘레는 2 × ({l} + {w}) = {2 * (l + w)}m입니다."
    return rng.choice([INFINI, ULTRA]), [H(qt), G(at)]


def ko_units(rng):
    kind = rng.randrange(3)
    if kind == 0:
        pyeong = rng.choice([10, 18, 24, 25, 32, 34])
        m2 = pyeong * 400 / 121
        return WEBINSTRUCT, [H(f"{pyeong}평은 몇 제곱미터인가요?"),
                             G(f"1평은 400/121제곱미터, 약 3.3058제곱미터입니다. 따라서 {pyeong}평은 "
                               f"{pyeong} × 400 ÷ 121 ≈ {num(m2)}제곱미터입니다.")]
    if kind == 1:
        c = rng.choice([-5, 0, 20, 36.5, 100])
        return WEBINSTRUCT, [H(f"섭씨 {num(c, 1)}도는 화씨 몇 도인가요?"),
                             G(f"화씨 = 섭씨 × 9/5 + 32이므로 {num(c, 1)} × 9/5 + 32 = {num(c * 9 / 5 + 32)}°F입니다.")]
    geun = rng.choice([0.5, 1, 1.5, 2, 3])
    return INFINI, [H(f"고기 {num(geun)}근은 몇 g인가요?"),
                    G(f"고기를 잴 때 1근은 600g입니다. 따라서 {num(geun)}근은 {num(geun)} × 600 = {num(geun * 600)}g입니다. "
                      "다만 채소나 과일을 잴 때의 1근은 375g이라서 품목에 따라 다릅니다.")]


KO_COOKING = [
    ("라면을 맛있게 끓이는 방법을 알려 주세요.",
     "봉지에 적힌 물의 양(보통 500~550mL)을 냄비에 붓고 센 불로 끓입니다. 물이 끓으면 면과 수프를 함께 넣고 "
     "봉지에 적힌 시간만큼 끓이면서 면이 뭉치지 않게 한두 번 풀어 줍니다. "
     "취향에 따라 마지막 1분에 달걀이나 파를 넣으세요."),
    ("김치볶음밥 만드는 순서를 알려 주세요.",
     "1. 잘게 썬 김치를 식용유에 중불로 3~4분 볶습니다. 2. 설탕을 조금 넣으면 신맛이 부드러워집니다. "
     "3. 밥을 넣고 김치 국물이나 고추장으로 간을 맞추며 고루 볶습니다. 4. 참기름을 두르고 불을 끈 뒤, "
     "달걀 프라이를 올려 냅니다."),
    ("달걀을 반숙과 완숙으로 삶으려면 몇 분 걸리나요?",
     "끓는 물에 냉장 달걀을 넣는 경우, 노른자가 흐르는 반숙은 6~7분, 완숙은 10~12분 정도가 기준입니다. "
     "삶은 뒤 바로 찬물에 담그면 더 익지 않고 껍질도 잘 벗겨집니다. 달걀 크기와 불 세기에 따라 1~2분 차이가 납니다."),
    ("된장찌개를 끓일 때 재료는 어떤 순서로 넣나요?",
     "멸치 육수나 물에 된장을 풀고 먼저 감자나 무처럼 단단한 재료를 넣어 끓입니다. 재료가 반쯤 익으면 "
     "애호박과 양파를 넣고, 두부와 고추, 파는 마지막에 넣어 한소끔만 더 끓입니다. 된장은 오래 끓이면 향이 "
     "날아가므로 간은 마지막에 맞춥니다."),
    ("냄비로 밥을 지을 때 물은 얼마나 넣나요?",
     "씻은 쌀 부피의 1.1~1.2배 정도가 기준입니다. 쌀을 30분쯤 불렸다면 물을 조금 줄입니다. 센 불로 끓이다가 "
     "끓어오르면 약불로 줄여 10~12분 더 익히고, 불을 끈 뒤 뚜껑을 덮은 채 10분 뜸을 들입니다."),
    ("계란말이를 예쁘게 마는 요령이 있나요?",
     "달걀물을 체에 한 번 거르면 표면이 매끈해집니다. 팬을 약불로 충분히 달군 뒤 기름을 얇게 바르고, "
     "달걀물을 세 번쯤 나눠 부어 가며 반쯤 익었을 때 말아 줍니다. 다 만 뒤 뜨거울 때 김발로 감싸 두면 모양이 잡힙니다."),
    ("미역국을 끓일 때 미역은 얼마나 불려야 하나요?",
     "마른 미역은 찬물에 20~30분 불리면 양이 여러 배로 늘어납니다. 불린 미역을 바락바락 주물러 씻은 뒤 먹기 "
     "좋게 자르고, 참기름에 소고기와 함께 볶다가 물을 부어 끓입니다. 간은 국간장으로 하고 모자라면 소금으로 맞춥니다."),
    ("떡볶이 양념 비율을 알려 주세요.",
     "2인분 기준으로 물 400mL에 고추장 2큰술, 고춧가루 1큰술, 설탕 1~2큰술, 간장 1큰술 정도가 무난합니다. "
     "양념이 끓으면 떡과 어묵을 넣고 국물이 걸쭉해질 때까지 중불에서 졸입니다. 단맛과 매운맛은 취향에 따라 조절하세요."),
]

KO_ML = [
    ("미세조정(fine-tuning)이 무엇인가요?",
     "미세조정은 이미 사전 학습된 모델을 특정 작업이나 도메인의 작은 데이터로 조금 더 학습시키는 일입니다. "
     "처음부터 학습하는 것보다 훨씬 적은 데이터와 계산으로 모델의 말투, 형식, 전문 지식을 바꿀 수 있습니다."),
    ("LoRA를 쉽게 설명해 주세요.",
     "LoRA는 원래 가중치 W를 얼려 두고, 작은 두 행렬 B와 A의 곱(BA)만 학습해 W에 더하는 방법입니다. "
     "랭크 r이 작아서 학습할 파라미터 수가 크게 줄고, B를 0으로 초기화하므로 학습 시작 시점의 모델은 원래 모델과 "
     "똑같습니다. 학습이 끝나면 BA를 W에 합쳐 추론 속도 손해 없이 쓸 수 있습니다."),
    ("양자화(quantization)는 왜 하나요?",
     "양자화는 가중치를 16비트 실수 대신 8비트나 4비트처럼 더 적은 비트로 저장하는 기법입니다. 메모리가 2~4배 "
     "줄어들어 작은 GPU에서도 큰 모델을 올릴 수 있습니다. 대신 약간의 정확도 손실이 생길 수 있습니다."),
    ("학습률(learning rate)이 너무 크면 어떤 일이 생기나요?",
     "한 번에 너무 크게 움직여서 손실이 줄지 않고 요동치거나, 심하면 발산해 NaN이 나옵니다. 손실이 불안정하면 "
     "학습률을 낮추거나 워밍업 단계를 늘려 보세요."),
    ("에폭(epoch)과 스텝(step)은 어떻게 다른가요?",
     "에폭은 학습 데이터 전체를 한 번 다 보는 것이고, 스텝은 옵티마이저가 가중치를 한 번 갱신하는 것입니다. "
     "유효 배치 크기가 8이고 데이터가 800개라면 1에폭은 100스텝입니다."),
    ("과적합(overfitting)은 어떻게 알아차리나요?",
     "학습 손실은 계속 내려가는데 검증 손실이 어느 순간부터 다시 올라가면 과적합을 의심합니다. 학습 데이터를 "
     "외우기 시작했다는 신호이므로 에폭을 줄이거나 데이터를 늘리는 것이 좋습니다."),
    ("토크나이저(tokenizer)는 무슨 일을 하나요?",
     "토크나이저는 문장을 모델이 이해하는 정수 ID의 나열(토큰)로 바꾸고, 다시 문장으로 되돌립니다. 같은 문장도 "
     "토크나이저마다 토큰 수가 다르고, 한국어는 영어보다 토큰이 더 많이 나오는 경우가 흔합니다."),
    ("대화 템플릿(chat template)을 맞추는 것이 왜 중요한가요?",
     "모델은 학습 때 본 역할 표시 형식(예: Qwen의 im_start, im_end 토큰)으로 대화 구조를 알아봅니다. 미세조정 데이터를 "
     "다른 형식으로 만들면 모델이 역할 경계를 헷갈려 답변 품질이 떨어지므로, 추론 때와 똑같은 템플릿을 써야 합니다."),
    ("응답만 학습(train on responses only)한다는 게 무슨 뜻인가요?",
     "사용자 질문과 시스템 메시지 토큰의 레이블을 -100으로 바꿔 손실 계산에서 빼고, 어시스턴트 답변 토큰에서만 "
     "손실을 계산한다는 뜻입니다. 모델이 질문을 흉내 내는 데 용량을 쓰지 않고 답하는 법에 집중합니다."),
    ("그래디언트 누적(gradient accumulation)은 왜 쓰나요?",
     "GPU 메모리가 부족해 배치를 크게 못 잡을 때, 작은 배치 여러 개의 그래디언트를 더한 뒤 한 번에 갱신합니다. "
     "배치 2에 누적 4를 쓰면 메모리는 배치 2만큼 쓰면서 유효 배치 8의 효과를 냅니다."),
    ("PEFT는 무엇의 약자인가요?",
     "Parameter-Efficient Fine-Tuning, 즉 파라미터 효율적 미세조정의 약자입니다. 모델 대부분을 얼려 두고 전체의 "
     "작은 일부만 학습하는 방법을 묶어 부르는 이름이며, LoRA가 대표적입니다."),
]


def ko_lora(rng):
    d, r = rng.choice([1024, 2560, 4096]), rng.choice([4, 8, 16])
    lora = 2 * d * r
    qt = f"{d} × {d} 가중치 행렬에 랭크 {r}인 LoRA를 붙이면 학습할 파라미터는 몇 개인가요?"
    at = (f"B는 {d} × {r}, A는 {r} × {d}이므로 {d} × {r} + {r} × {d} = {lora:,}개입니다. 원래 행렬의 "
          f"{d * d:,}개와 비교하면 {100 * lora / (d * d):.2f}%에 불과합니다.")
    return INFINI, [H(qt), G(at)]


KO_EVERYDAY = [
    ("이메일 첫인사를 정중하게 쓰는 방법을 알려 주세요.",
     "처음 연락하는 상대라면 '안녕하세요, ○○팀 홍길동입니다.'처럼 인사와 소속, 이름을 먼저 밝힙니다. 이어서 "
     "'다름이 아니라 ~ 건으로 연락드립니다.'처럼 용건을 한 문장으로 말하면 읽는 사람이 편합니다."),
    ("분리배출할 때 페트병은 어떻게 버려야 하나요?",
     "내용물을 비우고 물로 헹군 뒤 라벨을 떼고, 찌그러뜨려 뚜껑을 닫아 배출합니다. 투명 페트병은 유색 "
     "플라스틱과 따로 모으는 지역이 많으니 사는 곳의 배출 요일과 방법을 확인하세요."),
    ("집중이 잘 안 될 때 공부하는 요령이 있을까요?",
     "25분 집중하고 5분 쉬는 식으로 시간을 짧게 나눠 보세요. 휴대폰은 다른 방에 두고, 시작 전에 이번 시간에 "
     "끝낼 일을 한 줄로 적어 두면 도움이 됩니다."),
]

KO_SYSTEM = [
    [S("당신은 한국어로만 답하는 친절한 도우미입니다. 답은 세 문장 이내로 합니다."),
     H("비 오는 날 운동화가 젖었어요. 빨리 말리는 방법이 있나요?"),
     G("신문지를 구겨 신발 안에 채우고, 젖으면 자주 갈아 주세요. 선풍기 바람을 쐬면 더 빨리 마릅니다. "
       "드라이어의 뜨거운 바람이나 직사광선은 접착 부분을 상하게 할 수 있으니 피하세요.")],
    [S("당신은 맞춤법 교정기입니다. 사용자의 문장을 바르게 고친 문장만 출력합니다."),
     H("오늘 몇일이에요? 내일 뵈요."),
     G("오늘 며칠이에요? 내일 봬요.")],
    [S("당신은 초등학생을 가르치는 수학 선생님입니다. 쉬운 말로 단계별로 설명합니다."),
     H("3/4와 2/3 중 어느 쪽이 더 큰가요?"),
     G("두 분수의 분모를 같게 만들어 비교해 봅시다. 4와 3의 최소공배수는 12입니다. 3/4는 9/12, 2/3는 8/12가 "
       "됩니다. 9/12가 8/12보다 크니까 3/4가 더 큽니다."),
     H("그럼 둘을 더하면요?"),
     G("같은 분모로 바꾼 수를 그대로 더하면 됩니다. 9/12 + 8/12 = 17/12이고, 대분수로 쓰면 1과 5/12입니다.")],
    [S("You are a helpful assistant. Answer in the language the user writes in."),
     H("파이썬에서 리스트를 뒤집는 방법은?"),
     G("두 가지가 많이 쓰입니다. `items.reverse()`는 리스트 자체를 뒤집고 None을 돌려줍니다. `items[::-1]`은 "
       "뒤집힌 새 리스트를 만들고 원래 리스트는 그대로 둡니다.")],
]


def ko_multiturn_recipe(s: Sample) -> None:
    s.add(AIROBOROS,
          H("카레를 4인분 만들려고 해요. 기본 재료를 알려 주세요."),
          G("카레 가루(고형 카레) 1봉, 감자 2개, 당근 1개, 양파 2개, 고기 300g 정도면 4인분으로 충분합니다. "
            "물은 제품 포장에 적힌 양을 따르세요."),
          H("고기 없이 만들어도 맛있나요?"),
          G("네, 양파를 갈색이 될 때까지 충분히 볶으면 단맛과 감칠맛이 살아나서 고기 없이도 맛있습니다. "
            "버섯이나 병아리콩을 넣으면 씹는 맛도 보충됩니다."))


# ============================================================================= assemble
def build(seed: int = SEED) -> list[dict]:
    s = Sample(seed)
    # English arithmetic and word problems (answers computed above)
    draw(s, math_shopping, 7)
    draw(s, math_speed, 9)
    draw(s, math_cycling, 6)
    draw(s, math_discount, 9)
    draw(s, math_mean, 6)
    draw(s, math_garden, 6)
    draw(s, math_ages, 6)
    draw(s, math_pipes, 6)
    draw(s, math_gauss, 6)
    draw(s, math_ratio, 6)
    draw(s, math_boxes, 6)
    draw(s, math_recipe, 6)
    # conversions and physics
    draw(s, convert_units, 22)
    draw(s, convert_temperature, 10)
    draw(s, convert_time_data, 10)
    draw(s, physics, 16)
    for q, a in SCIENCE:
        s.add(WEBINSTRUCT, H(q), G(a))
    # Python
    python_rows(s)
    python_concepts(s)
    # ML / fine-tuning
    ml_rows(s)
    draw(s, lora_params, 6)
    draw(s, weight_memory, 8)
    # everyday how-to
    for i, (q, a) in enumerate(HOWTO):
        s.add(AIROBOROS if i % 2 else INFINI, H(q), G(a))
    # finance
    draw(s, compound_interest, 8)
    draw(s, doubling_time, 4)
    draw(s, loan_payment, 5)
    draw(s, percent_change, 5)
    for q, a in FIN_TERMS:
        s.add(FINANCE, H(q), G(a))
    # reasoning
    draw(s, reasoning_sequence, 7)
    draw(s, reasoning_weekday, 5)
    draw(s, reasoning_clock, 5)
    draw(s, reasoning_handshakes, 3)
    draw(s, reasoning_arrangements, 6)
    for q, a in LOGIC:
        s.add(REASONING, H(q), G(a))
    # system prompts
    for turns in SYSTEM_ROWS:
        s.add(SYSTEMCHAT, *turns)
    n_english = len(s.rows)
    # Korean
    for i, (q, a) in enumerate(KO_SPELLING):
        s.add(INFINI if i % 4 else AIROBOROS, H(q), G(a))
    for q, a in KO_HONORIFIC:
        s.add(INFINI, H(q), G(a))
    draw(s, ko_shopping, 5)
    draw(s, ko_speed, 4)
    draw(s, ko_discount, 4)
    draw(s, ko_mean, 3)
    draw(s, ko_clock, 3)
    draw(s, ko_area, 2)
    draw(s, ko_units, 5)
    for i, (q, a) in enumerate(KO_COOKING):
        s.add(AIROBOROS if i % 2 else INFINI, H(q), G(a))
    for q, a in KO_ML:
        s.add(INFINI, H(q), G(a))
    draw(s, ko_lora, 2)
    for q, a in KO_EVERYDAY:
        s.add(INFINI, H(q), G(a))
    for turns in KO_SYSTEM:
        s.add(SYSTEMCHAT, *turns)
    ko_multiturn_recipe(s)

    # sanity: English rows carry no Hangul anywhere, Korean rows are classified as Korean
    for row in s.rows[:n_english]:
        assert not any(HANGUL.search(t["value"]) for t in row["conversations"]), row
    assert all(row_language(r) == "ko" for r in s.rows[n_english:])
    s.rng.shuffle(s.rows)  # mix topics so that any prefix of the file is varied
    return s.rows


def dumps(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def counts(rows: list[dict]) -> dict:
    by_source = Counter(r["source"] for r in rows)
    by_lang = Counter(row_language(r) for r in rows)
    return {
        "rows": len(rows),
        "by_source": dict(sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_language": {"en": by_lang["en"], "ko": by_lang["ko"]},
        "multi_turn": sum(1 for r in rows if sum(t["from"] == "gpt" for t in r["conversations"]) >= 2),
        "with_system": sum(1 for r in rows if any(t["from"] == "system" for t in r["conversations"])),
    }


def counts_markdown(rows: list[dict]) -> str:
    c = counts(rows)
    lines = ["| source | rows |", "| --- | ---: |"]
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
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{counts_markdown(rows)}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    rows = build()
    OUT_PATH.write_text(dumps(rows), encoding="utf-8")
    if README_PATH.exists():
        update_readme(rows)
    c = counts(rows)
    print(f"wrote {OUT_PATH.name}: {c['rows']} rows, {c['by_language']['ko']} Korean, "
          f"{len(c['by_source'])} sources")


if __name__ == "__main__":
    main()
