"""Each lab's recipe: what it trains, on what, for how long. One table, read by the lab template
(which writes every field into the lab's `parameters` cell) and by `ftcourse.labs.start_lab`.

A lab declares its `full` recipe (the real run: Qwen3-4B in 4 bit, FineTome-100k from the hub) and a
`smoke` overlay (the fields that change for the offline run on the tiny Qwen3 and the synthetic
sample). Precedence when a lab starts: a value set in the parameters cell (or by papermill,
`papermill -p LORA_R 16 ...`) wins over the chosen profile's value.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabError
from .paths import REPO_ROOT, SAMPLE_PATH, TINY_MODEL_DIR

QWEN3_4B_4BIT = "unsloth/Qwen3-4B-unsloth-bnb-4bit"
FINETOME = "mlabonne/FineTome-100k"
PROFILES = ("full", "smoke")


def knob(help_ko: str):
    """A recipe field with the one-line Korean help the parameters cell shows next to it."""
    return field(metadata={"help": help_ko})


@dataclass(frozen=True)
class Recipe:
    """Every knob a lab may vary. Field names are the parameters cell's names in lower case."""

    model: str = knob("모델(허브 id 또는 저장소 안의 폴더)")
    dataset: str = knob("데이터(허브 id 또는 FineTome 대화 형식의 JSON Lines 파일)")
    n_rows: int = knob("섞은 뒤 쓰는 행 수")
    max_seq_length: int = knob("예제당 최대 토큰 수(넘으면 잘림)")
    load_in_4bit: bool = knob("True면 기본 가중치를 NF4 4비트로(QLoRA), False면 16비트로(LoRA)")
    lora_r: int = knob("LoRA 랭크 r")
    lora_alpha: int = knob("LoRA 스케일 α(갱신량에 α/r을 곱함)")
    batch_size: int = knob("장치당 배치 크기")
    grad_accum: int = knob("기울기 누적(이만큼의 배치를 모아 한 스텝)")
    max_steps: int = knob("옵티마이저 스텝 수")
    learning_rate: float = knob("학습률")
    warmup_steps: int = knob("워밍업 스텝 수(학습률을 0에서 올림)")
    weight_decay: float = knob("가중치 감쇠")
    seed: int = knob("난수 시드(데이터 섞기, LoRA 초기화, 학습)")

    @property
    def examples_per_step(self) -> int:
        return self.batch_size * self.grad_accum

    @property
    def downloads(self) -> list[str]:
        """The hub ids this recipe needs (a local file or folder is given as an absolute path)."""
        return [name for name in (self.model, self.dataset) if not Path(name).is_absolute()]

    def summary(self) -> str:
        """One line with the values a run really uses (the start check prints it)."""
        bits = "4-bit" if self.load_in_4bit else "16-bit"
        return (f"{shown(self.model)} ({bits}) on {shown(self.dataset)} ({self.n_rows:,} rows); LoRA r={self.lora_r}, "
                f"alpha={self.lora_alpha}; {self.max_steps} steps, batch {self.batch_size} x accumulation "
                f"{self.grad_accum}, max length {self.max_seq_length}, lr {self.learning_rate:g}, "
                f"warmup {self.warmup_steps}, weight decay {self.weight_decay:g}, seed {self.seed}")


def shown(name: str) -> str:
    """A hub id as it is; a file in the repository relative to it (data/tiny-qwen3), wherever it lives."""
    path = Path(name)
    return str(path.relative_to(REPO_ROOT)) if path.is_absolute() and path.is_relative_to(REPO_ROOT) else name


KNOBS = tuple(f.name for f in dataclasses.fields(Recipe))


def knob_name(field_name: str) -> str:
    """The parameters cell's name for a recipe field: `lora_r` -> `LORA_R`."""
    return field_name.upper()


@dataclass(frozen=True)
class Lab:
    full: Recipe
    smoke: dict = field(default_factory=dict)  # the fields the smoke profile changes
    smoke_note: str = ""  # what the smoke profile's data and model are, printed at the start
    cited_runs: tuple[str, ...] = ()  # published runs of a similar recipe, quoted in the lab's header

    def recipe(self, profile: str) -> Recipe:
        return self.full if profile == "full" else dataclasses.replace(self.full, **self.smoke)


