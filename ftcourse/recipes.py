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
    """The knobs every lab has. Field names are the parameters cell's names in lower case. A lab that
    varies more declares a subclass with its own knobs (e.g. `RankSweepRecipe`); `knobs(lab)` lists them."""

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
    def largest_rank(self) -> int:
        """The largest LoRA rank the lab trains (its memory estimate is made for this rank)."""
        return self.lora_r

    @property
    def trains_16bit_base(self) -> bool:
        """Whether the lab trains LoRA on a 16-bit base at some point (its memory estimate then is
        that run's)."""
        return not self.load_in_4bit

    @property
    def downloads(self) -> list[str]:
        """The hub ids this recipe needs (a local file or folder is given as an absolute path), the
        16-bit original of the model included for the labs that load it."""
        names = (self.model, self.dataset, getattr(self, "model_16bit", ""))
        return [name for name in names if name and not Path(name).is_absolute()]

    def summary(self) -> str:
        """One line with the values a run really uses (the start check prints it)."""
        bits = "4비트" if self.load_in_4bit else "16비트"
        return (f"모델 {shown(self.model)}({bits}), 데이터 {shown(self.dataset)}({self.n_rows:,}행); LoRA r={self.lora_r}, "
                f"α={self.lora_alpha}; {self.max_steps}스텝, 배치 {self.batch_size} × 누적 {self.grad_accum}, "
                f"최대 길이 {self.max_seq_length}, 학습률 {self.learning_rate:g}, 워밍업 {self.warmup_steps}스텝, "
                f"가중치 감쇠 {self.weight_decay:g}, 시드 {self.seed}")


def shown(name: str) -> str:
    """A hub id as it is; a file in the repository relative to it (data/tiny-qwen3), wherever it lives."""
    path = Path(name)
    return str(path.relative_to(REPO_ROOT)) if path.is_absolute() and path.is_relative_to(REPO_ROOT) else name


@dataclass(frozen=True)
class EvalRecipe(Recipe):
    """A recipe that keeps rows aside for evaluation: the last `eval_rows` of the shuffled rows."""

    eval_rows: int = knob("학습에 쓰지 않고 떼어 두는 평가용(held-out) 행 수")

    def summary(self) -> str:
        return f"{super().summary()}; 평가용 {self.eval_rows:,}행"


@dataclass(frozen=True)
class RankSweepRecipe(EvalRecipe):
    """Lab 2's recipe: lab 1's knobs and held-out rows, and a sweep over LoRA ranks."""

    sweep_ranks: tuple[int, ...] = knob("랭크 비교에서 차례로 학습할 r 값들(α/r은 레시피의 비율을 유지)")
    sweep_steps: int = knob("랭크 비교에서 랭크마다 학습할 스텝 수")

    @property
    def largest_rank(self) -> int:
        return max(self.lora_r, *self.sweep_ranks)

    def summary(self) -> str:
        return f"{super().summary()}; 랭크 비교 r = {list(self.sweep_ranks)}, 랭크마다 {self.sweep_steps}스텝"


@dataclass(frozen=True)
class QuantCostRecipe(Recipe):
    """Lab 3's recipe: lab 1's knobs and the 16-bit original of the model, which lab 3 loads and
    trains next to the 4-bit one (so its memory estimate is the 16-bit run's)."""

    model_16bit: str = knob("같은 모델의 16비트 원본(4비트와 견줄 때 불러옴)")

    @property
    def trains_16bit_base(self) -> bool:
        return True


@dataclass(frozen=True)
class MergeRecipe(Recipe):
    """Lab 4's recipe: lab 1's knobs for each of two adapters, trained on two sources of the data,
    the merges' settings, and where the merged model goes. `n_rows` and `max_steps` are per adapter
    (the second adapter trains with `seed + 1`, so the two do not start from the same A)."""

    source_a: str = knob("첫 어댑터의 데이터: 데이터셋의 source 값(\"\"이면 행이 가장 많은 source)")
    source_b: str = knob("둘째 어댑터의 데이터: 데이터셋의 source 값(\"\"이면 나머지 중 행이 가장 많은 source)")
    eval_rows: int = knob("source마다 학습에서 떼어 두는 평가용 행 수")
    merge_weight: float = knob("PEFT 병합(linear, cat, ties, dare_ties)에서 두 어댑터에 똑같이 곱하는 가중치 w")
    merge_density: float = knob("TIES·DARE 병합이 남길 값의 비율(density)")
    hand_lambda: float = knob("손으로 하는 작업 산술의 세기 λ: ΔW = λ(ΔW_A + ΔW_B)")
    model_16bit: str = knob("같은 모델의 16비트 원본(병합 모델 저장과 비교에 씀)")
    gguf_quant: str = knob("GGUF 양자화 방식(예: q4_k_m). \"\"이면 GGUF 내보내기를 건너뜀")

    def summary(self) -> str:
        sources = " vs ".join(s or "(자동)" for s in (self.source_a, self.source_b))
        return (f"{super().summary()}; source마다 {self.n_rows:,}행, 평가용 {self.eval_rows:,}행; source "
                f"{sources}; 병합 가중치 {self.merge_weight:g}, 밀도 {self.merge_density:g}, "
                f"손 병합 λ {self.hand_lambda:g}; 16비트 원본 {shown(self.model_16bit)}; "
                f"GGUF {self.gguf_quant or '건너뜀'}")


