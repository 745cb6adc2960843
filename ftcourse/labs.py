"""What every lab does first: resolve its recipe, say what runs, and stop early if it cannot run.

The lab template generates the call (one keyword per knob of the parameters cell), so a lab never
types its recipe by hand: `recipe = start_lab("lab1_first_qlora", LAB_PROFILE, lora_r=LORA_R, ...)`.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import guards
from .recipes import LABS, Recipe, resolve


def model_config(recipe: Recipe):
    """The transformers config of the recipe's model, without downloading weights; None if unknown.

    A local folder has its config.json; a hub id the course knows has its published config in
    `ftcourse.models`. Imports transformers: call it after `import unsloth` in a lab.
    """
    path = Path(recipe.model)
    if path.is_absolute():
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(path, local_files_only=True)
    from .models import HUB_CONFIGS

    make = HUB_CONFIGS.get(recipe.model)
    return make() if make else None


def peak_estimate_bytes(recipe: Recipe, config) -> float:
    """The memory estimate that applies to the recipe: LoRA of the largest rank it trains on the seven
    projections, trained with 8-bit AdamW and gradient checkpointing, on a base in NF4 (QLoRA) or,
    if the lab trains on one at some point, in 16 bit."""
    from .memory import lora_training_peak_bytes
    from .peft_counts import PROJECTIONS, lora_param_count

    return lora_training_peak_bytes(config, lora_param_count(config, recipe.largest_rank, PROJECTIONS),
                                    recipe.batch_size, recipe.max_seq_length, not recipe.trains_16bit_base)


def start_lab(lab: str, profile: str | None = None, **knobs) -> Recipe:
    """Resolve the lab's recipe, print it, and stop with a clear message if the run cannot work.

    `knobs` are the parameters cell's values (None keeps the profile's value). Checks, in order:
    a CUDA GPU, Unsloth importable, the hub reachable when the recipe downloads something, the
    smoke model built, and the free GPU memory against the recipe's estimated peak.
    """
    import torch

    profile_name, recipe = resolve(lab, profile, **knobs)
    print(f"프로필(profile): {profile_name} — {recipe.summary()}")
    if profile_name == "smoke":
        print(LABS[lab].smoke_note)
    guards.check_offline_left_by_smoke(recipe.downloads, os.environ.get(guards.OFFLINE_BY_SMOKE) == "1")
    if not recipe.downloads:
        # offline for real: no hub look-ups, and no Unsloth usage statistics (a network call at load)
        if "HF_HUB_OFFLINE" not in os.environ:
            os.environ.update({"HF_HUB_OFFLINE": "1", guards.OFFLINE_BY_SMOKE: "1"})
        os.environ.setdefault("UNSLOTH_DISABLE_STATISTICS", "1")
    guards.check_cuda(torch.cuda.is_available())
    import unsloth  # noqa: F401  (before transformers, trl and peft, so that its patches apply)

    guards.check_hub_access(recipe.downloads, bool(recipe.downloads) and guards.hub_reachable())
    if Path(recipe.model).is_absolute() and not (Path(recipe.model) / "config.json").exists():
        from .tiny_model import ensure_built

        print(f"작은 Qwen3 모델을 만듭니다(building the tiny model): {recipe.model}")
        ensure_built(Path(recipe.model))
    free, total = torch.cuda.mem_get_info()
    print(f"GPU: {torch.cuda.get_device_name(0)}, 비어 있음(free) {free / guards.GiB:.1f} / "
          f"{total / guards.GiB:.1f} GiB")
    config = model_config(recipe)
    if config is None:
        print("이 모델의 구조를 몰라 메모리 예상을 건너뜁니다(no memory estimate for this model).")
    else:
        estimate = peak_estimate_bytes(recipe, config)
        print(f"이 레시피의 예상 최대 메모리(estimated peak): {estimate / guards.GiB:.1f} GiB")
        guards.check_gpu_memory(estimate, free, f"'{lab}' ({profile_name})")
    return recipe
