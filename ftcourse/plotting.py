"""One figure toolkit for the book: a bundled Korean font, one palette, and diagram helpers.

Every chapter calls `setup()` once, takes its colours from `COLORS` (never a colour literal:
`tests/test_plotting.py` checks the chapters) and draws recurring pictures with the helpers:

- `draw_matrices(ax, terms)`: matrices as labelled boxes with their shapes, e.g. W0 + B·A.
- `draw_flow(ax, steps)`: a top-to-bottom chain of boxes, e.g. the calls of a training script.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Sequence, Union

import koreanize_matplotlib  # noqa: F401  (registers the bundled NanumGothic and selects it)
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.colors import to_hex, to_rgb
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle
from matplotlib.textpath import text_to_path

FONT_FAMILY = "NanumGothic"
MONO_FAMILY = "DejaVu Sans Mono"  # code in diagrams; NanumGothic has no monospace face


@dataclass(frozen=True)
class Palette:
    """The colour of each recurring meaning. One meaning, one colour, on every page."""

    # parameters
    frozen: str = "#4C72B0"            # frozen / base weights (W0, the backbone)
    trainable: str = "#DD8452"         # trainable / adapter parameters (B, A, prompts, IA3 vectors)
    quantized: str = "#64B5CD"         # frozen weights stored in 4 bit (QLoRA's NF4 base)
    # memory components (ftcourse.memory.TrainingMemory); the weights are the base weights
    weights: str = "#4C72B0"
    gradients: str = "#55A868"
    master_weights: str = "#8172B3"
    optimizer_states: str = "#C44E52"
    activations: str = "#CCB974"
    # where a number comes from
    measured: str = "#1A1A1A"          # measured on real tensors or a real GPU: solid, dark marks
    estimated: str = "#7F7F7F"         # estimated with a formula: dashed lines, hatched or open marks
    reference: str = "#B0B0B0"         # a baseline bar to compare against (e.g. full fine-tuning)
    # emphasis and drawing
    highlight: str = "#D81B60"         # the one thing to look at
    ink: str = "#333333"               # text, arrows, and lines such as a GPU's capacity
    # libraries in workflow diagrams
    unsloth: str = "#2A9D8F"
    trl: str = "#E0A100"

    def __getitem__(self, name: str) -> str:
        return getattr(self, name)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


COLORS = Palette()

# Stacking order of the memory components, bottom to top, with their colours.
MEMORY_COLORS: dict[str, str] = {
    "weights": COLORS.weights,
    "gradients": COLORS.gradients,
    "master_weights": COLORS.master_weights,
    "optimizer_states": COLORS.optimizer_states,
    "activations": COLORS.activations,
}

# Default colour cycle, for plots whose lines have no fixed meaning (a loss curve, a sweep).
CYCLE = (COLORS.frozen, COLORS.trainable, COLORS.gradients, COLORS.optimizer_states,
         COLORS.master_weights, COLORS.activations, COLORS.quantized, COLORS.estimated)


def setup() -> None:
    """Call once at the top of a chapter, before the first figure."""
    plt.rcParams.update({
        "font.family": FONT_FAMILY,
        "axes.unicode_minus": False,  # NanumGothic lacks U+2212; use the ASCII hyphen for negatives
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=list(CYCLE)),
    })


def tint(color: str, amount: float = 0.8) -> str:
    """`color` mixed with white: 0 keeps it, 1 gives white. For box faces behind text."""
    if not 0 <= amount <= 1:
        raise ValueError("amount must be between 0 and 1")
    return to_hex(tuple(c + (1 - c) * amount for c in to_rgb(color)))


def _color(kind: str) -> str:
    if kind not in COLORS.as_dict():
        raise ValueError(f"unknown colour {kind!r}; use a palette name: {sorted(COLORS.as_dict())}")
    return COLORS[kind]


def _text_width(text: str, size: float, family: str = FONT_FAMILY) -> float:
    """Width of a text in inches (points / 72), measured with matplotlib's own text layout."""
    if not text:
        return 0.0
    prop = FontProperties(family=family, size=size)
    widest = 0.0
    for line in text.split("\n"):
        width, _, _ = text_to_path.get_text_width_height_descent(line, prop, ismath="$" in line)
        widest = max(widest, width)
    return widest / 72


@dataclass(frozen=True)
class Matrix:
    """One matrix of a `draw_matrices` picture.

    name: drawn inside the box; mathtext such as "$W_0$" is fine (no Korean inside $...$).
    rows, cols: the real shape; the box is drawn in proportion to it.
    kind: a palette name for the box colour ("frozen", "trainable", "quantized", ...).
    row_label, col_label: the side labels; default the numbers with thousands separators.
    note: plain text under the box (may be Korean, may have several lines).
    """

    name: str
    rows: int
    cols: int
    kind: str = "frozen"
    row_label: str | None = None
    col_label: str | None = None
    note: str = ""


Term = Union[Matrix, str]


