"""ftcourse.quant against PyTorch and bitsandbytes on the same inputs (CPU)."""
import math
import warnings

import bitsandbytes.functional as bnbF
import pytest
import torch

from ftcourse import quant as q

FLOAT_DTYPES = {"FP32": torch.float32, "FP16": torch.float16, "BF16": torch.bfloat16,
                "FP8 E4M3": torch.float8_e4m3fn, "FP8 E5M2": torch.float8_e5m2}


@pytest.mark.parametrize("name", list(FLOAT_DTYPES))
def test_decoding_the_bits_gives_back_every_value(name):
    dtype = FLOAT_DTYPES[name]
    torch.manual_seed(0)
    values = torch.cat([torch.randn(200) * 10 ** torch.randint(-6, 5, (200,)).float(),
                        torch.tensor([0.0, -0.0, 1.0, -2.5, float("inf"), float("nan")])])
    x = values.to(dtype)
    fields = q.bit_fields(x)
    exp_bits, man_bits = q.FLOAT_FORMATS[name]
    assert all((len(s), len(e), len(m)) == (1, exp_bits, man_bits) for s, e, m in fields)
    specials = "fn" if name == "FP8 E4M3" else "ieee"
    decoded = torch.tensor([q.decode_bits(*f, specials) for f in fields], dtype=torch.float64)
    assert torch.allclose(decoded, x.double(), rtol=0, atol=0, equal_nan=True)  # exactly, NaN included


def test_bit_fields_of_known_numbers():
    assert q.bit_fields(torch.tensor([1.0]))[0] == ("0", "01111111", "0" * 23)
    assert q.bit_fields(torch.tensor([-2.0], dtype=torch.float16))[0] == ("1", "10000", "0" * 10)
    # BF16 is the top half of FP32: same sign and exponent, mantissa cut to 7 bits
    x = torch.tensor([3.14159265])
    s32, e32, m32 = q.bit_fields(x)[0]
    assert q.bit_fields(x.to(torch.bfloat16))[0] == (s32, e32, m32[:7])  # 3.14159 rounds down here


@pytest.mark.parametrize("name", list(FLOAT_DTYPES))
def test_format_limits_equal_torch_finfo(name):
    dtype = FLOAT_DTYPES[name]
    limits = q.format_limits(*q.FLOAT_FORMATS[name], ieee=name != "FP8 E4M3")
    info = torch.finfo(dtype)
    assert limits["max"] == info.max
    assert limits["smallest_normal"] == info.smallest_normal
    assert limits["eps"] == info.eps
    # the smallest subnormal is representable, half of it rounds to zero
    tiny = torch.tensor([limits["smallest_subnormal"], limits["smallest_subnormal"] / 2], dtype=torch.float64)
    assert tiny.to(dtype).double().tolist() == [limits["smallest_subnormal"], 0.0]


def test_tf32_rounding_is_fp16s_mantissa_with_fp32s_range():
    torch.manual_seed(0)
    x = torch.randn(10_000) * 100  # inside FP16's normal range: both keep 10 mantissa bits
    assert torch.equal(q.round_to_tf32(x), x.half().float())
    big = torch.tensor([1e30, -3e-30])  # outside FP16's range, TF32 keeps the exponent
    assert torch.allclose(q.round_to_tf32(big), big, rtol=2 ** -11)
    assert q.round_to_tf32(torch.tensor([1 + 2 ** -11])).item() == 1.0  # a tie goes to even