# The seed lab's recipe (an Unsloth run of Qwen3-4B on FineTome: r = alpha = 8 on all seven
# projections, batch 2 x 4, 60 steps, AdamW 8-bit at 2e-4, 5 warm-up steps, weight decay 0.01).
QLORA_60_STEPS = Recipe(
    model=QWEN3_4B_4BIT, dataset=FINETOME,
    # 60 steps x 8 examples = 480 examples are seen; 2,000 shuffled rows leave room for the ones
    # the response-only loss drops, without formatting all 100k rows on Colab's CPU.
    n_rows=2000, max_seq_length=2048, load_in_4bit=True, lora_r=8, lora_alpha=8,
    batch_size=2, grad_accum=4, max_steps=60, learning_rate=2e-4, warmup_steps=5, weight_decay=0.01,
    seed=3407,
)
# What every smoke run changes: the tiny Qwen3 and the synthetic sample, offline. A randomly
# initialised model needs a larger step to show a falling loss within a few steps; the CPU test
# tests/test_steps.py trains with exactly these values and checks that the loss falls.
SMOKE = dict(model=str(TINY_MODEL_DIR), dataset=str(SAMPLE_PATH), n_rows=320, max_seq_length=512,
             grad_accum=1, max_steps=30, learning_rate=1e-2, warmup_steps=0)
SMOKE_NOTE = ("smoke 프로필: 무작위로 초기화한 작은 Qwen3와 강의가 만든 합성(synthetic) 대화 데이터를 씁니다. "
              "FineTome이 아니며, 코드가 끝까지 도는지 확인하는 용도입니다. "
              "(synthetic data written for this course, not FineTome)")

# Published runs, quoted (not measured by this course) in the headers of the labs they compare with.
SEED_RTX3090_RUN = ("강의 자료의 Unsloth 학습 로그(RTX 3090; 실습 1과 하이퍼파라미터가 같음: Qwen3-4B 4비트, r = α = 8, "
                    "배치 2 × 4, 60스텝): 학습 7.8분, 최대 예약 메모리 6.07 GiB")
UNSLOTH_T4_RUN = ("Unsloth 공식 Colab 노트북 [Qwen3_(4B)-Instruct](https://github.com/unslothai/notebooks/blob/main/nb/"
                  "Qwen3_%284B%29-Instruct.ipynb)(T4; Qwen3-4B-Instruct-2507, r = 32, 배치 2 × 4, 60스텝): "
                  "학습 9분 32초. 이 T4가 보고한 GPU 전체 메모리는 14.74 GiB입니다(사용량이 아니라 카드의 크기)")

LABS = {
    # Lab 0 proves the setup: the lab 1 recipe for five steps (no warm-up), one batch per step.
    "lab0_setup": Lab(
        full=dataclasses.replace(QLORA_60_STEPS, n_rows=200, grad_accum=1, max_steps=5, warmup_steps=0),
        smoke={**SMOKE, "n_rows": 200, "max_steps": 5}, smoke_note=SMOKE_NOTE,
        cited_runs=(SEED_RTX3090_RUN, UNSLOTH_T4_RUN)),
    "lab1_first_qlora": Lab(full=QLORA_60_STEPS, smoke=SMOKE, smoke_note=SMOKE_NOTE,
                            cited_runs=(SEED_RTX3090_RUN, UNSLOTH_T4_RUN)),
}


def chosen_profile(profile: str | None = None) -> str:
    """The parameters cell's LAB_PROFILE wins; else the environment variable LAB_PROFILE; else `full`."""
    chosen = (profile or os.environ.get("LAB_PROFILE") or "full").strip().lower()
    if chosen not in PROFILES:
        raise LabError(
            f"알 수 없는 프로필 '{chosen}'입니다. LAB_PROFILE은 {', '.join(PROFILES)} 중 하나여야 합니다.",
            f"Unknown profile '{chosen}': LAB_PROFILE must be one of {', '.join(PROFILES)}.",
        )
    return chosen


def resolve(lab: str, profile: str | None = None, **overrides) -> tuple[str, Recipe]:
    """The profile that runs and the recipe it uses; `overrides` (None = keep) are the parameters cell."""
    if lab not in LABS:
        raise KeyError(f"no recipe for lab {lab!r}; known: {sorted(LABS)}")
    unknown = set(overrides) - set(KNOBS)
    if unknown:
        raise TypeError(f"not recipe fields: {sorted(unknown)}")
    name = chosen_profile(profile)
    recipe = LABS[lab].recipe(name)
    return name, dataclasses.replace(recipe, **{k: v for k, v in overrides.items() if v is not None})
