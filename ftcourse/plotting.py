"""One place that sets up matplotlib for the book: a bundled Korean font and a quiet style."""
from __future__ import annotations

import koreanize_matplotlib  # noqa: F401  (registers the bundled NanumGothic and selects it)
import matplotlib.pyplot as plt

FONT_FAMILY = "NanumGothic"


def setup() -> None:
    """Call once at the top of a chapter, before the first figure."""
    plt.rcParams.update({
        "font.family": FONT_FAMILY,
        "axes.unicode_minus": False,  # NanumGothic lacks U+2212; use the ASCII hyphen for negatives
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
