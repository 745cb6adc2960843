"""ftcourse.quant_lab (lab 3, "4비트의 대가") on the CPU: the tiny Qwen3 in NF4 with double quantization,
lab 3's whole smoke run (tests/cpu_lab_3.py, the plain baseline in a fresh Python included), and each
report made to fail once on bad input."""
from __future__ import annotations

import copy
import inspect
import math
import subprocess
import sys
import types

import pytest
import torch

from ftcourse import labs, quant_lab
from ftcourse import memory as mem
from ftcourse import quant as q
from ftcourse.labtemplate import T4_USABLE_GIB
from ftcourse.models import qwen3_4b_config
from ftcourse.peft_counts import linear_shapes, lora_param_count
from ftcourse.recipes import LABS

from .cpu_lab import load_4bit, smoke_recipe
from .cpu_lab_3 import load_4bit_double_quant, load_unquantized, run_lab3_steps
from .test_nbval_sanitize import assert_same_after_sanitizing, sanitized_without_noise

GiB = 2**30


@pytest.fixture(scope="module")
def model_4bit(tiny_model_dir):
    return load_4bit_double_quant(tiny_model_dir)[0]


@pytest.fixture(scope="module")
def first_layer(model_4bit):
    return next(iter(quant_lab.quantized_projections(model_4bit).items()))


# ----------------------------------------------------------------------------- the whole lab
def test_lab3_runs_on_the_cpu(lab3_cpu_run):
    run = lab3_cpu_run
    assert run.layer_name == "model.layers.0.self_attn.q_proj"
    for summary in (run.qlora, run.lora_16bit, run.baseline):
        assert summary["steps"] == run.recipe.max_steps and all(math.isfinite(x) for x in summary["losses"])
        assert summary["tokens"] > 0 and summary["step_seconds"] > 0
    # the baseline ran in a Python that never imported Unsloth, with TRL's gradient checkpointing
    assert run.baseline["imported_unsloth"] is False and run.baseline["gradient_checkpointing"] is True
    assert run.baseline["dtype"] == "float32" and run.baseline["bf16_answers"] == {}
    # TRL cast the adapters of the 4-bit model to bfloat16 and the baseline put them back, as Unsloth keeps them
    assert run.baseline["adapters_recast"] > 0
    assert run.baseline["trainable_dtypes"] == run.qlora["trainable_dtypes"] == ["float32"]
    assert run.baseline["loaded_compute_dtypes"] == ["float32"]
    # same examples in the same order: the same tokens, and (same computation on the CPU) the same losses
    assert run.baseline["tokens"] == run.qlora["tokens"] == run.lora_16bit["tokens"]
    assert run.baseline["losses"] == pytest.approx(run.qlora["losses"], rel=1e-4)
    # no GPU: every measured column is empty, the predictions are the estimator's
    assert all(row["measured_gib"] is None for row in run.memory)
    assert len(run.data_path.read_text().splitlines()) == run.qlora["examples"]


def test_lab3_runs_read_the_same_after_sanitizing(lab3_cpu_run, tiny_model_dir, tmp_path_factory):
    second = run_lab3_steps(tiny_model_dir, tmp_path_factory.mktemp("lab3-again"), seed=1234)
    assert_same_after_sanitizing(lab3_cpu_run.printed, second.printed)


def test_lab3_facts_survive_sanitizing(lab3_cpu_run):
    clean = sanitized_without_noise(lab3_cpu_run.printed)
    assert "FP16의 최댓값 torch.finfo(torch.float16).max = 65,504" in clean["check_fp16_overflow"]
    assert "60,000 × 2: FP16 inf, BF16 119,808" in clean["check_fp16_overflow"]
    assert "model.layers.0.self_attn.q_proj: 가중치 128 × 128 = 16,384개" in clean["describe_quant_state"]
    assert "양자화 형식(quant_type) nf4, 블록 크기(blocksize) 64 → 블록 256개" in clean["describe_quant_state"]
    assert "2단계(state2): 블록 크기 256 → float32 스케일 1개" in clean["describe_quant_state"]
    assert "코드 8,192 + 블록 스케일 256 + 2단계 스케일 4 = 8,452바이트" in clean["check_storage_bits"]
    assert "4비트 가중치 294,912개" in clean["check_weight_bytes"]
    assert "원소 16,384개, 블록 256개" in clean["check_quantization_error"]
    assert "예제 320개, 배치 2 × 누적 1, 10스텝, 학습 파라미터 32,768개" in clean["check_same_run (baseline)"]