def knobs(lab: str) -> tuple[str, ...]:
    """The knobs of a lab: the fields of the recipe type it declares, in order."""
    return tuple(f.name for f in dataclasses.fields(LABS[lab].full))


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
    # Lab 1 is the seed's run, with 200 of its 2,000 rows kept aside to measure held-out loss.
    "lab1_first_qlora": Lab(full=EvalRecipe(**dataclasses.asdict(QLORA_60_STEPS), eval_rows=200),
                            smoke={**SMOKE, "eval_rows": 48}, smoke_note=SMOKE_NOTE,
                            cited_runs=(SEED_RTX3090_RUN, UNSLOTH_T4_RUN)),
    # Lab 2 opens what lab 1 trains: the same recipe for 40 steps on rows that leave 200 aside for
    # evaluation, then three short runs at r = 4, 16, 64 (alpha/r kept at the recipe's 1).
    "lab2_lora_inside": Lab(
        full=RankSweepRecipe(**{**dataclasses.asdict(QLORA_60_STEPS), "max_steps": 40},
                             eval_rows=200, sweep_ranks=(4, 16, 64), sweep_steps=20),
        smoke={**SMOKE, "eval_rows": 48, "sweep_ranks": (2, 8, 32), "sweep_steps": 10}, smoke_note=SMOKE_NOTE,
        cited_runs=(SEED_RTX3090_RUN,)),
    # Lab 3 measures what 4 bits cost and save: three short runs of the lab 1 recipe (QLoRA and 16-bit
    # LoRA with Unsloth, QLoRA with plain transformers + PEFT in a fresh Python), 10 steps each: enough
    # steps for a median step time after the first (which also compiles kernels), few enough that the
    # three runs, the 16-bit download and the loads fit a class slot on a T4. 400 rows leave room for the
    # 80 examples 10 steps see. The 16-bit LoRA run is the largest (its peak is the start check's).
    "lab3_quant_cost": Lab(
        full=QuantCostRecipe(**{**dataclasses.asdict(QLORA_60_STEPS), "n_rows": 400, "max_steps": 10},
                             model_16bit="unsloth/Qwen3-4B"),
        smoke={**SMOKE, "max_steps": 10, "model_16bit": str(TINY_MODEL_DIR)}, smoke_note=SMOKE_NOTE,
        cited_runs=(SEED_RTX3090_RUN, UNSLOTH_T4_RUN)),
    # Lab 4 trains two adapters on two sources of the data, merges them and ships the merge. FineTome's
    # `source` names The-Tome subset a row came from: `self-instruct-sharegpt` (Python code, from
    # bigcode/self-oss-instruct-sc2-exec-filter-50k) and `WebInstructSub_axolotl` (science and math
    # questions from the web, TIGER-Lab/WebInstructSub); the lab stops with the list of sources if a
    # name is not in the data. 30 steps x 8 examples per adapter, 100 held-out rows per source.
    "lab4_merge_deploy": Lab(
        full=MergeRecipe(**{**dataclasses.asdict(QLORA_60_STEPS), "n_rows": 1000, "max_steps": 30},
                         source_a="self-instruct-sharegpt", source_b="WebInstructSub_axolotl", eval_rows=100,
                         merge_weight=1.0, merge_density=0.5, hand_lambda=0.5, model_16bit="unsloth/Qwen3-4B",
                         gguf_quant=""),
        smoke={**SMOKE, "n_rows": 75, "max_steps": 20, "source_a": "synthetic-math", "source_b": "synthetic-code",
               "eval_rows": 10, "model_16bit": str(TINY_MODEL_DIR)}, smoke_note=SMOKE_NOTE,
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
    unknown = set(overrides) - set(knobs(lab))
    if unknown:
        raise TypeError(f"not knobs of {lab}: {sorted(unknown)}")
    name = chosen_profile(profile)
    recipe = LABS[lab].recipe(name)
    # papermill passes a list for a tuple knob (-p SWEEP_RANKS "[4, 16]"): keep the recipe's type
    chosen = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items() if v is not None}
    return name, dataclasses.replace(recipe, **chosen)
