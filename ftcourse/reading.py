"""Reading time for a chapter's objectives box: the words (어절, space-separated) of a MyST page's prose,
with code, maths, glue, solutions and option lines left out, split into the main line and the optional
"더 깊이" boxes, at the mean silent reading speed of Korean adults (Rhiu et al., 2017: 202.3 words/min).
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from .paths import REPO_ROOT

READING_WPM = 202
LECTURE_MINUTES = 40  # a chapter's main line must fit one lecture slot
SKIPPED = {"code-cell", "literalinclude", "solution", "solution-start", "math", "glue", "glue:figure"}
DEEP_BOX = "더 깊이"
OPENING = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[^}]+)\}(?P<arg>.*)$")
INLINE_ROLE = re.compile(r"\{[a-z:]+\}`[^`]*`")


def reading_words(text: str) -> tuple[int, int]:
    """(main-line words, words inside "더 깊이" boxes) of a MyST page."""
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":  # jupytext front matter
        lines = lines[lines.index("---", 1) + 1:]
    main = deep = 0
    stack: list[tuple[str, str, bool]] = []  # open directives: (fence, name, is a "더 깊이" box)
    in_solution = in_math = False
    for line in lines:
        if line.strip() == "$$":  # a display-maths block opens or closes
            in_math = not in_math
            continue
        opening = OPENING.match(line)
        if opening and opening["name"] in ("solution-start", "solution-end"):
            in_solution = opening["name"] == "solution-start"
        if stack and re.fullmatch(re.escape(stack[-1][0]) + r"\s*", line):
            stack.pop()
            continue
        if opening:
            stack.append((opening["fence"], opening["name"], DEEP_BOX in opening["arg"]))
            continue
        if in_solution or in_math or any(name in SKIPPED for _, name, _ in stack) or line.startswith((":", "(", "|---")):
            continue
        words = len(re.findall(r"\S+", INLINE_ROLE.sub("X", line)))
        if any(is_deep for _, _, is_deep in stack):
            deep += words
        else:
            main += words
    return main, deep


def reading_minutes(page: str) -> tuple[int, int]:
    """(minutes for the main line, minutes with the "더 깊이" boxes) of `book/<page>.md`, rounded up.
    Fails if the main line does not fit a lecture."""
    main, deep = reading_words((REPO_ROOT / "book" / f"{page}.md").read_text(encoding="utf-8"))
    main_min, all_min = math.ceil(main / READING_WPM), math.ceil((main + deep) / READING_WPM)
    if main_min > LECTURE_MINUTES:
        raise ValueError(f"book/{page}.md: the main line takes {main_min} min to read, more than a "
                         f"{LECTURE_MINUTES}-minute lecture: move derivations into {DEEP_BOX!r} boxes")
    return main_min, all_min