# ----------------------------------------------------------------------------- 1. FP16 or BF16
@pytest.mark.parametrize("capability, dtype", [
    ((7, 5), torch.float16),   # T4
    ((7, 0), torch.float16),   # V100
    ((8, 0), torch.bfloat16),  # A100
    ((8, 6), torch.bfloat16),  # RTX 30xx
    ((8, 9), torch.bfloat16),  # L4
    ((9, 0), torch.bfloat16),  # H100, H200
    (None, torch.float32),     # no GPU
])
def test_compute_dtype_reads_the_compute_capability(capability, dtype):
    assert quant_lab.compute_dtype(capability) == dtype
    flags = quant_lab.precision_flags(dtype)
    assert flags == {"bf16": dtype == torch.bfloat16, "fp16": dtype == torch.float16}


def test_the_installed_torch_can_be_asked_without_emulation():
    # the lab calls is_bf16_supported(including_emulation=...); torch 2.13 has the keyword, default True
    parameter = inspect.signature(torch.cuda.is_bf16_supported).parameters["including_emulation"]
    assert parameter.default is True
    assert quant_lab.bf16_answers() == {}  # no GPU here


def test_bf16_answers_read_whichever_function_is_installed(monkeypatch):
    def like_unsloths(including_emulation=False):  # what a T4 answers once Unsloth replaced the function
        return including_emulation

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", like_unsloths)
    assert quant_lab.bf16_answers() == {"default": False, "with_emulation": True, "native": False,
                                        "defined_in": __name__}
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)  # no keyword at all
    assert quant_lab.bf16_answers()["with_emulation"] is None


def test_explain_dtype_says_why_a_t4_falls_back():
    t4 = quant_lab.explain_dtype("Tesla T4", (7, 5), {"default": False, "with_emulation": True, "native": False,
                                                       "defined_in": "unsloth._gpu_init"})
    assert "7.5 → float16" in t4 and "에뮬레이션" in t4 and "손실 스케일링" in t4
    h200 = quant_lab.explain_dtype("NVIDIA H200", (9, 0), {})
    assert "9.0 → bfloat16" in h200 and "손실 스케일링이 필요 없습니다" in h200


def test_check_fp16_overflow_fails_for_a_format_that_does_not_overflow(capsys):
    found = quant_lab.check_fp16_overflow("cpu")
    assert found["fp16_max"] == 65_504 and math.isinf(found["doubled"]["FP16"])
    with pytest.raises(AssertionError):
        quant_lab.check_fp16_overflow("cpu", fp16=torch.bfloat16)


def test_check_dtype_choice_catches_a_disagreement():
    quant_lab.check_dtype_choice(torch.float16, torch.float16, torch.float16)
    with pytest.raises(AssertionError, match="library"):
        quant_lab.check_dtype_choice(torch.bfloat16, torch.float16, torch.bfloat16)
    with pytest.raises(AssertionError, match="loaded"):
        quant_lab.check_dtype_choice(torch.float16, torch.float16, torch.float32)


# ----------------------------------------------------------------------------- 2. a 4-bit layer
def test_describe_quant_state_reads_double_quantization_and_catches_another_table(first_layer):
    name, layer = first_layer
    found = quant_lab.describe_quant_state(name, layer)
    assert found == {"n": 128 * 128, "blocks": 256, "quant_type": "nf4", "nested": True,
                     "nested_blocksize": 256, "nested_blocks": 1}
    import bitsandbytes.functional as bnb_functional

    wrong = copy.deepcopy(layer)
    wrong.weight.quant_state.code = bnb_functional.get_4bit_type("fp4", device="cpu")
    with pytest.raises(AssertionError, match="NF4"):
        quant_lab.describe_quant_state(name, wrong)


