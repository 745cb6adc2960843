"""Numeric formats and quantization from scratch: the code chapter 3 teaches.

Everything works on torch tensors on the CPU. The chapter checks each function against what PyTorch
(`torch.finfo`, dtype conversions) or bitsandbytes (`quantize_4bit`, `int8_vectorwise_quant`, its NF4
table) computes on the same inputs; `tests/test_quant.py` does the same without the page.

Conventions: a float format is (exponent bits, mantissa bits) plus one sign bit; a 4-bit "code" is a
table of 16 values in [-1, 1] that a block's codes index, scaled by the block's absmax.
"""
from __future__ import annotations

import math

import torch

# (exponent bits, mantissa bits); the sign takes one more bit
FLOAT_FORMATS = {
    "FP32": (8, 23),
    "TF32": (8, 10),
    "FP16": (5, 10),
    "BF16": (8, 7),
    "FP8 E4M3": (4, 3),
    "FP8 E5M2": (5, 2),
}
_INT_VIEW = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16,
             torch.float8_e4m3fn: torch.uint8, torch.float8_e5m2: torch.uint8}
_LAYOUT = {torch.float32: "FP32", torch.float16: "FP16", torch.bfloat16: "BF16",
           torch.float8_e4m3fn: "FP8 E4M3", torch.float8_e5m2: "FP8 E5M2"}


def bit_fields(x: torch.Tensor) -> list[tuple[str, str, str]]:
    """The (sign, exponent, mantissa) bit strings of each element, read from the tensor's own bytes.

    `Tensor.view(int dtype)` reinterprets the stored bits without converting the value.

    Taught in 3장, '비트로 수를 적는 법' ({ref}`ch3-bits`).
    """
    exp_bits, man_bits = FLOAT_FORMATS[_LAYOUT[x.dtype]]
    width = 1 + exp_bits + man_bits
    raw = x.reshape(-1).view(_INT_VIEW[x.dtype]).to(torch.int64) & ((1 << width) - 1)
    out = []
    for word in raw.tolist():
        s = format(word, f"0{width}b")
        out.append((s[0], s[1:1 + exp_bits], s[1 + exp_bits:]))
    return out


def decode_bits(sign: str, exponent: str, mantissa: str, specials: str = "ieee") -> float:
    """The value of a float from its bit fields.

    value = (-1)^s x 2^(e - bias) x 1.m with bias = 2^(E-1) - 1; an all-zero exponent is subnormal:
    (-1)^s x 2^(1 - bias) x 0.m. The all-ones exponent depends on the format (`specials`):
    "ieee" (FP32, FP16, BF16, FP8 E5M2): inf if the mantissa is 0, else NaN; "fn" (FP8 E4M3): a normal
    number, except that all-ones mantissa is NaN; "none" (FP4 E2M1): always a normal number.

    Taught in 3장, '비트로 수를 적는 법' ({ref}`ch3-bits`).
    """
    exp_bits, man_bits = len(exponent), len(mantissa)
    bias = 2 ** (exp_bits - 1) - 1
    e, m = int(exponent, 2), int(mantissa, 2)
    if e == 2 ** exp_bits - 1 and specials != "none":
        if specials == "ieee":
            return (-math.inf if sign == "1" else math.inf) if m == 0 else math.nan
        if m == 2 ** man_bits - 1:
            return math.nan
    if e == 0:
        magnitude = 2.0 ** (1 - bias) * (m / 2 ** man_bits)
    else:
        magnitude = 2.0 ** (e - bias) * (1 + m / 2 ** man_bits)
    return -magnitude if sign == "1" else magnitude


def format_limits(exp_bits: int, man_bits: int, ieee: bool = True) -> dict[str, float]:
    """Largest finite value, smallest normal, smallest subnormal and eps (gap after 1.0) of a format.

    IEEE formats keep the all-ones exponent for inf/NaN, so the largest exponent field is 2^E - 2.
    FP8 E4M3 (`ieee=False`, the "fn" variant) has no inf and only gives up the all-ones mantissa of the
    all-ones exponent to NaN, which is how it reaches 448 with four exponent bits.

    Taught in 3장, '비트로 수를 적는 법' ({ref}`ch3-bits`).
    """
    bias = 2 ** (exp_bits - 1) - 1
    if ieee:
        max_value = 2.0 ** (2 ** exp_bits - 2 - bias) * (2 - 2.0 ** -man_bits)
    else:
        max_value = 2.0 ** (2 ** exp_bits - 1 - bias) * (2 - 2.0 ** (1 - man_bits))
    return {
        "max": max_value,
        "smallest_normal": 2.0 ** (1 - bias),
        "smallest_subnormal": 2.0 ** (1 - bias - man_bits),
        "eps": 2.0 ** -man_bits,
    }


