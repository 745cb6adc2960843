"""What every lab does first: pick the profile, check the machine, prepare offline fixtures."""
from __future__ import annotations

import json
import os
from pathlib import Path

from . import guards
from .memory import qlora_peak_bytes
from .peft_counts import PROJECTIONS, lora_param_count
from .profiles import Profile, resolve_profile


def _model_config(profile: Profile):
    # transformers only after unsloth (start_lab imports it): Unsloth patches what it imports
    if profile.local:
        from transformers import Qwen3Config

        return Qwen3Config(**json.loads((Path(profile.model_name) / "config.json").read_text()))
    from .models import qwen3_4b_config

    return qwen3_4b_config()


def start_lab(name: str | None = None, lora_r: int = 8, **overrides) -> Profile:
    """Resolve the profile, say which one runs, and stop early with a clear message if it cannot.

    Call it after the parameters cell; `overrides` are that cell's values (None keeps the default).
    `lora_r` sizes the memory estimate (LoRA on the seven projections).
    """
    import torch

    profile = resolve_profile(name, **overrides)
    print(f"프로필(profile): {profile.summary()}")
    if profile.local:
        # offline for real: no hub look-ups, and no Unsloth usage statistics (a network call at load)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("UNSLOTH_DISABLE_STATISTICS", "1")
    guards.check_cuda(torch.cuda.is_available())
    import unsloth  # noqa: F401  (before transformers, trl and peft, so that its patches apply)

    guards.check_hub_access(profile.needs_network, profile.local or guards.hub_reachable())
    if profile.local and not (Path(profile.model_name) / "config.json").exists():
        from .tiny_model import build

        print(f"작은 Qwen3 모델을 만듭니다(building the tiny model): {profile.model_name}")
        build(Path(profile.model_name))
    free, total = torch.cuda.mem_get_info()
    config = _model_config(profile)
    estimate = qlora_peak_bytes(config, lora_param_count(config, lora_r, PROJECTIONS),
                               profile.batch_size, profile.max_seq_length)
    print(f"GPU: {torch.cuda.get_device_name(0)}, 비어 있음(free) {free / guards.GiB:.1f} / "
          f"{total / guards.GiB:.1f} GiB, 이 프로필의 예상 최대치(estimated peak) "
          f"{estimate / guards.GiB:.1f} GiB")
    guards.check_gpu_memory(estimate, free, profile.name)
    return profile
