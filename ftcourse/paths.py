"""Where the repository keeps what chapters, labs and tests share: one definition of each path."""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
# The smoke profile's offline data: conversations written for this course in FineTome's schema.
SAMPLE_PATH = DATA_DIR / "synthetic_chat.jsonl"
# The smoke profile's model, built on demand by `make tiny-model` (ftcourse.tiny_model).
TINY_MODEL_DIR = DATA_DIR / "tiny-qwen3"
