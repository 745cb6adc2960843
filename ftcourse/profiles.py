"""Lab profiles: `full` (the real course run) and `smoke` (offline, minutes, for CI on a GPU runner).

A lab picks one from its `parameters` cell or from the environment variable LAB_PROFILE.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import LabError

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PATH = REPO_ROOT / "data" / "finetome_sample.jsonl"
TINY_MODEL_DIR = REPO_ROOT / "data" / "tiny-qwen3"

FULL_MODEL = "unsloth/Qwen3-4B-unsloth-bnb-4bit"
FULL_DATASET = "mlabonne/FineTome-100k"


@dataclass(frozen=True)
class Profile:
    name: str
    model_name: str          # hub id, or a local folder
    dataset: str             # hub id, or a local JSON Lines file in FineTome's schema
    n_train_rows: int        # rows taken (shuffled with `seed`) before formatting
    max_seq_length: int
    batch_size: int
    grad_accum: int
    max_steps: int
    learning_rate: float
    seed: int
    needs_network: bool
    description: str

    @property
    def local(self) -> bool:
        return not self.needs_network

    def summary(self) -> str:
        """One line with the values this run really uses (after the parameters cell's overrides)."""
        return (f"{self.name} — {self.description}; {self.max_steps} steps, "
                f"batch {self.batch_size} x accumulation {self.grad_accum}, max length {self.max_seq_length}, "
                f"lr {self.learning_rate:g}, seed {self.seed}")


PROFILES = {
    "full": Profile(
        name="full", model_name=FULL_MODEL, dataset=FULL_DATASET,
        # 60 steps x 8 examples = 480 examples are seen; formatting all 100k rows would cost Colab
        # minutes of CPU for nothing, so 2,000 shuffled rows are prepared.
        n_train_rows=2000, max_seq_length=2048, batch_size=2, grad_accum=4, max_steps=60,
        learning_rate=2e-4, seed=3407, needs_network=True,
        description="Qwen3-4B (4-bit) + FineTome-100k from the hub",
    ),
    "smoke": Profile(
        name="smoke", model_name=str(TINY_MODEL_DIR), dataset=str(SAMPLE_PATH),
        # a randomly initialised tiny model needs a larger step to show a falling loss in a few steps
        # (1e-2 is what tests/test_sft_fixture.py shows working on the CPU)
        n_train_rows=320, max_seq_length=512, batch_size=2, grad_accum=1, max_steps=30,
        learning_rate=1e-2, seed=3407, needs_network=False,
        description="tiny Qwen3 (built locally) + the offline sample in data/, no network",
    ),
}


def resolve_profile(name: str | None = None, **overrides: int | float | None) -> Profile:
    """`name` from the parameters cell wins; else LAB_PROFILE; else `full`.

    `overrides` (max_steps, max_seq_length, batch_size, ...) replace the profile's values unless None.
    """
    chosen = (name or os.environ.get("LAB_PROFILE") or "full").strip().lower()
    if chosen not in PROFILES:
        raise LabError(
            f"알 수 없는 프로필 '{chosen}'입니다. LAB_PROFILE은 {', '.join(PROFILES)} 중 하나여야 합니다.",
            f"Unknown profile '{chosen}': LAB_PROFILE must be one of {', '.join(PROFILES)}.",
        )
    unknown = set(overrides) - set(Profile.__dataclass_fields__)
    if unknown:
        raise TypeError(f"not profile fields: {sorted(unknown)}")
    return replace(PROFILES[chosen], **{k: v for k, v in overrides.items() if v is not None})
