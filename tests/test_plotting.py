"""The figure toolkit: one palette, helpers that draw with the Korean font, no stray colours in book/."""
from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import is_color_like, to_hex, to_rgb  # noqa: E402
from matplotlib.font_manager import FontProperties, findfont  # noqa: E402

from ftcourse import plotting  # noqa: E402
from ftcourse.memory import TrainingMemory  # noqa: E402
from ftcourse.paths import REPO_ROOT as ROOT
from ftcourse.plotting import COLORS, Matrix  # noqa: E402

from .test_chapter_skeleton import read_page  # noqa: E402

MEANINGS = {"frozen", "trainable", "quantized", "measured", "estimated", "reference", "highlight", "ink"}


@pytest.fixture(autouse=True)
def korean_setup():
    plotting.setup()
    yield
    plt.close("all")


def draw_strictly(fig) -> None:
    """Render the figure; a glyph missing from the font (a box on the page) raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.canvas.draw()


# --- the palette -------------------------------------------------------------------------------

def test_the_palette_names_every_recurring_meaning():
    names = set(COLORS.as_dict())
    assert MEANINGS <= names, f"missing: {sorted(MEANINGS - names)}"
    assert set(plotting.MEMORY_COLORS) <= names
    for name, color in COLORS.as_dict().items():
        assert is_color_like(color), f"{name}: {color!r} is not a colour"
        assert COLORS[name] == color


def test_memory_colours_follow_the_estimator():
    components = [f.name for f in dataclasses.fields(TrainingMemory)]
    assert sorted(plotting.MEMORY_COLORS) == sorted(components)


@pytest.mark.parametrize("group", [
    ["frozen", "trainable", "quantized", "highlight"],
    list(plotting.MEMORY_COLORS) + ["measured", "highlight"],
    ["measured", "estimated", "reference", "highlight"],
    ["frozen", "trainable", "reference", "highlight"],
])
def test_meanings_drawn_together_have_different_colours(group):
    colors = [to_hex(COLORS[name]) for name in group]
    assert len(set(colors)) == len(colors), dict(zip(group, colors))


def test_the_palette_is_one_object():
    with pytest.raises(dataclasses.FrozenInstanceError):
        COLORS.frozen = "#000000"


def test_setup_uses_the_korean_font_and_the_palette_cycle():
    assert plt.rcParams["font.family"] == [plotting.FONT_FAMILY]
    found = findfont(FontProperties(family=plotting.FONT_FAMILY), fallback_to_default=False)
    assert "nanum" in Path(found).name.lower()
    cycle = [to_hex(c) for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle == [to_hex(c) for c in plotting.CYCLE]
    assert set(cycle) <= {to_hex(c) for c in COLORS.as_dict().values()}


def test_tint_mixes_with_white():
    assert plotting.tint(COLORS.frozen, 0) == to_hex(COLORS.frozen)
    assert plotting.tint(COLORS.frozen, 1) == "#ffffff"
    light = to_rgb(plotting.tint(COLORS.trainable, 0.5))
    assert all(a >= b for a, b in zip(light, to_rgb(COLORS.trainable)))
    with pytest.raises(ValueError):
        plotting.tint(COLORS.frozen, 1.5)


# --- the helpers -------------------------------------------------------------------------------

LORA = [
    Matrix("$W_0$", 4096, 2560, "frozen", row_label="$d_{out}$ = 4,096", note="얼림\n10,485,760개"),
    "+", r"$\frac{\alpha}{r}$",
    Matrix("$B$", 4096, 8, "trainable", note="학습 32,768개"),
    "·",
    Matrix("$A$", 8, 2560, "trainable", note="학습 20,480개"),
]


def test_draw_matrices_draws_a_lora_update_with_korean_labels():
    fig, ax = plt.subplots()
    boxes = plotting.draw_matrices(ax, LORA)
    draw_strictly(fig)
    assert set(boxes) == {"$W_0$", "$B$", "$A$"}
    x_w, _, w_w, h_w = boxes["$W_0$"]
    x_b, _, w_b, h_b = boxes["$B$"]
    x_a, _, w_a, h_a = boxes["$A$"]
    assert x_w < x_b < x_a, "boxes follow the reading order"
    assert h_b == pytest.approx(h_w) and w_a == pytest.approx(w_w), "shared dimensions have equal sides"
    assert w_b == pytest.approx(0.3) and h_a == pytest.approx(0.3), "the rank side is widened to min_side"
    assert max(h_w, w_w) == pytest.approx(2.6), "the largest dimension is `unit` long"
    width, height = fig.get_size_inches()
    assert 4 < width < 10 and 2 < height < 6, "fit=True sizes the figure to the drawing"
    texts = {t.get_text() for t in ax.texts}
    assert {"4,096", "2,560", "8", "$d_{out}$ = 4,096", "얼림\n10,485,760개", "+", "·"} <= texts


def test_draw_matrices_to_scale_keeps_proportions():
    fig, ax = plt.subplots()
    boxes = plotting.draw_matrices(ax, [Matrix("W", 400, 100), "=", Matrix("B", 400, 4, "trainable")],
                                   to_scale=True)
    draw_strictly(fig)
    _, _, w_w, h_w = boxes["W"]
    _, _, w_b, _ = boxes["B"]
    assert h_w / w_w == pytest.approx(4)
    assert w_w / w_b == pytest.approx(25)


def test_draw_matrices_in_a_shared_figure_keeps_the_figure_size():
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3))
    plotting.draw_matrices(ax1, LORA, fit=False)
    plotting.draw_matrices(ax2, [Matrix("$Q$", 128, 64, "quantized")], fit=False)
    draw_strictly(fig)
    assert tuple(fig.get_size_inches()) == (8, 3)


@pytest.mark.parametrize("terms, message", [
    (["+"], "at least one Matrix"),
    ([Matrix("W", 0, 3)], "positive rows and cols"),
    ([Matrix("W", 2, 3, "blue")], "use a palette name"),
])
def test_draw_matrices_rejects_bad_input(terms, message):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=message):
        plotting.draw_matrices(ax, terms)


def test_draw_flow_draws_steps_with_korean_text_and_a_legend():
    fig, ax = plt.subplots(figsize=(10, 3.4))
    steps = [("unsloth", "FastLanguageModel.from_pretrained(...)", "4비트 본체를 불러옵니다"),
             ("trl", "trainer.train()", "학습합니다"),
             ("frozen", "save_pretrained(...)", "어댑터를 저장합니다")]
    plotting.draw_flow(ax, steps, legend={"unsloth": "Unsloth", "trl": "TRL"})
    draw_strictly(fig)
    assert len(ax.patches) == len(steps)
    assert [p.get_edgecolor()[:3] for p in ax.patches] == [to_rgb(COLORS[k]) for k, _, _ in steps]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Unsloth", "TRL"]
    assert "1. FastLanguageModel.from_pretrained(...)" in {t.get_text() for t in ax.texts}


def test_a_glyph_the_font_lacks_is_caught():
    fig, ax = plt.subplots()
    ax.set_title("W\u2080")  # subscript zero: not in NanumGothic; write "$W_0$" instead
    with pytest.raises(UserWarning, match="missing from font"):
        draw_strictly(fig)


# --- no colour literals in the chapters --------------------------------------------------------

_NAMED = ("black|white|gr[ae]y|red|green|blue|orange|purple|brown|pink|olive|cyan|magenta|yellow|"
          "navy|teal|gold|silver|maroon|lime|indigo|violet|crimson|salmon|tomato|coral|skyblue|steelblue")
COLOR_LITERAL = re.compile(
    r"""(?x)
    (?P<q>["'])\#[0-9a-fA-F]{3,8}(?P=q)                    # "#3b6ea8"
    | (?P<q2>["'])C\d(?P=q2)                               # "C0"
    | ["'](?:tab|xkcd|css4):                               # "tab:blue"
    | \b(?:colou?rs?|facecolors?|edgecolors?|fc|ec|c|mfc|mec|markerfacecolor|markeredgecolor)
      \s*=\s*["']                                          # color="black", c='r'
    | (?P<q3>["'])(?:""" + _NAMED + r""")(?P=q3)           # "gray" anywhere, e.g. in a list
    """)


def colour_literals(code: str) -> list[str]:
    return [m.group(0) for m in COLOR_LITERAL.finditer(code)]


@pytest.mark.parametrize("code", [
    'ax.bar(x, y, color="#3b6ea8")',
    "colors = ['#888888', '#3b6ea8']",
    'ax.plot(x, y, "C0")',
    'ax.plot(x, y, color="tab:blue")',
    'ax.axhline(80, color="black")',
    "ax.scatter(x, y, c='r')",
    'style = {"face": "gray"}',
    'Patch(facecolor="#fbe5d0", edgecolor=edge)',
])
def test_the_colour_literal_check_catches(code):
    assert colour_literals(code), code


@pytest.mark.parametrize("code", [
    "ax.bar(x, y, color=plotting.COLORS.trainable)",
    'ax.axhline(80, color=plotting.COLORS.ink, ls="--")',
    "colors = [plotting.MEMORY_COLORS[part] for part in parts]",
    'open(path, "r")',
    'print(f"#{n} {name}")',
    'ax.set_title("C 언어와 비교")',
])
def test_the_colour_literal_check_allows(code):
    assert not colour_literals(code), code


@pytest.mark.parametrize("path", sorted((ROOT / "book").glob("*.md")), ids=lambda p: p.name)
def test_chapters_take_colours_from_the_palette(path):
    page = read_page(path.read_text(encoding="utf-8"), str(path))
    found = []
    for cell in page.code_cells():
        for offset, line in enumerate(cell.content):
            found += [f"line {cell.content_line + offset}: {hit}" for hit in colour_literals(line)]
    assert not found, (f"{path.relative_to(ROOT)}: colour literals in code cells; use ftcourse.plotting.COLORS "
                       f"(or add a named meaning to the palette): {found}")