def draw_matrices(ax, terms: Sequence[Term], *, unit: float = 2.6, min_side: float = 0.3,
                  to_scale: bool = False, fontsize: float = 10, fit: bool = True) -> dict[str, tuple]:
    """Draw matrices as labelled boxes in reading order, e.g. W0 + B·A.

    terms: `Matrix` objects and, between them, operators as strings ("+", "·", "=", or
    mathtext such as r"$\\frac{\\alpha}{r}$"). Each box has its name inside, its row count on the
    left, its column count on top and its note below. The largest dimension of all the matrices is
    `unit` inches long and every side is in proportion to it. With `to_scale=False` (the default) a
    side is never thinner than `min_side` inches, so a rank r = 8 next to 4,096 stays visible: say
    so in the caption. With `to_scale=True` nothing is widened.

    fit=True sizes the figure to the drawing (1 data unit = 1 inch); pass fit=False when `ax` shares
    its figure. Returns each matrix's box as (x0, y0, width, height) by name (give the matrices
    different names), for more annotations.
    """
    mats = [t for t in terms if isinstance(t, Matrix)]
    if not mats:
        raise ValueError("draw_matrices needs at least one Matrix")
    for m in mats:
        if m.rows < 1 or m.cols < 1:
            raise ValueError(f"{m.name}: a matrix needs positive rows and cols, got {m.rows} x {m.cols}")
    largest = max(max(m.rows, m.cols) for m in mats)

    def side(n: int) -> float:
        length = unit * n / largest
        return length if to_scale else max(length, min_side)

    label_size = fontsize * 0.9
    pad = 0.12  # between a box and its labels
    tallest = max(side(m.rows) for m in mats)
    x = 0.0
    boxes: dict[str, tuple] = {}
    bottom = -tallest / 2
    top = tallest / 2
    for term in terms:
        if isinstance(term, str):  # an operator
            width = max(_text_width(term, fontsize * 1.6), 0.2) + 0.3
            ax.text(x + width / 2, 0, term, ha="center", va="center", fontsize=fontsize * 1.6,
                    fontweight="bold", color=COLORS.ink)
            x += width
            continue
        w, h = side(term.cols), side(term.rows)
        row_label = term.row_label if term.row_label is not None else f"{term.rows:,}"
        col_label = term.col_label if term.col_label is not None else f"{term.cols:,}"
        # the row label runs up the left side of a tall box and stays upright beside a flat one
        upright = h < 0.6
        left_w = (_text_width(row_label, label_size) if upright else label_size / 72 * 1.3) + pad
        # the box, its note and its column label are centred on one line; the row label sits left
        half_text = max(_text_width(term.note, label_size), _text_width(col_label, label_size)) / 2 + 0.05
        left_half, right_half = max(w / 2 + left_w, half_text), max(w / 2, half_text)
        x0 = x + left_half - w / 2
        slot = left_half + right_half
        color = _color(term.kind)
        ax.add_patch(Rectangle((x0, -h / 2), w, h, facecolor=tint(color, 0.55), edgecolor=color,
                               linewidth=1.6))
        ax.text(x0 + w / 2, 0, term.name, ha="center", va="center", fontsize=fontsize * 1.3,
                color=COLORS.ink)
        ax.text(x0 - pad, 0, row_label, ha="right", va="center", rotation=0 if upright else 90,
                fontsize=label_size, color=COLORS.ink)
        ax.text(x0 + w / 2, h / 2 + pad, col_label, ha="center", va="bottom", fontsize=label_size,
                color=COLORS.ink)
        top = max(top, h / 2 + pad + label_size / 72 * 1.4)
        if term.note:
            ax.text(x0 + w / 2, -tallest / 2 - pad, term.note, ha="center", va="top",
                    fontsize=label_size, color=COLORS.ink, linespacing=1.4)
            lines = term.note.count("\n") + 1
            bottom = min(bottom, -tallest / 2 - pad - lines * label_size / 72 * 1.4)
        boxes[term.name] = (x0, -h / 2, w, h)
        x += slot
    margin = 0.15
    ax.set_xlim(-margin, x + margin)
    ax.set_ylim(bottom - margin, top + margin)
    ax.set_aspect("equal")
    ax.axis("off")
    if fit:
        ax.set_position([0, 0, 1, 1])
        ax.figure.set_size_inches(x + 2 * margin, top - bottom + 2 * margin)
    return boxes


def draw_flow(ax, steps: Sequence[tuple[str, str, str]], legend: Mapping[str, str] | None = None, *,
              box_width: float = 5.4, fontsize: float = 9.5) -> None:
    """A top-to-bottom chain of rounded boxes joined by arrows.

    steps: (kind, code, what) per step: `kind` is a palette name (the box colour), `code` is drawn
    numbered in a monospace font inside the box, `what` in plain text to its right.
    legend: {kind: label} for the legend above the boxes.
    """
    gap, box_h = 1.1, 0.72
    ax.set_xlim(0, box_width + 5.0)
    ax.set_ylim(0, len(steps) * gap)
    ax.axis("off")
    for i, (kind, code, what) in enumerate(steps):
        y = (len(steps) - 1 - i) * gap + 0.2
        color = _color(kind)
        ax.add_patch(FancyBboxPatch((0.1, y), box_width, box_h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=tint(color, 0.8), edgecolor=color, linewidth=1.4))
        ax.text(0.3, y + box_h / 2, f"{i + 1}. {code}", va="center", fontsize=fontsize - 0.5,
                family=MONO_FAMILY, color=COLORS.ink)
        ax.text(box_width + 0.3, y + box_h / 2, what, va="center", fontsize=fontsize, color=COLORS.ink)
        if i < len(steps) - 1:
            ax.annotate("", xy=(box_width / 2 + 0.1, y - gap + box_h + 0.02), xytext=(box_width / 2 + 0.1, y - 0.02),
                        arrowprops=dict(arrowstyle="->", color=COLORS.ink, lw=1.3))
    if legend:
        handles = [Patch(facecolor=tint(_color(k), 0.8), edgecolor=_color(k), label=label)
                   for k, label in legend.items()]
        ax.legend(handles=handles, loc="upper right", bbox_to_anchor=(1.0, 1.04), ncol=len(handles),
                  frameon=False, fontsize=fontsize - 0.5)
