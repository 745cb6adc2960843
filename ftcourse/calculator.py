"""The data behind the two in-browser tools of the teaching kit, made at build time from the course's code.

`book/calculator.md` (memory calculator) and `book/format_explorer.md` (number-format explorer) call
`calculator_data()` and `format_data()` in an executed cell and write the result into the page as JSON
(`page_data_html`). `_static/calculator.js` and `_static/format_explorer.js` read nothing else: the models'
architectures, the estimator's constants, the GPU table, the lab-1 defaults, the palette, the float
formats' overflow rules and the NF4 table all come from here and from the modules it reads
(`ftcourse.memory`, `ftcourse.peft_counts`, `ftcourse.quant`, `ftcourse.recipes`, `ftcourse.plotting`).

`estimate()` is the Python the JavaScript port reproduces; `tests/test_calculator.py` drives the page in a
browser and compares it with `estimate()` (and so with `ftcourse.memory`) on a grid of inputs.
"""
from __future__ import annotations

import dataclasses
import html
import json
from dataclasses import dataclass

from . import memory as mem
from .peft_counts import PROJECTIONS, head_dim, lora_param_count

# The architectures `ftcourse.memory.architecture` knows, smallest first.
MODELS = ("Llama-3.2-1B", "Qwen3-4B", "Llama-3-8B", "Llama-2-13B", "Qwen3-32B", "Llama-3-70B")
METHODS = {  # key -> Korean name, as chapter 3's table calls them
    "full": "완전 미세조정 (혼합 정밀도 AdamW)",
    "lora": "LoRA (16비트 본체)",
    "qlora": "QLoRA (NF4 본체)",
}
CHECKPOINTING = {  # key -> Korean name
    "unsloth": "Unsloth (층 입력을 CPU로 내림)",
    "standard": "일반 체크포인팅 (층 입력을 GPU에 둠)",
    "none": "끔 (모든 활성화를 GPU에 둠)",
}
# Chapter 3 checks that the estimate for lab 1 is within 10% of the measured peak and below no cited
# measurement by more than 10% (`tests/test_memory.py`): an answer that fits with less room than this is
# shown as "tight".
ESTIMATE_TOLERANCE = 0.10
PART_NAMES = {  # PeakMemory fields -> Korean labels (chapter 3's figure uses the same words)
    "weights": "가중치",
    "trainable_states": "학습 상태 (기울기·옵티마이저)",
    "activations": "활성화",
    "transient": "손실 시점의 로짓",
    "workspace": "작업 공간",
}
PART_COLORS = {"weights": "quantized", "trainable_states": "trainable", "activations": "activations",
               "transient": "highlight", "workspace": "reference"}  # palette names, as in chapter 3's figure


@dataclass(frozen=True)
class Gpu:
    """A GPU the calculator compares with. `total_gib` is the memory PyTorch reports for the card
    (`torch.cuda.get_device_properties(0).total_memory / 2**30`, which Unsloth prints as "Max memory ... GB"),
    read from a cited log; None where no log was found, and then the nominal capacity is used."""

    key: str
    name: str
    nominal_gb: int        # the datasheet's capacity
    total_gib: float | None
    source: str            # where total_gib was read

    @property
    def compared_bytes(self) -> int:
        """What the estimate is compared with: the reported total, else the nominal GB (10**9 bytes each)."""
        return int(self.total_gib * mem.GIB) if self.total_gib is not None else self.nominal_gb * mem.GB


GPUS = (
    Gpu("T4", "Tesla T4 (무료 Colab)", 16, 14.741,
        "Unsloth 노트북 nb/Qwen3_(4B)-Instruct.ipynb의 로그: 'Tesla T4 ... Max memory: 14.741 GB'"),
    Gpu("L4", "NVIDIA L4", 24, 22.161,
        "Unsloth 노트북 nb/Deepseek_OCR_(3B).ipynb의 로그: 'NVIDIA L4. Max memory = 22.161 GB'"),
    Gpu("A100-40GB", "A100 40GB", 40, 39.557,
        "Unsloth 노트북 nb/Qwen3_(32B)_A100-Reasoning-Conversational.ipynb의 로그: 'A100-SXM4-40GB. Max memory = 39.557 GB'"),
    Gpu("A100-80GB", "A100 80GB", 80, 79.318,
        "Unsloth 노트북 nb/Llama3.3_(70B)_A100-Conversational.ipynb의 로그: 'A100-SXM4-80GB. Max memory = 79.318 GB'"),
    Gpu("H100-80GB", "H100 80GB", 80, None, ""),
    Gpu("RTX-3090", "GeForce RTX 3090", 24, 23.999,
        "강의 자료의 실습 로그: 'NVIDIA GeForce RTX 3090. Max memory = 23.999 GB'"),
    Gpu("RTX-4090", "GeForce RTX 4090", 24, None, ""),
)


def lab1_inputs() -> dict:
    """The calculator's default inputs: lab 1's recipe (ftcourse.recipes) on a T4."""
    from .recipes import LABS

    recipe = LABS["lab1_first_qlora"].full
    return {"model": "Qwen3-4B", "method": "qlora" if recipe.load_in_4bit else "lora", "r": recipe.lora_r,
            "batch_size": recipe.batch_size, "seq_len": recipe.max_seq_length, "checkpointing": "unsloth",
            "gpu": "T4"}