def test_absmax_and_zeropoint_int8_equal_pytorch_quantization():
    torch.manual_seed(0)
    x = torch.randn(1000) * 3 + 1
    codes, scale = q.absmax_quantize(x)
    assert codes.dtype == torch.int8 and codes.abs().max() == 127
    expect = torch.fake_quantize_per_tensor_affine(x, scale.item(), 0, -127, 127)
    assert torch.equal(q.absmax_dequantize(codes, scale), expect)
    codes, scale, zero = q.zeropoint_quantize(x)
    assert codes.dtype == torch.uint8 and codes.min() == 0 and codes.max() == 255
    expect = torch.fake_quantize_per_tensor_affine(x, scale.item(), int(zero), 0, 255)
    assert torch.allclose(q.zeropoint_dequantize(codes, scale, zero), expect, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's quantized dtypes are deprecated, still a reference
        assert torch.equal(codes, torch.quantize_per_tensor(x, scale.item(), int(zero), torch.quint8).int_repr())


def test_zero_point_keeps_zero_exact():
    x = torch.tensor([-0.37, 0.0, 0.2, 1.9, 2.6])  # an uneven range: the zero point is not 128
    codes, scale, zero = q.zeropoint_quantize(x)
    assert zero.item() != 128 and codes[1] == zero
    assert q.zeropoint_dequantize(codes, scale, zero)[1].item() == 0.0


def test_rounding_error_is_at_most_half_a_step():
    torch.manual_seed(0)
    x = torch.randn(5000)
    codes, scale = q.absmax_quantize(x)
    assert (q.absmax_dequantize(codes, scale) - x).abs().max() <= scale / 2 + 1e-7
    codes, scale = q.absmax_quantize(x, bits=4)
    assert codes.abs().max() == 7


@pytest.mark.parametrize("threshold", [0.0, 6.0])
def test_int8_vectorwise_equals_bitsandbytes(threshold):
    torch.manual_seed(0)
    x = torch.randn(16, 64)
    x[3, 5], x[9, 40], x[0, 5] = 30.0, -12.0, 6.0
    ours = q.int8_vectorwise(x, threshold)
    theirs = bnbF.int8_vectorwise_quant(x.clone(), threshold=threshold)
    assert torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1])
    if threshold:
        assert ours[2].tolist() == theirs[2].tolist() == [5, 40]


def test_pack_4bit_puts_the_first_code_high_and_round_trips():
    codes = torch.tensor([1, 2, 15, 0, 7], dtype=torch.uint8)
    packed = q.pack_4bit(codes)
    assert packed.tolist() == [0x12, 0xF0, 0x70]
    assert torch.equal(q.unpack_4bit(packed, 5), codes)


def test_nf4_from_normal_quantiles_is_bitsandbytes_table():
    ours, theirs = q.nf4_code(), bnbF.get_4bit_type("nf4", device="cpu")
    assert ours.shape == (16,) and ours[7] == 0 and ours[0] == -1 and ours[-1] == 1
    assert torch.allclose(ours, theirs, rtol=0, atol=2e-7)  # bitsandbytes' table: rounded quantiles
    # the positive side has one level more than the negative side
    assert (ours > 0).sum() == 8 and (ours < 0).sum() == 7


@pytest.mark.parametrize("delta", [q.NF4_DELTA, 0.01, 0.1])
def test_nf4_construction_equals_bitsandbytes_generator(delta):
    pytest.importorskip("scipy")  # bitsandbytes' create_normal_map uses scipy.stats.norm
    generated = bnbF.create_normal_map(offset=1 - delta)
    theirs = torch.sort(torch.cat([generated[generated != 0], torch.zeros(1)])).values
    assert torch.allclose(q.nf4_code(delta), theirs, rtol=0, atol=5e-7)  # theirs: probabilities in fp32


@pytest.mark.parametrize("shape", [(256, 128), (64, 64 * 3)])
def test_blockwise_nf4_equals_bitsandbytes(shape):
    torch.manual_seed(0)
    w = torch.randn(shape) * 0.02
    packed, absmax = q.quantize_nf4(w)
    ref_packed, state = bnbF.quantize_4bit(w, blocksize=64, quant_type="nf4")
    assert torch.equal(packed, ref_packed.flatten()) and torch.equal(absmax, state.absmax)
    ours = q.dequantize_nf4(packed, absmax, w.shape)
    theirs = bnbF.dequantize_4bit(ref_packed, state)
    # same codes and scales; the two 16-entry tables differ by at most 2e-7
    assert torch.allclose(ours, theirs, rtol=0, atol=2e-7 * absmax.max().item())
    codes = q.unpack_4bit(packed, w.numel())
    same_table = q.dequantize_blocks(codes, absmax, bnbF.get_4bit_type("nf4", device="cpu")).reshape(shape)
    assert torch.equal(same_table, theirs)