def test_storage_matches_chapter_3s_formula_with_and_without_double_quantization(first_layer, tiny_model_dir):
    _, layer = first_layer
    with_dq = quant_lab.check_storage_bits(layer)
    assert with_dq.bits_per_param == q.bits_per_param(4, 64, double_quant=True)  # 16,384 = 256 blocks: exact
    assert (with_dq.codes, with_dq.absmax, with_dq.nested_absmax) == (8192, 256, 4)
    plain_model = load_4bit(tiny_model_dir)[0]  # tests/cpu_lab.py's loader: no double quantization
    plain = quant_lab.check_storage_bits(next(iter(quant_lab.quantized_projections(plain_model).values())))
    assert plain.bits_per_param == q.bits_per_param(4, 64) == 4.5 and plain.nested_absmax == 0
    # a partial second-level block: k_proj has 128 x 64 = 8,192 weights, 128 blocks, one nested block of 256
    k_proj = quant_lab.storage_bytes(quant_lab.quantized_projections(load_4bit_double_quant(tiny_model_dir)[0])
                                     ["model.layers.0.self_attn.k_proj"])
    assert k_proj.bits_per_param == pytest.approx(k_proj.padded_bits) and k_proj.bits_per_param > k_proj.formula_bits


def test_check_storage_bits_catches_bytes_the_formula_does_not_know(first_layer):
    _, layer = first_layer
    padded = copy.deepcopy(layer)
    state2 = padded.weight.quant_state.state2
    state2.absmax = torch.cat([state2.absmax, state2.absmax])
    with pytest.raises(AssertionError, match="other bytes"):
        quant_lab.check_storage_bits(padded)


def test_dequantizing_by_hand_is_bitsandbytes_and_a_swapped_nibble_is_caught(first_layer, monkeypatch):
    _, layer = first_layer
    assert quant_lab.check_dequantized(layer) == 0.0  # fp32 compute on the CPU: exactly equal
    import bitsandbytes.functional as bnb_functional

    assert torch.equal(quant_lab.block_scales(layer),
                       bnb_functional.dequantize_blockwise(layer.weight.quant_state.absmax,
                                                           layer.weight.quant_state.state2)
                       + layer.weight.quant_state.offset)

    def low_nibble_first(packed, n):
        p = packed.reshape(-1)
        return torch.stack([p & 0x0F, p >> 4], dim=1).reshape(-1)[:n]

    monkeypatch.setattr(quant_lab.q, "unpack_4bit", low_nibble_first)
    with pytest.raises(AssertionError, match="differs"):
        quant_lab.check_dequantized(layer)


def test_a_layer_repacked_for_the_cpu_kernel_is_refused(first_layer):
    _, layer = first_layer
    repacked = copy.deepcopy(layer)
    repacked.weight.quant_state.packing_format_for_cpu = True
    with pytest.raises(ValueError, match="re-packed"):
        quant_lab.storage_bytes(repacked)


# ----------------------------------------------------------------------------- 3. error against the original
def test_quantization_error_is_within_the_nf4_bound_and_the_bound_is_tight(first_layer, tiny_model_dir):
    name, layer = first_layer
    snap = quant_lab.snapshot(name, layer)
    original = load_unquantized(tiny_model_dir).get_submodule(name).weight
    found = quant_lab.check_quantization_error(snap, original)
    ratio = (found["error"].abs() / found["bound"]).max().item()
    assert 0.5 < ratio <= 1.0, "the bound should be close to the largest error, not vacuous"
    assert 0.05 < found["relative"] < 0.15  # NF4 on normal weights: about a tenth (chapter 3)
    assert found["half_gap"] == pytest.approx((q.nf4_code().sort().values.diff().max() / 2).item(), abs=1e-6)


