"""Lab 3's steps ("4비트의 대가"): what a 4-bit layer stores, what it costs in accuracy, memory and time.

Chapter 3 builds NF4, double quantization and the memory estimator from scratch; lab 3 opens the layers
Unsloth really loaded and measures a GPU. The functions here do the looking and the measuring, and
tests/test_quant_lab.py runs every one of them on the CPU (the tiny Qwen3 loaded in 4 bit by transformers
and bitsandbytes, with double quantization, as Unsloth loads it).

Three kinds of function, as in `ftcourse.steps`:
- steps (`compute_dtype`, `storage_bytes`, `dequantize_by_hand`, `snapshot`, `gpu_use`, `train_and_measure`,
  `after_first_step`, `memory_rows`, `match_compute_dtype`, `keep_adapters_in_fp32`, `run_baseline`, ...)
  compute or measure something and return it;
- reports (`check_*`, `describe_*`) print facts in a fixed format and assert what must hold; a lab calls
  each in a cell of its own marked `# NBVAL_CHECK_OUTPUT`. They print nothing that depends on the GPU,
  the seed or the data order (scripts/nbval-sanitize.cfg blanks decimals, sizes and times);
- the plain baseline: `python -m ftcourse.quant_lab baseline --recipe-json ... --data ... --out ...` trains
  the same recipe with transformers + PEFT + bitsandbytes + TRL in a fresh Python that never imports
  Unsloth (importing Unsloth patches those libraries for the whole process).

Nothing here imports Unsloth, TRL, transformers or datasets at module level: a lab imports this module
after `start_lab` has imported Unsloth, which must come first.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import memory as mem
from . import quant as q
from . import recipes, steps
from .peft_counts import PROJECTIONS, linear_shapes, lora_param_count

GiB = 2**30
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the folder that holds ftcourse/
# `FastLanguageModel.get_peft_model` arguments that PEFT's `LoraConfig` does not take
UNSLOTH_ONLY_ARGUMENTS = ("use_gradient_checkpointing", "random_state")


def gib(n_bytes: float | None) -> float:
    """Bytes in GiB; NaN for a measurement that did not run (no GPU), so tables and ratios still print."""
    return math.nan if n_bytes is None else n_bytes / GiB


def gib_text(n_bytes: float | None) -> str:
    """Bytes as GiB with two decimals; a dash for a measurement that did not run (no GPU)."""
    return "—" if n_bytes is None else f"{n_bytes / GiB:.2f} GiB"


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# ----------------------------------------------------------------------------- 1. FP16 or BF16
def compute_dtype(capability: tuple[int, int] | None) -> torch.dtype:
    """The 16-bit format to train in on a GPU of this compute capability.

    BF16 needs tensor cores that compute in it, which NVIDIA GPUs have from compute capability 8.0
    (Ampere and later: A100, RTX 30xx, L4, H100, ...). Below that (a T4 is 7.5) the lab trains in FP16. Without a
    GPU (`capability` None, the CPU tests) it is FP32. The decision reads the capability, never
    `torch.cuda.is_bf16_supported()`, which by default also says True where BF16 is only emulated.
    Taught in lab 3, section 1.
    """
    if capability is None:
        return torch.float32
    return torch.bfloat16 if tuple(capability) >= (8, 0) else torch.float16


def device_capability() -> tuple[int, int] | None:
    """`torch.cuda.get_device_capability()` of the current GPU, or None without one."""
    return tuple(torch.cuda.get_device_capability()) if torch.cuda.is_available() else None


def precision_flags(dtype: torch.dtype) -> dict:
    """`SFTConfig` keywords for mixed precision in `dtype`: bf16=True or fp16=True (both False in FP32).

    TRL sets bf16=True when neither is given, so both are always passed. Taught in lab 3, section 1.
    """
    return {"bf16": dtype == torch.bfloat16, "fp16": dtype == torch.float16}


def bf16_answers() -> dict:
    """What this process's `torch.cuda.is_bf16_supported` says, with and without counting emulation, and
    which module defines it now (Unsloth replaces it when imported). Empty without a GPU."""
    if not torch.cuda.is_available():
        return {}
    check = torch.cuda.is_bf16_supported

    def ask(**keywords):
        try:
            return bool(check(**keywords))
        except TypeError:  # a replacement without the keyword (Unsloth's, on a torch older than 2.4)
            return None

    return {"default": ask(), "with_emulation": ask(including_emulation=True),
            "native": ask(including_emulation=False), "defined_in": check.__module__}


def explain_dtype(gpu: str, capability: tuple[int, int] | None, answers: dict) -> str:
    """A few Korean lines on the choice of 16-bit format for this GPU (printed by the lab)."""
    dtype = compute_dtype(capability)
    if capability is None:
        return "GPU가 없어 FP32로 계산합니다."
    major, minor = capability
    lines = [f"{gpu}: 계산 능력(compute capability) {major}.{minor} → {_name(dtype)}로 학습합니다."]
    if answers:
        lines.append(f"torch.cuda.is_bf16_supported(): 기본값 {answers['default']}, 에뮬레이션 포함 "
                     f"{answers['with_emulation']}, 하드웨어만 {answers['native']} (지금 이 함수를 정의한 모듈: "
                     f"{answers['defined_in']})")
    if dtype == torch.bfloat16:
        lines.append("이 GPU의 텐서 코어는 BF16으로 계산합니다. BF16은 FP32와 지수 비트가 같아 넘침이 없으므로 "
                     "손실 스케일링이 필요 없습니다.")
    else:
        lines.append("이 GPU(8.0 미만, 예: T4 = 7.5)에는 BF16 텐서 코어가 없습니다. BF16 텐서를 만들 수는 있어도 "
                     "FP32로 흉내 내는 것(에뮬레이션)이라 느립니다. 그래서 FP16으로 계산하고, 넘침과 사라짐은 손실 "
                     "스케일링(loss scaling)으로 막습니다.")
    return "\n".join(lines)


def check_fp16_overflow(device, fp16: torch.dtype = torch.float16) -> dict:
    """Report: FP16 overflows past 65,504 and underflows below its smallest subnormal, on `device`
    (the GPU in the lab), where BF16 keeps both values. Taught in lab 3, section 1.

    60,000 x 2 is inf in FP16; the sum of squares of a 2,560-wide activation of 8s (Qwen3-4B's hidden size)
    is 163,840, inf in FP16 (which is why RMSNorm squares in FP32); 1e-8 becomes 0 in FP16. `fp16` is the
    format under test (the tests pass another one to see the checks fail).
    """
    fp16_max = torch.finfo(fp16).max
    x = torch.tensor([60_000.0], dtype=fp16, device=device)
    doubled = {"FP16": (x * 2).item(), "BF16": (x.to(torch.bfloat16) * 2).item()}
    v = torch.full((2560,), 8.0, dtype=fp16, device=device)
    squares = {"FP16": (v * v).sum().item(), "FP32": (v.float() * v.float()).sum().item()}
    small = {name: torch.tensor([1e-8], dtype=dt, device=device).item()
             for name, dt in (("FP16", fp16), ("BF16", torch.bfloat16))}
    print(f"FP16의 최댓값 torch.finfo(torch.float16).max = {fp16_max:,.0f}")
    print(f"60,000 × 2: FP16 {doubled['FP16']}, BF16 {doubled['BF16']:,.0f}")
    print(f"값이 모두 8인 2,560차원 벡터의 제곱합: FP16 {squares['FP16']}, FP32 {squares['FP32']:,.0f}")
    print(f"1e-8: FP16 {small['FP16']}, BF16에서는 0이 아님: {small['BF16'] > 0}")
    assert fp16_max == 65_504
    assert math.isinf(doubled["FP16"]) and doubled["BF16"] == 119_808, "60,000 x 2 should overflow FP16 only"
    assert math.isinf(squares["FP16"]) and squares["FP32"] == 163_840
    assert small["FP16"] == 0.0 and small["BF16"] > 0, "1e-8 should vanish in FP16 only"
    print("FP16은 65,504를 넘으면 inf가 되고 아주 작은 값은 0이 됩니다. BF16은 둘 다 지킵니다.")
    return {"fp16_max": fp16_max, "doubled": doubled, "squares": squares}


def check_dtype_choice(chosen: torch.dtype, library: torch.dtype, model_dtype: torch.dtype) -> None:
    """Report: the course's rule (`compute_dtype`), the library's own choice and the loaded model's 16-bit
    parts agree. Prints no dtype name (it depends on the GPU). Taught in lab 3, section 2."""
    print("강의의 규칙(계산 능력 8.0 이상이면 BF16, 아니면 FP16), 라이브러리의 선택, 불러온 모델의 형식:")
    assert chosen == library, f"the course picks {chosen}, the library {library}"
    assert model_dtype == chosen, f"the model was loaded in {model_dtype}, not {chosen}"
    print("셋이 같습니다.")


# ----------------------------------------------------------------------------- 2. a 4-bit layer
def load_arguments(recipe, dtype: torch.dtype, in_4bit: bool) -> dict:
    """Keyword arguments for Unsloth's `FastLanguageModel.from_pretrained`: the recipe's 4-bit model
    (`in_4bit`) or its 16-bit original (`model_16bit`), in the 16-bit format chosen in section 1.
    Taught in lab 3, sections 2 and 4."""
    if not recipe.load_in_4bit:
        raise ValueError("실습 3은 4비트 모델과 16비트 원본을 둘 다 불러와 견줍니다: LOAD_IN_4BIT은 True로 두세요. "
                         "(Lab 3 loads both the 4-bit model and its 16-bit original: keep LOAD_IN_4BIT = True.)")
    return dict(model_name=recipe.model if in_4bit else recipe.model_16bit, max_seq_length=recipe.max_seq_length,
                dtype=dtype, load_in_4bit=in_4bit)


def is_4bit(module) -> bool:
    """Whether a module's weight is a bitsandbytes 4-bit `Params4bit`."""
    return type(getattr(module, "weight", None)).__name__ == "Params4bit"


def quantized_projections(model) -> dict:
    """The decoder projections stored in 4 bit, by module name, in the model's order."""
    return {name: module for name, module in model.named_modules()
            if name.split(".")[-1] in PROJECTIONS and is_4bit(module)}


def _state(module):
    state = module.weight.quant_state
    if getattr(state, "packing_format_for_cpu", False):
        raise ValueError("bitsandbytes re-packed this layer for its CPU kernel (after a forward in eval mode); "
                         "read it before running the model")
    return state


@dataclass(frozen=True)
class StorageBytes:
    """What one 4-bit layer stores, in bytes: the packed codes, the block scales (absmax; uint8 with double
    quantization), the second-level scales of double quantization, and the fixed part (the 16-value code
    table, the 256-value table of the second level and its offset), which does not grow with the layer."""

    n: int                 # weights in the layer (d x k)
    codes: int
    absmax: int
    nested_absmax: int
    tables: int
    blocksize: int
    nested_blocksize: int  # 0 without double quantization

    @property
    def bits_per_param(self) -> float:
        """Codes + scales + nested scales, per weight (the tables are per layer, not per weight)."""
        return 8 * (self.codes + self.absmax + self.nested_absmax) / self.n

    @property
    def formula_bits(self) -> float:
        """Chapter 3's `bits_per_param` for this blocksize (and second-level blocksize)."""
        if self.nested_blocksize:
            return q.bits_per_param(4, self.blocksize, double_quant=True, blocksize2=self.nested_blocksize)
        return q.bits_per_param(4, self.blocksize)

    @property
    def padded_bits(self) -> float:
        """The formula with the last second-level block counted whole: what must be stored exactly."""
        blocks = math.ceil(self.n / self.blocksize)
        if not self.nested_blocksize:
            return 4 + 8 * 4 * blocks / self.n
        return 4 + 8 * blocks / self.n + 32 * math.ceil(blocks / self.nested_blocksize) / self.n


def _nbytes(t) -> int:
    return t.numel() * t.element_size()


def storage_bytes(module) -> StorageBytes:
    """The bytes a bitsandbytes 4-bit layer really holds, read from its `Params4bit` and `QuantState`.
    Taught in lab 3, section 2."""
    weight, state = module.weight, _state(module)
    nested = bool(state.nested)
    tables = _nbytes(state.code)
    if nested:
        tables += _nbytes(state.state2.code) + _nbytes(state.offset)
    return StorageBytes(n=math.prod(state.shape), codes=_nbytes(weight.data), absmax=_nbytes(state.absmax),
                        nested_absmax=_nbytes(state.state2.absmax) if nested else 0, tables=tables,
                        blocksize=state.blocksize, nested_blocksize=state.state2.blocksize if nested else 0)


def storage_table(model) -> dict[str, StorageBytes]:
    """`storage_bytes` of every 4-bit projection, by name."""
    return {name: storage_bytes(module) for name, module in quantized_projections(model).items()}


def describe_quant_state(name: str, module) -> dict:
    """Report: what bitsandbytes keeps for one 4-bit layer: the packed codes, the quantization type and
    blocksize, and the double-quantization state (`QuantState.nested`, `state2`, the absmax dtype, the
    code tables). Checks the 16-value table against chapter 3's NF4. Taught in lab 3, section 2."""
    weight, state = module.weight, _state(module)
    d, k = state.shape
    n = d * k
    blocks = math.ceil(n / state.blocksize)
    print(f"{name}: 가중치 {d:,} × {k:,} = {n:,}개")
    print(f"저장: {_name(weight.data.dtype)} 값 {weight.data.numel():,}개 (한 바이트에 4비트 코드 두 개)")
    print(f"양자화 형식(quant_type) {state.quant_type}, 블록 크기(blocksize) {state.blocksize} → 블록 {blocks:,}개, "
          f"값 표(code) {state.code.numel()}개")
    assert weight.data.dtype == torch.uint8 and weight.data.numel() == math.ceil(n / 2), "two codes per byte"
    assert state.absmax.numel() == blocks, "one scale per block"
    assert state.code.numel() == 16, "a 4-bit code indexes 16 values"
    if state.quant_type == "nf4":
        assert torch.allclose(state.code.float().cpu(), q.nf4_code(), atol=1e-6), "not chapter 3's NF4 table"
        print("값 표는 3장에서 정규분포의 분위수로 만든 NF4 표와 같습니다(차이 1e-6 미만).")
    print(f"이중 양자화(nested) {state.nested}: 블록 스케일(absmax) {_name(state.absmax.dtype)} {state.absmax.numel():,}개")
    found = {"n": n, "blocks": blocks, "quant_type": state.quant_type, "nested": bool(state.nested)}
    if state.nested:
        s2 = state.state2
        nested_blocks = math.ceil(blocks / s2.blocksize)
        print(f"  2단계(state2): 블록 크기 {s2.blocksize} → {_name(s2.absmax.dtype)} 스케일 {s2.absmax.numel():,}개, "
              f"값 표 {s2.code.numel()}개, 평균(offset) {state.offset.numel()}개")
        assert state.absmax.dtype == torch.uint8, "double quantization stores the block scales in 8 bit"
        assert s2.absmax.numel() == nested_blocks and s2.absmax.dtype == torch.float32
        found.update(nested_blocksize=s2.blocksize, nested_blocks=nested_blocks)
    return found


def check_storage_bits(module) -> StorageBytes:
    """Report: the bytes of the codes, the scales and the nested scales of one layer, the bits per weight
    they make, and chapter 3's formula (`quant.bits_per_param`). Asserts that they agree exactly once the
    last second-level block is counted whole. Taught in lab 3, section 2."""
    s = storage_bytes(module)
    print(f"코드 {s.codes:,} + 블록 스케일 {s.absmax:,} + 2단계 스케일 {s.nested_absmax:,} = "
          f"{s.codes + s.absmax + s.nested_absmax:,}바이트 (가중치 {s.n:,}개)")
    print(f"값 하나에 {s.bits_per_param:.4f}비트; 3장의 식 bits_per_param: {s.formula_bits:.4f}비트")
    print(f"층마다 한 번인 값 표와 평균: {s.tables:,}바이트")
    assert abs(s.bits_per_param - s.padded_bits) < 1e-9, "the layer stores other bytes than codes and block scales"
    assert abs(s.bits_per_param - s.formula_bits) <= 32 / s.n + 1e-12, "more than one partial block away from the formula"
    print("저장된 바이트는 3장의 식과 같습니다(마지막 2단계 블록이 덜 찼으면 그 몫만큼 다름).")
    return s


def block_scales(module) -> torch.Tensor:
    """The absmax of every block as the layer uses it (fp32): with double quantization, the uint8 codes
    looked up in the second-level table, times their block's fp32 scale, plus the offset."""
    state = _state(module)
    if not state.nested:
        return state.absmax.float()
    s2 = state.state2
    scale = s2.absmax.float().repeat_interleave(s2.blocksize)[: state.absmax.numel()]
    return s2.code.float()[state.absmax.long()] * scale + state.offset.float()


def dequantize_by_hand(module) -> torch.Tensor:
    """The weights a 4-bit layer multiplies by, rebuilt from what it stores with chapter 3's pieces:
    unpack two codes per byte (`quant.unpack_4bit`), look each up in the 16-value table, multiply by its
    block's scale (`block_scales`). fp32, (d, k). Taught in lab 3, section 2."""
    state = _state(module)
    n = math.prod(state.shape)
    codes = q.unpack_4bit(module.weight.data.reshape(-1), n).long()
    values = state.code.float()[codes].reshape(-1, state.blocksize) * block_scales(module).unsqueeze(1)
    return values.reshape(state.shape)


def check_dequantized(module) -> float:
    """Report: `dequantize_by_hand` against bitsandbytes' own `dequantize_4bit` (through
    `ftcourse.adapters.base_weight`), element by element. bitsandbytes returns the layer's compute
    dtype, so they agree to its rounding. Returns the largest difference. Taught in lab 3, section 2."""
    from .adapters import base_weight

    state = _state(module)
    ours = dequantize_by_hand(module)
    theirs, in_4bit = base_weight(module)
    info = torch.finfo(state.dtype)
    gap = (ours - theirs).abs()
    print(f"손으로 푼 값과 bitsandbytes의 dequantize_4bit: 원소 {ours.numel():,}개, 최대 차이 {gap.max().item():.2e}")
    assert in_4bit and theirs.shape == ours.shape
    # one rounding to the compute dtype: half an eps relative, or half a subnormal step near zero
    assert bool((gap <= info.eps * ours.abs() + info.eps * info.smallest_normal).all()), \
        "the hand-made dequantization differs from bitsandbytes'"
    print("코드 × 값 표 × 블록 스케일이 층이 곱하는 값 그대로입니다(계산 형식의 반올림 안에서).")
    return gap.max().item()


@dataclass
class LayerSnapshot:
    """One 4-bit layer, dequantized and kept on the CPU, so its model can be freed before the 16-bit
    original is loaded: the values, the block scales, the code table and the compute dtype."""

    name: str
    weight: torch.Tensor   # dequantized, fp32, (d, k)
    scales: torch.Tensor   # the stored absmax of each block, fp32
    code: torch.Tensor     # the 16-value table
    blocksize: int
    dtype: torch.dtype     # what bitsandbytes dequantizes to


def snapshot(name: str, module) -> LayerSnapshot:
    """Take one 4-bit layer off the GPU (`LayerSnapshot`). Taught in lab 3, section 2."""
    from .adapters import base_weight

    state = _state(module)
    return LayerSnapshot(name=name, weight=base_weight(module)[0].cpu(), scales=block_scales(module).cpu(),
                         code=state.code.float().cpu(), blocksize=state.blocksize, dtype=state.dtype)


def quantization_error(layer: LayerSnapshot, original: torch.Tensor) -> dict:
    """The dequantized layer against the same layer of the 16-bit original, and the bound no element
    may pass: half the widest gap of the 16-value table times the block's true absmax, plus how far the
    stored scale is from that absmax (double quantization rounds it), plus the rounding to the compute
    dtype. Returns the error tensor, the bound and statistics (fp32, on the CPU)."""
    w = original.detach().float().cpu()
    err = layer.weight - w
    blocks = w.reshape(-1, layer.blocksize)
    true_absmax = blocks.abs().amax(1)
    half_gap = layer.code.sort().values.diff().max() / 2
    bound = ((true_absmax * half_gap + (true_absmax - layer.scales).abs()).unsqueeze(1)
             + torch.finfo(layer.dtype).eps * layer.weight.reshape(blocks.shape).abs() + 2**-24).reshape(w.shape)
    in_block_units = err.reshape(blocks.shape).abs() / true_absmax.clamp_min(1e-30).unsqueeze(1)
    return {"error": err, "bound": bound, "relative": (err.norm() / w.norm()).item(),
            "mean_abs": err.abs().mean().item(), "max_abs": err.abs().max().item(),
            "max_in_block_units": in_block_units.max().item(), "half_gap": half_gap.item(),
            "scale_error": ((true_absmax - layer.scales).abs() / true_absmax.clamp_min(1e-30)).max().item()}


def check_quantization_error(layer: LayerSnapshot, original: torch.Tensor) -> dict:
    """Report: how far the 4-bit layer is from the 16-bit original (`quantization_error`), and that every
    element is within the bound of blockwise NF4. Taught in lab 3, section 4."""
    assert tuple(original.shape) == tuple(layer.weight.shape), "not the same layer"
    found = quantization_error(layer, original)
    err = found["error"]
    print(f"{layer.name}: 원소 {err.numel():,}개, 블록 {err.numel() // layer.blocksize:,}개")
    print(f"상대 오차 ‖Ŵ − W‖/‖W‖ = {found['relative']:.4f}, 평균 |Ŵ − W| = {found['mean_abs']:.2e}, "
          f"최대 {found['max_abs']:.2e}")
    print(f"블록 absmax를 1로 본 최대 오차 {found['max_in_block_units']:.4f} (값 표의 가장 넓은 간격의 절반 "
          f"{found['half_gap']:.4f}); 저장된 스케일의 상대 오차 최대 {found['scale_error']:.2e}")
    assert found["max_abs"] > 0, "the 4-bit layer equals the original: was it quantized?"
    assert bool((err.abs() <= found["bound"]).all()), "an element is further from the original than NF4 allows"
    print("모든 원소가 블록 NF4 양자화의 오차 한계 안에 있습니다: 4비트 층은 이 16비트 원본을 양자화한 것입니다.")
    return found


# ----------------------------------------------------------------------------- weights as stored
@dataclass(frozen=True)
class WeightBytes:
    """The parameters of a model as stored: 4-bit weights (codes, scales, tables) and the rest."""

    n_4bit: int
    codes: int
    scales: int
    tables: int
    n_other: int
    other: int

    @property
    def total(self) -> int:
        return self.codes + self.scales + self.tables + self.other

    @property
    def n_params(self) -> int:
        return self.n_4bit + self.n_other


def weight_bytes(model) -> WeightBytes:
    """Count the model's parameters and their bytes, each tensor once (tied embeddings, shared tables)."""
    seen: set[int] = set()

    def once(t) -> int:
        key = t.data_ptr()
        if key in seen:
            return 0
        seen.add(key)
        return _nbytes(t)

    n4 = codes = scales = tables = n_other = other = 0
    for module in model.modules():
        if is_4bit(module):
            s = storage_bytes(module)
            n4 += s.n
            codes += once(module.weight.data)
            state = module.weight.quant_state
            scales += once(state.absmax) + (once(state.state2.absmax) if state.nested else 0)
            tables += once(state.code) + (once(state.state2.code) + once(state.offset) if state.nested else 0)
    for p in model.parameters():
        if type(p).__name__ != "Params4bit" and p.data_ptr() not in seen:
            n_other += p.numel()
            other += once(p)
    return WeightBytes(n4, codes, scales, tables, n_other, other)


def estimated_counts(config, in_4bit: bool) -> dict:
    """What the course's estimator (`ftcourse.memory.base_weight_bytes`) assumes about a model: how many
    weights it stores in NF4, how many in 16 bit, and its byte total."""
    skip = mem.skip_modules_for(config) if in_4bit else ()
    linear = config.num_hidden_layers * sum(i * o for i, o in linear_shapes(config).values())
    quantized = linear - mem.linear_params_in_16bit(config, skip) if in_4bit else 0
    total = mem.base_weight_bytes(config, in_4bit, skip)
    nf4 = int(quantized * mem.NF4_BYTES)
    return {"n_4bit": quantized, "n_other": (total - nf4) // 2, "bytes": total, "nf4_bytes": nf4}


def check_weight_bytes(model, config, in_4bit: bool) -> WeightBytes:
    """Report: the model's weights as stored, against the course's estimator for the same architecture
    (`config`: the one the lab's start check uses). The counts of 4-bit and other parameters must be the
    estimator's; the bytes are printed next to its figure. Taught in lab 3, sections 2 and 4."""
    found, est = weight_bytes(model), estimated_counts(config, in_4bit)
    print(f"4비트 가중치 {found.n_4bit:,}개: 코드 {found.codes:,} + 스케일 {found.scales:,} + 값 표 {found.tables:,}바이트 "
          f"(추정식 {est['nf4_bytes']:,}바이트)")
    print(f"4비트가 아닌 파라미터 {found.n_other:,}개: {found.other:,}바이트 "
          f"(파라미터당 {found.other / max(found.n_other, 1):.2f}바이트)")
    print(f"합계 {found.total:,}바이트 = {found.total / GiB:.3f} GiB; 추정식 base_weight_bytes {est['bytes']:,}바이트, "
          f"비율 {found.total / est['bytes']:.3f}")
    assert found.n_4bit == est["n_4bit"], "another number of weights is in 4 bit than the estimator assumes"
    assert found.n_other == est["n_other"], "another number of parameters is not in 4 bit than the estimator assumes"
    print("어느 파라미터가 4비트이고 어느 것이 아닌지, 그 개수가 추정식과 같습니다.")
    return found


# ----------------------------------------------------------------------------- measuring
@dataclass
class GpuUse:
    """Wall time and CUDA memory of a block: `with quant_lab.gpu_use() as use: ...`.

    On entry, freed blocks go back to the driver (`empty_cache`) and the peak statistics are reset, so
    `peak_reserved` (`torch.cuda.max_memory_reserved`) and `peak_allocated` belong to this block alone;
    `added` is what the block left allocated (`torch.cuda.memory_allocated`). None without CUDA.
    Taught in lab 3, sections 2 and 4.
    """

    seconds: float = 0.0
    allocated_before: int | None = None
    allocated_after: int | None = None
    peak_allocated: int | None = None
    peak_reserved: int | None = None
    _start: float = dataclasses.field(default=0.0, repr=False)

    @property
    def added(self) -> int | None:
        return None if self.allocated_after is None else self.allocated_after - self.allocated_before

    def __enter__(self) -> "GpuUse":
        free_memory()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.allocated_before = torch.cuda.memory_allocated()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
            self.allocated_after = torch.cuda.memory_allocated()
            self.peak_allocated = torch.cuda.max_memory_allocated()
            self.peak_reserved = torch.cuda.max_memory_reserved()
        self.seconds = time.perf_counter() - self._start

    def as_dict(self) -> dict:
        return {"seconds": self.seconds, "added": self.added, "peak_allocated": self.peak_allocated,
                "peak_reserved": self.peak_reserved}


def gpu_use() -> GpuUse:
    return GpuUse()


def free_memory() -> None:
    """Collect garbage and hand the caching allocator's free blocks back (after `del model`)."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def step_timer(counter: steps.TokenCounter | None = None):
    """A `TrainerCallback` that records the wall time of each optimizer step (CUDA synchronized): the
    time from one step's end to the next, the first from the start of training; and, with a
    `steps.TokenCounter`, the tokens counted so far at each step's end."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds: list[float] = []
            self.tokens: list[int] = []
            self._last = None

        def _now(self) -> float:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            return time.perf_counter()

        def on_train_begin(self, args, state, control, **kwargs):
            self._last = self._now()

        def on_step_end(self, args, state, control, **kwargs):
            now = self._now()
            if self._last is not None:
                self.seconds.append(now - self._last)
                if counter is not None:
                    self.tokens.append(counter.tokens)
            self._last = now

    return StepTimer()


def after_first_step(seconds: list[float], tokens: list[int]) -> tuple[float, float]:
    """Seconds per step (the median) and tokens per second of the steps after the first, which also
    pays for compiling kernels and warming the allocator: `seconds` per step and the running token
    count at each step's end (`step_timer`). A run of one step falls back to that step.

    The data loader hands the trainer the next batch before a step ends, so a running count is ahead
    by that batch at every step's end; the difference of two counts is off by at most one batch.
    Taught in lab 3, section 3."""
    if len(seconds) < 2:
        total = sum(seconds)
        return total, (tokens[-1] / total if tokens and total > 0 else math.nan)
    later = seconds[1:]
    per_second = (tokens[-1] - tokens[0]) / sum(later) if len(tokens) == len(seconds) else math.nan
    return statistics.median(later), per_second


def train_and_measure(trainer, pad_id: int | None, label: str) -> dict:
    """Train, measuring time, memory and the tokens the model saw (padding excluded), and summarise the
    run: steps, examples, trainable parameters and their dtypes, seconds per step and tokens per second
    after the first step (`after_first_step`), peak memory and the losses. Taught in lab 3, section 3."""
    counter = steps.TokenCounter(trainer.data_collator, pad_id)
    trainer.data_collator = counter
    timer = step_timer(counter)
    trainer.add_callback(timer)
    with gpu_use() as use:
        trainer.train()
    losses = steps.logged_losses(trainer)
    k = max(1, len(losses) // 5)
    per_step, per_second = after_first_step(timer.seconds, timer.tokens)
    trained = [p for p in trainer.model.parameters() if p.requires_grad]
    return {"label": label, "steps": len(losses), "examples": len(trainer.train_dataset),
            "trainable": int(trainer.model.get_nb_trainable_parameters()[0]),
            "trainable_dtypes": sorted({_name(p.dtype) for p in trained}),
            "batch_size": trainer.args.per_device_train_batch_size,
            "grad_accum": trainer.args.gradient_accumulation_steps,
            "seconds": use.seconds, "step_seconds": per_step, "first_step_seconds": (timer.seconds or [None])[0],
            "tokens": counter.tokens, "tokens_per_second": per_second,
            "peak_reserved": use.peak_reserved, "peak_allocated": use.peak_allocated,
            "final_loss": sum(losses[-k:]) / k, "losses": losses}


def check_same_run(first: dict, second: dict) -> None:
    """Report: two training runs that are compared did the same work: the same number of examples,
    batch, accumulation and steps, and the same number of trainable parameters; every loss finite.
    Taught in lab 3, sections 4 and 5."""
    same = ("examples", "batch_size", "grad_accum", "steps", "trainable", "trainable_dtypes")
    print(f"{first['label']} ↔ {second['label']}")
    print(f"예제 {first['examples']:,}개, 배치 {first['batch_size']} × 누적 {first['grad_accum']}, "
          f"{first['steps']}스텝, 학습 파라미터 {first['trainable']:,}개({', '.join(first['trainable_dtypes'])})")
    for key in same:
        assert first[key] == second[key], f"{key}: {first[key]} vs {second[key]}"
    for run in (first, second):
        assert len(run["losses"]) == run["steps"] and all(math.isfinite(x) for x in run["losses"]), run["label"]
    print("두 실행의 데이터, 배치, 스텝, 어댑터의 크기와 형식이 같고 손실이 모두 유한합니다.")


def save_training_data(dataset, path: Path) -> Path:
    """Write a trainer's prepared examples (token ids and labels, after the response-only mask) as JSON
    Lines, so that another process trains on exactly the same tokens. Taught in lab 3, section 3."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for ids, labels in zip(dataset["input_ids"], dataset["labels"]):
            f.write(json.dumps({"input_ids": list(ids), "labels": list(labels)}) + "\n")
    return path


# ----------------------------------------------------------------------------- predicted vs measured
def memory_rows(recipe, config, measured: dict) -> list[dict]:
    """The lab's predicted-vs-measured memory table, one row per measurement.

    `measured` maps the keys below to a `GpuUse` (or its `as_dict()`), or to None when the step did not
    run. Predictions come from the course's estimator for `config` (the start check's): the stored
    weights for a load (`memory.base_weight_bytes`); the training peak for a run
    (`memory.lora_training_peak_bytes`, which `ftcourse.labs.peak_estimate_bytes` uses; for the plain stack,
    whose checkpointing keeps every layer's input on the GPU, `lora_peak_breakdown(offload_checkpoints=False)`).
    A load is measured by what it left allocated, a run by its peak reserved memory. "T4" says whether
    the peak (measured, else predicted) stays under a T4's 14.74 GiB. Taught in lab 3, section 6.
    """
    from .labtemplate import T4_USABLE_GIB

    lora = lora_param_count(config, recipe.lora_r, PROJECTIONS)
    b, s = recipe.batch_size, recipe.max_seq_length
    predicted = {
        "load_4bit": mem.base_weight_bytes(config, True, mem.skip_modules_for(config)),
        "load_16bit": mem.base_weight_bytes(config, False),
        "qlora": mem.lora_training_peak_bytes(config, lora, b, s, True),
        "lora_16bit": mem.lora_training_peak_bytes(config, lora, b, s, False),
        "baseline_qlora": mem.lora_peak_breakdown(config, lora, b, s, True, offload_checkpoints=False).total,
    }
    names = {"load_4bit": "4비트로 불러오기 (Unsloth)", "load_16bit": "16비트로 불러오기 (Unsloth)",
             "qlora": "QLoRA 학습 (Unsloth)", "lora_16bit": "16비트 LoRA 학습 (Unsloth)",
             "baseline_qlora": "QLoRA 학습 (transformers + PEFT)"}
    rows = []
    for key, name in names.items():
        use = measured.get(key)
        use = use.as_dict() if isinstance(use, GpuUse) else use
        value = None
        if use:
            value = use["added"] if key.startswith("load") else use["peak_reserved"]
        peak = (use or {}).get("peak_reserved") or value
        rows.append({"what": name, "key": key, "predicted_gib": predicted[key] / GiB,
                     "measured_gib": None if value is None else value / GiB,
                     "peak_reserved_gib": None if peak is None else peak / GiB,
                     "measured_over_predicted": None if value is None else value / predicted[key],
                     "fits_t4": ((peak if peak is not None else predicted[key]) / GiB) < T4_USABLE_GIB})
    return rows


# ----------------------------------------------------------------------------- the plain baseline
def _recipe_to_json(recipe) -> dict:
    return {"type": type(recipe).__name__, "fields": dataclasses.asdict(recipe)}


def _recipe_from_json(data: dict):
    cls = getattr(recipes, data["type"])
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data["fields"].items()}
    return cls(**fields)


def _trainer_class(spec: str | None):
    """TRL's SFTTrainer, or `module:function` returning a trainer class (the CPU tests pass the course's
    CPU trainer, since TRL 1.15's loss kernel needs a GPU)."""
    if not spec:
        from trl import SFTTrainer

        return SFTTrainer
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)()


def match_compute_dtype(model, dtype: torch.dtype) -> list[str]:
    """Make every bitsandbytes 4-bit layer compute in `dtype`: its `compute_dtype` (what the layer casts
    its input to) and its `quant_state.dtype` (what `dequantize_4bit` returns). Returns the dtypes the
    layers had, so a caller can say what changed.

    A checkpoint saved in 4 bit carries its own `quantization_config`, and transformers uses it instead
    of the `BitsAndBytesConfig` passed to `from_pretrained` (it only warns: `merge_quantization_configs`
    in transformers/quantizers/auto.py); its `bnb_4bit_compute_dtype` and the stored quantization states
    then decide the compute dtype, whatever the GPU. Unsloth sets both to the model's dtype after loading
    (`patch_model_and_tokenizer` in unsloth_zoo/patching_utils.py); this does the same for the plain
    baseline. Taught in lab 3, section 5."""
    before = set()
    for module in model.modules():
        if is_4bit(module):
            before.add(_name(module.compute_dtype) if module.compute_dtype is not None else "None")
            before.add(_name(module.weight.quant_state.dtype))
            module.compute_dtype = dtype
            module.weight.quant_state.dtype = dtype
    return sorted(before)


def keep_adapters_in_fp32(model) -> int:
    """Cast the trainable parameters (the LoRA matrices) back to float32; returns how many were not.

    TRL 1.15's `SFTTrainer` casts the trainable parameters of a quantized model to bfloat16 when it is
    built (`if _is_quantized_model:` in trl/trainer/sft_trainer.py). Unsloth's trainer removes that cast
    (unsloth/models/rl.py: "breaks GradScaler with fp16=True") and keeps the adapters in float32. With
    `fp16=True` (a T4) bfloat16 adapters stop the first step: the loss scaler's CUDA kernel
    `_amp_foreach_non_finite_check_and_unscale_cuda` has no bfloat16 (huggingface/trl#4901). The
    optimizer is made when training starts, so casting after the trainer exists is enough.
    Taught in lab 3, section 5."""
    changed = 0
    for p in model.parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()
            changed += 1
    return changed


def baseline(recipe, data_path: Path, out_path: Path, trainer: str | None = None) -> dict:
    """The plain stack, in this process (which must not have imported Unsloth): the recipe's model in 4
    bit with transformers + bitsandbytes (NF4, double quantization; a checkpoint saved in 4 bit keeps its
    own settings), computing in the `compute_dtype` of this GPU (`match_compute_dtype`), LoRA by PEFT with
    the lab's arguments, TRL's trainer with the lab's `SFTConfig` (TRL's own gradient checkpointing,
    collator and fused LM head) and float32 adapters as in Unsloth (`keep_adapters_in_fp32`), on the
    examples in `data_path`. Writes and returns its measurements."""
    if "unsloth" in sys.modules:
        raise RuntimeError("the plain baseline must run in a Python that has not imported unsloth")
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    on_gpu = torch.cuda.is_available()
    dtype = compute_dtype(device_capability())
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=dtype)
    with gpu_use() as loading:
        model = AutoModelForCausalLM.from_pretrained(recipe.model, quantization_config=quant, dtype=dtype,
                                                     device_map={"": 0} if on_gpu else "cpu")
    loaded_compute_dtypes = match_compute_dtype(model, dtype)
    tokenizer = AutoTokenizer.from_pretrained(recipe.model)
    arguments = steps.lora_arguments(recipe)
    torch.manual_seed(arguments["random_state"])
    config = LoraConfig(task_type="CAUSAL_LM", **{k: v for k, v in arguments.items() if k not in UNSLOTH_ONLY_ARGUMENTS})
    model = get_peft_model(model, config)
    rows = [json.loads(line) for line in Path(data_path).read_text(encoding="utf-8").splitlines() if line]
    data = Dataset.from_list(rows)
    args = steps.sft_config(recipe, str(Path(out_path).parent / "baseline-run"), disable_tqdm=True,
                            **precision_flags(dtype), **({} if on_gpu else {"use_cpu": True}))
    run = _trainer_class(trainer)(model=model, processing_class=tokenizer, train_dataset=data, args=args)
    recast = keep_adapters_in_fp32(run.model)
    summary = train_and_measure(run, tokenizer.pad_token_id, "transformers + PEFT + bitsandbytes")
    import peft
    import transformers
    import trl

    summary.update(load=loading.as_dict(), dtype=_name(dtype), bf16_answers=bf16_answers(),
                   loaded_compute_dtypes=loaded_compute_dtypes, adapters_recast=recast,
                   imported_unsloth=any(m == "unsloth" or m.startswith("unsloth.") for m in sys.modules),
                   gradient_checkpointing=bool(args.gradient_checkpointing),
                   versions={"transformers": transformers.__version__, "peft": peft.__version__,
                             "trl": trl.__version__, "torch": torch.__version__})
    Path(out_path).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def run_baseline(recipe, data_path: Path, out_dir: Path, trainer: str | None = None) -> dict:
    """Run `baseline` in a fresh Python (`python -m ftcourse.quant_lab baseline ...`) and return what it
    measured. The child imports transformers, PEFT, bitsandbytes and TRL but never Unsloth; it finds this
    package through PYTHONPATH and inherits the environment (offline mode in the smoke profile). Free the
    GPU before calling it: both processes share the card. Taught in lab 3, section 5."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recipe_path, out_path = out_dir / "recipe.json", out_dir / "baseline.json"
    recipe_path.write_text(json.dumps(_recipe_to_json(recipe)), encoding="utf-8")
    out_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "ftcourse.quant_lab", "baseline", "--recipe-json", str(recipe_path),
               "--data", str(data_path), "--out", str(out_path)] + (["--trainer", trainer] if trainer else [])
    path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run(command, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True)
    (out_dir / "baseline.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0 or not out_path.exists():
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise RuntimeError(f"기본 스택 실행이 실패했습니다(the plain baseline failed, exit {done.returncode}):\n{tail}")
    return json.loads(out_path.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftcourse.quant_lab")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("baseline", help="train the recipe with transformers + PEFT + bitsandbytes + TRL")
    run.add_argument("--recipe-json", required=True, type=Path)
    run.add_argument("--data", required=True, type=Path, help="JSON Lines of input_ids and labels")
    run.add_argument("--out", required=True, type=Path, help="where the measurements go (JSON)")
    run.add_argument("--trainer", default=None, help="module:function returning a trainer class (default: TRL's SFTTrainer)")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"no such data file: {args.data}")
    recipe = _recipe_from_json(json.loads(args.recipe_json.read_text(encoding="utf-8")))
    baseline(recipe, args.data, args.out, args.trainer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