def test_4bit_tables():
    assert torch.equal(q.int4_code() * 7, torch.arange(-7, 8).float())
    e2m1 = q.e2m1_code()
    assert (e2m1 * 6).tolist() == [-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6]
    # bitsandbytes' FP4 differs from E2M1 only in its smallest non-zero magnitude
    bnb_fp4 = torch.sort(bnbF.get_4bit_type("fp4", device="cpu").abs().unique()).values
    ours = torch.sort(e2m1.abs().unique()).values
    differ = ~torch.isclose(bnb_fp4, ours)
    assert differ.tolist() == [False, True] + [False] * 6
    assert bnb_fp4[1].item() == pytest.approx(0.0625 / 12) and ours[1].item() == pytest.approx(0.5 / 6)
    # bitsandbytes' own FP4 codes, looked up in its table by our blockwise dequantizer, give its dequantized values
    torch.manual_seed(0)
    w = torch.randn(128, 64) * 0.02
    packed, state = bnbF.quantize_4bit(w, blocksize=64, quant_type="fp4")
    table = bnbF.get_4bit_type("fp4", device="cpu")
    ours_deq = q.dequantize_blocks(q.unpack_4bit(packed, w.numel()), state.absmax, table).view_as(w)
    assert torch.equal(ours_deq, bnbF.dequantize_4bit(packed, state))


def test_nf4_has_the_smallest_error_on_normal_blocks():
    torch.manual_seed(0)
    w = torch.randn(64 * 2048)

    def mse(code):
        codes, absmax = q.quantize_blocks(w, code, 64)
        return (q.dequantize_blocks(codes, absmax, code, 64) - w).pow(2).mean().item()

    assert mse(q.nf4_code()) < mse(q.e2m1_code()) < mse(q.int4_code())


def test_double_quantization_bits_per_parameter():
    assert q.bits_per_param(4, 64) == 4.5
    assert q.bits_per_param(4, 64, double_quant=True) == pytest.approx(4 + 8 / 64 + 32 / (64 * 256))
    assert q.bits_per_param(4, 64, double_quant=True) - 4 == pytest.approx(0.127, abs=5e-4)
    # what bitsandbytes really stores per weight with compress_statistics (double quantization)
    torch.manual_seed(0)
    w = torch.randn(1024, 1024)
    packed, state = bnbF.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=True)
    stored_bits = 8 * (packed.numel() + state.absmax.numel() * state.absmax.element_size()
                       + state.state2.absmax.numel() * state.state2.absmax.element_size())
    assert stored_bits / w.numel() == pytest.approx(q.bits_per_param(4, 64, double_quant=True))


def test_absmean_ternary():
    w = torch.tensor([[0.9, -0.05, 0.3], [-1.2, 0.0, 0.45]])
    ternary, gamma = q.absmean_ternary(w)
    assert gamma.item() == pytest.approx(w.abs().mean().item())
    assert ternary.tolist() == [[1, 0, 1], [-1, 0, 1]]
    assert set(q.absmean_ternary(torch.randn(1000))[0].unique().tolist()) == {-1.0, 0.0, 1.0}
    # normal weights: |w| < gamma / 2 rounds to 0, gamma = sigma * sqrt(2 / pi)
    torch.manual_seed(0)
    zeros = (q.absmean_ternary(torch.randn(200_000))[0] == 0).float().mean().item()
    assert zeros == pytest.approx(math.erf(0.5 * math.sqrt(2 / math.pi) / math.sqrt(2)), abs=5e-3)