def round_to_tf32(x: torch.Tensor) -> torch.Tensor:
    """Round FP32 values to TF32's 10 mantissa bits (round half to even), keeping FP32 storage.

    TF32 is not a storage type: tensor cores read FP32 inputs and use only their top 10 mantissa bits.

    Taught in 3장, '비트로 수를 적는 법' ({ref}`ch3-bits`).
    """
    drop = 23 - 10
    x = x.float()
    bits = x.abs().contiguous().view(torch.int32).to(torch.int64)  # sign handled apart
    keep = (bits >> drop) & 1  # the last kept bit decides ties (to even)
    rounded = (bits + (1 << (drop - 1)) - 1 + keep) >> drop << drop
    return torch.copysign(rounded.to(torch.int32).view(torch.float32), x)


def absmax_quantize(x: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric quantization: scale so the largest |x| lands on the largest code, round.

    INT8: q = round(127 x / max|x|) in [-127, 127]; one scale for the whole tensor.

    Taught in 3장, '양자화를 직접: absmax와 영점' ({ref}`ch3-quantize`).
    """
    q_max = 2 ** (bits - 1) - 1
    scale = x.abs().max() / q_max
    q = torch.round(x / scale).clamp(-q_max, q_max).to(torch.int8 if bits <= 8 else torch.int32)
    return q, scale


def absmax_dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x ~ q x scale.

    Taught in 3장, '양자화를 직접: absmax와 영점' ({ref}`ch3-quantize`).
    """
    return q.float() * scale


def zeropoint_quantize(x: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Asymmetric quantization: map [min x, max x] onto [0, 2^bits - 1]; the zero point is the code of 0.

    Taught in 3장, '양자화를 직접: absmax와 영점' ({ref}`ch3-quantize`).
    """
    q_max = 2 ** bits - 1
    lo, hi = x.min(), x.max()
    scale = (hi - lo) / q_max
    zero = torch.round(-lo / scale)
    q = torch.round(x / scale + zero).clamp(0, q_max).to(torch.uint8 if bits <= 8 else torch.int32)
    return q, scale, zero


def zeropoint_dequantize(q: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
    """x ~ (q - zero) x scale.

    Taught in 3장, '양자화를 직접: absmax와 영점' ({ref}`ch3-quantize`).
    """
    return (q.float() - zero) * scale


def int8_vectorwise(x: torch.Tensor, threshold: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """LLM.int8's row-wise absmax INT8 with outlier columns set aside.

    A value with |x| >= threshold is an outlier, and its column (feature) goes to the 16-bit part of
    LLM.int8's matmul: outliers are left out of the rows' absmax, and the codes of outlier columns are
    zero. threshold = 0: no outliers. Returns the int8 codes, each row's absmax and the outlier columns.

    Taught in 3장, '이상치와 블록 단위 양자화' ({ref}`ch3-outliers`).
    """
    outlier_cols = torch.empty(0, dtype=torch.long)
    if threshold > 0:
        outliers = x.abs() >= threshold
        outlier_cols = torch.nonzero(outliers.any(dim=0)).flatten()
        x = x.masked_fill(outliers, 0)
    row_absmax = x.abs().amax(dim=1)
    q = torch.round(x * (127 / row_absmax).unsqueeze(1)).to(torch.int8)
    q[:, outlier_cols] = 0
    return q, row_absmax, outlier_cols


def quantize_blocks(x: torch.Tensor, code: torch.Tensor, blocksize: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Blockwise quantization with any table of levels in [-1, 1] (INT4, FP4, NF4, ...).

    Each block of `blocksize` consecutive values is divided by its absmax and every value takes the
    index of the nearest level. Returns the codes (one per value) and the per-block absmax.

    Taught in 3장, '이상치와 블록 단위 양자화' ({ref}`ch3-outliers`).
    """
    blocks = x.reshape(-1, blocksize).float()
    absmax = blocks.abs().amax(dim=1)
    normed = blocks / absmax.clamp(min=1e-38).unsqueeze(1)
    codes = (normed.unsqueeze(-1) - code.float()).abs().argmin(dim=-1)
    return codes.reshape(-1).to(torch.uint8), absmax


def dequantize_blocks(codes: torch.Tensor, absmax: torch.Tensor, code: torch.Tensor,
                      blocksize: int = 64) -> torch.Tensor:
    """Look each code up in the table and multiply by its block's absmax (flat result).

    Taught in 3장, '이상치와 블록 단위 양자화' ({ref}`ch3-outliers`).
    """
    values = code.float()[codes.long()].reshape(-1, blocksize)
    return (values * absmax.unsqueeze(1)).reshape(-1)


def int4_code() -> torch.Tensor:
    """Symmetric INT4 as a table: the 15 levels -7/7 ... 7/7 (absmax maps onto 7).

    Taught in 3장, '4비트: 한 바이트에 코드 두 개' ({ref}`ch3-int4`).
    """
    return torch.arange(-7, 8, dtype=torch.float32) / 7


def e2m1_code() -> torch.Tensor:
    """FP4 E2M1 (1 sign, 2 exponent, 1 mantissa bit, bias 1) as a table normalized to [-1, 1].

    Magnitudes 0, 0.5 (subnormal), 1, 1.5, 2, 3, 4, 6, divided by 6.

    Taught in 3장, '4비트: 한 바이트에 코드 두 개' ({ref}`ch3-int4`).
    """
    pos = torch.tensor([decode_bits("0", format(e, "02b"), str(m), "none") for e in range(4) for m in range(2)])
    return torch.sort(torch.cat([-pos[1:], pos])).values / pos.max()


def pack_4bit(codes: torch.Tensor) -> torch.Tensor:
    """Two 4-bit codes per byte: the first in the high nibble, the second in the low one.

    Taught in 3장, '4비트: 한 바이트에 코드 두 개' ({ref}`ch3-int4`).
    """
    c = codes.reshape(-1).to(torch.uint8)
    if c.numel() % 2:
        c = torch.cat([c, c.new_zeros(1)])
    return (c[0::2] << 4) | c[1::2]


def unpack_4bit(packed: torch.Tensor, n: int) -> torch.Tensor:
    """Undo `pack_4bit`: the first `n` codes.

    Taught in 3장, '4비트: 한 바이트에 코드 두 개' ({ref}`ch3-int4`).
    """
    p = packed.reshape(-1)
    out = torch.stack([p >> 4, p & 0x0F], dim=1).reshape(-1)
    return out[:n]


NF4_DELTA = 0.5 * (1 / 30 + 1 / 32)  # bitsandbytes' end probability 0.9677083 is 1 - NF4_DELTA to 7 decimals


def nf4_code(delta: float = NF4_DELTA) -> torch.Tensor:
    """NF4 from the quantiles of N(0, 1), built as in QLoRA (Dettmers et al., 2023, Sec. 3).

    The positive side takes 8 quantiles and the negative side 7, evenly spaced in probability from
    1 - delta down to 0.5 (0.5 itself is the shared zero). Stopping at 1 - delta keeps the extreme
    quantile finite. The default delta is the mean of 1/30 and 1/32, which reproduces the end
    probability 0.9677083 of bitsandbytes' `create_normal_map`. Dividing by the largest value
    gives 16 values in [-1, 1].

    Taught in 3장, 'NF4: 정규분포의 분위수로 만든 4비트' ({ref}`ch3-nf4`).
    """
    top = 1 - delta
    positive = torch.special.ndtri(torch.linspace(top, 0.5, 9, dtype=torch.float64)[:-1])
    negative = -torch.special.ndtri(torch.linspace(top, 0.5, 8, dtype=torch.float64)[:-1])
    values = torch.cat([negative, torch.zeros(1, dtype=torch.float64), positive])
    return torch.sort(values / values.abs().max()).values.float()


def quantize_nf4(w: torch.Tensor, blocksize: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Blockwise NF4: codes from `quantize_blocks` with the NF4 table, packed two per byte.

    Returns the packed uint8 codes and the fp32 absmax of each block (no double quantization).

    Taught in 3장, 'NF4: 정규분포의 분위수로 만든 4비트' ({ref}`ch3-nf4`).
    """
    codes, absmax = quantize_blocks(w, nf4_code(), blocksize)
    return pack_4bit(codes), absmax


def dequantize_nf4(packed: torch.Tensor, absmax: torch.Tensor, shape, blocksize: int = 64) -> torch.Tensor:
    """Unpack the codes, look them up in the NF4 table and rescale each block.

    Taught in 3장, 'NF4: 정규분포의 분위수로 만든 4비트' ({ref}`ch3-nf4`).
    """
    n = math.prod(shape)
    return dequantize_blocks(unpack_4bit(packed, n), absmax, nf4_code(), blocksize).reshape(shape)


def bits_per_param(bits: int = 4, blocksize: int = 64, double_quant: bool = False, blocksize2: int = 256,
                   const_bits: int = 32, const_bits_quantized: int = 8) -> float:
    """Storage per weight: the code plus its share of the block constants.

    Without double quantization each block of `blocksize` weights has one fp32 absmax: 32/64 = 0.5 bit.
    With it (QLoRA), the absmax values are themselves quantized to 8 bit in blocks of `blocksize2`,
    each block keeping one fp32 constant: 8/64 + 32/(64 x 256) = 0.127 bit.

    Taught in 3장, '이중 양자화, 페이지드 옵티마이저, 설정' ({ref}`ch3-qlora`).
    """
    if double_quant:
        return bits + const_bits_quantized / blocksize + const_bits / (blocksize * blocksize2)
    return bits + const_bits / blocksize


def absmean_ternary(w: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """BitNet b1.58's weight quantizer: scale by the mean |w|, round, clip to {-1, 0, 1}.

    gamma = mean(|W|); W~ = RoundClip(W / (gamma + eps), -1, 1). The layer computes with W~ x gamma.

    Taught in 3장, 'BitNet b1.58: 값 세 개' ({ref}`ch3-bitnet`).
    """
    gamma = w.abs().mean()
    return torch.round(w / (gamma + eps)).clamp(-1, 1), gamma