def test_check_quantization_error_catches_another_layer_and_an_unquantized_one(first_layer, tiny_model_dir):
    name, layer = first_layer
    snap = quant_lab.snapshot(name, layer)
    unquantized = load_unquantized(tiny_model_dir)
    other = unquantized.get_submodule(name.replace("q_proj", "o_proj")).weight  # same shape, other weights
    with pytest.raises(AssertionError, match="further"):
        quant_lab.check_quantization_error(snap, other)
    with pytest.raises(AssertionError, match="was it quantized"):
        quant_lab.check_quantization_error(snap, snap.weight.clone())
    with pytest.raises(AssertionError, match="same layer"):
        quant_lab.check_quantization_error(snap, unquantized.get_submodule(name.replace("q_proj", "k_proj")).weight)


def test_check_weight_bytes_counts_like_the_estimator_and_catches_another_model(model_4bit, tiny_model_dir):
    recipe = smoke_recipe("lab3_quant_cost", tiny_model_dir)
    config = labs.model_config(recipe)
    found = quant_lab.check_weight_bytes(model_4bit, config, True)
    assert found.n_params == sum(p.numel() for p in load_unquantized(tiny_model_dir).parameters())
    assert found.codes == found.n_4bit // 2
    with pytest.raises(AssertionError, match="4 bit"):
        quant_lab.check_weight_bytes(model_4bit, config, False)
    deeper = copy.deepcopy(config)
    deeper.num_hidden_layers = config.num_hidden_layers + 1
    with pytest.raises(AssertionError):
        quant_lab.check_weight_bytes(model_4bit, deeper, True)


def test_estimated_counts_for_qwen3_4b_keep_unsloths_16_bit_layers():
    config = qwen3_4b_config()
    four = quant_lab.estimated_counts(config, True)
    sixteen = quant_lab.estimated_counts(config, False)
    assert four["n_4bit"] + four["n_other"] == sixteen["n_other"] == 4_022_468_096  # COURSE.md's count
    linear = config.num_hidden_layers * sum(i * o for i, o in linear_shapes(config).values())
    assert four["n_4bit"] == linear - mem.linear_params_in_16bit(config, mem.skip_modules_for(config)) < linear


# ----------------------------------------------------------------------------- 4-6. runs, memory, baseline
def test_check_same_run_catches_different_work():
    run = {"label": "a", "examples": 10, "batch_size": 2, "grad_accum": 1, "steps": 3, "trainable": 8,
           "trainable_dtypes": ["float32"], "losses": [1.0, 0.9, 0.8]}
    quant_lab.check_same_run(run, {**run, "label": "b"})
    with pytest.raises(AssertionError, match="trainable_dtypes"):
        quant_lab.check_same_run(run, {**run, "trainable_dtypes": ["bfloat16"]})
    with pytest.raises(AssertionError, match="steps"):
        quant_lab.check_same_run(run, {**run, "steps": 4, "losses": [1.0] * 4})
    with pytest.raises(AssertionError, match="trainable"):
        quant_lab.check_same_run(run, {**run, "trainable": 16})
    with pytest.raises(AssertionError):
        quant_lab.check_same_run(run, {**run, "losses": [1.0, float("nan"), 0.8]})


def test_throughput_leaves_out_the_first_step():
    # a slow first step (compiling) of 10 s, then two steps of 1 s with 100 tokens each
    per_step, per_second = quant_lab.after_first_step([10.0, 1.0, 1.0], [100, 200, 300])
    assert per_step == 1.0 and per_second == 100.0
    assert quant_lab.after_first_step([2.0], [50]) == (2.0, 25.0)  # one step: nothing to leave out
    assert math.isnan(quant_lab.after_first_step([10.0, 1.0], [])[1])  # no token counts


def test_match_compute_dtype_sets_what_the_4bit_layers_compute_in(model_4bit):
    model = copy.deepcopy(model_4bit)
    assert quant_lab.match_compute_dtype(model, torch.bfloat16) == ["float32"]
    layers = quant_lab.quantized_projections(model).values()
    assert all(m.compute_dtype == m.weight.quant_state.dtype == torch.bfloat16 for m in layers)
    assert quant_lab.match_compute_dtype(model, torch.float16) == ["bfloat16"]