def estimate(model: str, method: str, r: int, batch_size: int, seq_len: int,
             checkpointing: str = "unsloth") -> mem.PeakMemory:
    """The peak of one training step, as chapter 3's estimator gives it, for the calculator's inputs.

    - "qlora"/"lora": `lora_peak_breakdown` with LoRA of rank r on the seven projections (8-bit AdamW),
      on an NF4 or a 16-bit base; for Qwen3-4B the NF4 base keeps Unsloth's dynamic 16-bit layers, as in lab 1.
    - "full": `step_peak` with `full_finetune_bytes` (mixed-precision AdamW, 16 B per parameter), which is
      `full_peak_breakdown` when the checkpoints are offloaded.
    - checkpointing "unsloth" offloads the layer inputs (the chapter's stack), "standard" keeps them on the
      GPU (`offload_checkpoints=False`); "none" keeps every layer's activations: the activation term becomes
      `activation_bytes(..., checkpointing=False)` (Korthikanti et al.), the rest is unchanged.
    """
    if method not in METHODS or checkpointing not in CHECKPOINTING:
        raise ValueError(f"method in {list(METHODS)}, checkpointing in {list(CHECKPOINTING)}")
    config = mem.architecture(model)
    offload = checkpointing == "unsloth"
    if method == "full":
        n_params = mem.base_weight_bytes(config, base_in_4bit=False) // 2
        m = mem.full_finetune_bytes(n_params, mem.MIXED_ADAMW)
        peak = mem.step_peak(config, batch_size, seq_len, m.weights,
                             m.gradients + m.optimizer_states + m.master_weights, offload_checkpoints=offload)
    else:
        lora = lora_param_count(config, r, PROJECTIONS)
        peak = mem.lora_peak_breakdown(config, lora, batch_size, seq_len, base_in_4bit=method == "qlora",
                                       offload_checkpoints=offload)
    if checkpointing == "none":
        peak = dataclasses.replace(peak, activations=mem.activation_bytes(config, batch_size, seq_len))
    return peak


def verdict(total_bytes: int, gpu: Gpu) -> str:
    """"fits", "tight" (fits, but with less room than the estimate's tolerance) or "no"."""
    room = gpu.compared_bytes
    if total_bytes > room:
        return "no"
    return "tight" if total_bytes * (1 + ESTIMATE_TOLERANCE) > room else "fits"


def model_entry(name: str) -> dict:
    """What the JavaScript port needs of one architecture: its config fields, and the linear parameters a
    4-bit checkpoint of it keeps in 16 bit (`linear_params_in_16bit` with `skip_modules_for`)."""
    config = mem.architecture(name)
    return {
        "name": name,
        "model_type": config.model_type,
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "num_key_value_heads": config.num_key_value_heads or config.num_attention_heads,
        "head_dim": head_dim(config),
        "vocab_size": config.vocab_size,
        "tie_word_embeddings": bool(config.tie_word_embeddings),
        "kept16_linear_params": mem.linear_params_in_16bit(config, mem.skip_modules_for(config)),
    }


def calculator_data() -> dict:
    """Everything `_static/calculator.js` reads, as JSON-ready values."""
    from .plotting import COLORS

    return {
        "models": [model_entry(name) for name in MODELS],
        "methods": METHODS,
        "checkpointing": CHECKPOINTING,
        "gpus": [{**dataclasses.asdict(g), "compared_bytes": g.compared_bytes} for g in GPUS],
        "constants": {
            "NF4_BYTES": mem.NF4_BYTES, "LORA_BYTES": mem.LORA_BYTES,
            "ADAMW_8BIT_BLOCKSIZE": mem.ADAMW_8BIT_BLOCKSIZE, "LOGIT_BYTES": mem.LOGIT_BYTES,
            "MIXED_ADAMW": dataclasses.asdict(mem.MIXED_ADAMW), "GIB": mem.GIB, "GB": mem.GB,
            "ESTIMATE_TOLERANCE": ESTIMATE_TOLERANCE,
        },
        "parts": [{"key": k, "name": v, "color": COLORS[PART_COLORS[k]]} for k, v in PART_NAMES.items()],
        "defaults": lab1_inputs(),
    }


def format_data() -> dict:
    """Everything `_static/format_explorer.js` reads: each format's bit layout, its largest finite value,
    what PyTorch does with a value past it (asked of the installed torch: "inf" or "saturate"), and the NF4
    table of `ftcourse.quant.nf4_code`."""
    import torch

    from .quant import FLOAT_FORMATS, format_limits, nf4_code

    dtypes = {"FP32": torch.float32, "FP16": torch.float16, "BF16": torch.bfloat16,
              "FP8 E4M3": torch.float8_e4m3fn, "FP8 E5M2": torch.float8_e5m2}
    formats = []
    for name, dtype in dtypes.items():
        exp_bits, man_bits = FLOAT_FORMATS[name]
        ieee = dtype != torch.float8_e4m3fn
        big = torch.tensor([float("inf")], dtype=torch.float32).to(dtype).float().item()
        formats.append({"name": name, "exp_bits": exp_bits, "man_bits": man_bits,
                        "specials": "ieee" if ieee else "fn", "max": format_limits(exp_bits, man_bits, ieee)["max"],
                        "overflow": "inf" if big == float("inf") else "saturate"})
    from .plotting import COLORS

    colors = {"sign": COLORS.highlight, "exponent": COLORS.frozen, "mantissa": COLORS.trainable}
    return {"formats": formats, "nf4": nf4_code().tolist(), "colors": colors}


def page_data_html(element_id: str, data: dict) -> str:
    """A `<script type="application/json">` element holding `data` (inert: the browser does not run it)."""
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{html.escape(element_id)}">{text}</script>'