def test_keep_adapters_in_fp32_undoes_a_cast(model_4bit, tiny_model_dir):
    from .cpu_lab import attach_lora

    model = attach_lora(copy.deepcopy(model_4bit), smoke_recipe("lab3_quant_cost", tiny_model_dir))
    trained = [p for p in model.parameters() if p.requires_grad]
    for p in trained[:3]:
        p.data = p.data.to(torch.bfloat16)  # what TRL 1.15's SFTTrainer does to a quantized model's adapters
    assert quant_lab.keep_adapters_in_fp32(model) == 3
    assert all(p.dtype == torch.float32 for p in trained) and quant_lab.keep_adapters_in_fp32(model) == 0


def test_memory_rows_for_the_full_recipe_use_the_start_checks_estimate_and_fit_a_t4():
    recipe, config = LABS["lab3_quant_cost"].full, qwen3_4b_config()
    rows = {row["key"]: row for row in quant_lab.memory_rows(recipe, config, {})}
    # the 16-bit LoRA run is what the lab's start check guards (QuantCostRecipe trains a 16-bit base)
    assert rows["lora_16bit"]["predicted_gib"] * GiB == pytest.approx(labs.peak_estimate_bytes(recipe, config))
    assert rows["load_16bit"]["predicted_gib"] > 2 * rows["load_4bit"]["predicted_gib"]
    assert rows["qlora"]["predicted_gib"] < rows["baseline_qlora"]["predicted_gib"] < rows["lora_16bit"]["predicted_gib"]
    assert all(row["fits_t4"] for row in rows.values()), "the full profile must fit a T4"
    assert max(row["predicted_gib"] for row in rows.values()) < T4_USABLE_GIB


def test_memory_rows_read_loads_by_what_stayed_and_runs_by_their_peak():
    recipe, config = LABS["lab3_quant_cost"].full, qwen3_4b_config()
    use = quant_lab.GpuUse(seconds=1.0, allocated_before=GiB, allocated_after=4 * GiB, peak_allocated=4 * GiB,
                           peak_reserved=5 * GiB)
    rows = {row["key"]: row for row in quant_lab.memory_rows(
        recipe, config, {"load_4bit": use, "qlora": {"peak_reserved": 20 * GiB}})}
    assert rows["load_4bit"]["measured_gib"] == 3 and rows["load_4bit"]["peak_reserved_gib"] == 5
    assert rows["qlora"]["measured_gib"] == 20 and rows["qlora"]["fits_t4"] is False
    assert rows["qlora"]["measured_over_predicted"] == pytest.approx(20 * GiB / mem.lora_training_peak_bytes(
        config, lora_param_count(config, recipe.lora_r), recipe.batch_size, recipe.max_seq_length, True))


def test_the_baseline_refuses_a_process_that_imported_unsloth(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "unsloth", types.ModuleType("unsloth"))
    with pytest.raises(RuntimeError, match="unsloth"):
        quant_lab.baseline(LABS["lab3_quant_cost"].full, tmp_path / "x.jsonl", tmp_path / "out.json")


def test_run_baseline_says_what_failed(tmp_path, tiny_model_dir):
    recipe = smoke_recipe("lab3_quant_cost", tiny_model_dir)
    with pytest.raises(RuntimeError, match="no such data file"):
        quant_lab.run_baseline(recipe, tmp_path / "missing.jsonl", tmp_path / "baseline")


def test_recipes_travel_to_the_baseline_as_json(tiny_model_dir):
    recipe = smoke_recipe("lab3_quant_cost", tiny_model_dir)
    assert quant_lab._recipe_from_json(quant_lab._recipe_to_json(recipe)) == recipe
    sweep = LABS["lab2_lora_inside"].full
    assert quant_lab._recipe_from_json(quant_lab._recipe_to_json(sweep)) == sweep  # tuples survive


def test_quant_lab_imports_no_training_library():
    code = ("import sys, ftcourse.quant_lab; "
            "bad = [m for m in ('transformers', 'trl', 'peft', 'datasets', 'unsloth') if m in sys.modules]; "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
