"""ftcourse.adapters (lab 2's look inside a trained adapter) on the CPU: the tiny Qwen3 in 4 bit with
PEFT's LoRA, lab 2's whole smoke run (tests/cpu_lab.py), and each report made to fail once."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from ftcourse import adapters, steps

from .cpu_lab import attach_lora, load_4bit, smoke_recipe


def with_trained_b(model_dir, recipe, base=None):
    """The tiny Qwen3 (in 4 bit unless `base` is given) with LoRA, its B matrices filled in (seeded)
    as if trained."""
    model = attach_lora(load_4bit(model_dir)[0] if base is None else base, recipe)
    torch.manual_seed(0)
    for layer in adapters.lora_layers(model).values():
        torch.nn.init.normal_(layer.lora_B["default"].weight, std=0.05)
    return model


@pytest.fixture(scope="module")
def trained_layer(tiny_model_dir):
    recipe = smoke_recipe("lab2_lora_inside", tiny_model_dir)
    model = with_trained_b(tiny_model_dir, recipe)
    name = next(n for n in adapters.lora_layers(model) if n.endswith("layers.0.self_attn.q_proj"))
    return model, name, recipe


def test_lab2_runs_on_the_cpu(lab2_cpu_run):
    run = lab2_cpu_run
    assert math.isfinite(run.heldout_before) and math.isfinite(run.heldout_after)
    assert run.heldout_after < run.heldout_before, "training on the synthetic sample should carry over to held-out rows"
    assert [row["r"] for row in run.results] == list(run.recipe.sweep_ranks)
    assert (run.main_adapter / "adapter_model.safetensors").exists()
    assert all((path / "adapter_config.json").exists() for path in run.sweep_adapters.values())
    assert run.merge["merge_kl"] < 0.25 * run.merge["adapter_kl"]


def test_open_layer_reads_w0_a_b_and_the_scale(trained_layer):
    model, name, recipe = trained_layer
    parts = adapters.open_layer(model, name)
    layer = adapters.lora_layers(model)[name]
    config = model.config
    d, k = config.num_attention_heads * config.head_dim, config.hidden_size
    assert parts.stored_in_4bit and parts.weight.shape == (d, k)
    assert parts.lora_A.shape == (recipe.lora_r, k) and parts.lora_B.shape == (d, recipe.lora_r)
    assert parts.scaling == recipe.lora_alpha / recipe.lora_r
    # W0 is what the 4-bit layer multiplies by: PEFT's own delta and bitsandbytes' matmul agree with it
    assert torch.allclose(parts.delta, layer.get_delta_weight("default").float(), atol=1e-6)
    x = torch.randn(3, k)
    with torch.no_grad():
        base = layer.base_layer(x).float()
    assert float((base - x @ parts.weight.T).norm() / base.norm()) < 2e-2


def test_check_recomputed_passes_and_catches_a_wrong_scale_or_a_transposed_factor(trained_layer):
    model, name, _ = trained_layer
    parts = adapters.open_layer(model, name)
    layer = adapters.lora_layers(model)[name]
    x = adapters.attention_input(model, torch.tensor([[1, 5, 9, 13, 17, 21]]), 0)
    found = adapters.check_recomputed(parts, layer, x)
    assert found["error"] < 2e-2 and found["branch_error"] < 2e-2
    # a scale 10% off hides in the full output's tolerance; the branch alone shows it
    with pytest.raises(AssertionError, match="LoRA branch"):
        adapters.check_recomputed(dataclasses.replace(parts, scaling=1.1 * parts.scaling), layer, x)
    square = dataclasses.replace(parts, lora_A=parts.lora_A.flip(0))  # A's rows in the wrong order
    with pytest.raises(AssertionError):
        adapters.check_recomputed(square, layer, x)


def test_describe_layer_catches_a_recipe_that_differs(trained_layer, capsys):
    model, name, recipe = trained_layer
    parts = adapters.open_layer(model, name)
    adapters.describe_layer(parts, recipe.lora_r, recipe.lora_alpha)
    assert f"A {recipe.lora_r} × {model.config.hidden_size}" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="rank"):
        adapters.describe_layer(parts, 2 * recipe.lora_r, recipe.lora_alpha)


def test_delta_rank_is_r_and_the_threshold_separates_rank_from_rounding(trained_layer):
    model, name, recipe = trained_layer
    parts = adapters.open_layer(model, name)
    values = adapters.check_delta_rank(parts)
    assert adapters.numerical_rank(values, parts.delta.shape) == recipe.lora_r
    torch.manual_seed(1)
    three = torch.randn(96, 3) @ torch.randn(3, 64)  # rank 3 in float32
    assert adapters.numerical_rank(torch.linalg.svdvals(three.double()), three.shape) == 3
    assert adapters.numerical_rank(torch.linalg.svdvals(torch.randn(96, 64).double()), (96, 64)) == 64


def test_merge_into_16bit_copy_equals_peft_merge_on_a_16_bit_base(tiny_model_dir):
    """On a base that is not quantized, our merge and PEFT's merge_and_unload store the same weights."""
    from transformers import AutoModelForCausalLM

    recipe = smoke_recipe("lab2_lora_inside", tiny_model_dir)

    def fresh():
        base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32, local_files_only=True)
        return with_trained_b(tiny_model_dir, recipe, base)

    ours, theirs = adapters.merge_into_16bit_copy(fresh()), fresh().merge_and_unload()
    assert not adapters.lora_layers(ours)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert ours_state.keys() == theirs_state.keys()
    for key in ours_state:
        assert torch.allclose(ours_state[key], theirs_state[key], atol=1e-6), key


def test_merged_model_predicts_what_the_adapter_model_predicts(tiny_model_dir):
    recipe = smoke_recipe("lab2_lora_inside", tiny_model_dir)
    model = with_trained_b(tiny_model_dir, recipe)
    torch.manual_seed(3)
    ids = torch.randint(0, model.config.vocab_size, (1, 64))
    with torch.no_grad():
        before = model(input_ids=ids).logits
        with model.disable_adapter():
            base = model(input_ids=ids).logits
    merged = adapters.merge_into_16bit_copy(model)
    assert merged.get_input_embeddings().weight.dtype == torch.float32  # the CPU's "16-bit" parts are fp32
    assert not adapters.lora_layers(merged)
    assert not any(type(p).__name__ == "Params4bit" for p in merged.parameters())
    with torch.no_grad():
        after = merged(input_ids=ids).logits
    found = adapters.check_same_predictions(before, after, base)
    assert found["merge_kl"] < 0.01 * found["adapter_kl"]
    # a merge that lost ΔW is the base model: caught
    with pytest.raises(AssertionError, match="ΔW was lost"):
        adapters.check_same_predictions(before, base, base)


def test_requantization_loses_a_small_update_and_keeps_a_large_one(trained_layer):
    model, name, _ = trained_layer
    parts = adapters.open_layer(model, name)
    small = dataclasses.replace(parts, scaling=parts.scaling * 1e-3)
    assert adapters.requantization_error(small)["update_kept"] < 0.2
    assert adapters.requantization_error(small)["rounding_over_update"] > 0.5
    large = dataclasses.replace(parts, scaling=parts.scaling * 10)
    assert adapters.requantization_error(large)["update_kept"] > 0.8


def test_check_swap_needs_a_change_and_a_faithful_return():
    a, b = torch.randn(1, 4, 10), torch.randn(1, 4, 10)
    adapters.check_swap(a, b, a.clone())
    with pytest.raises(AssertionError, match="activated"):
        adapters.check_swap(a, a.clone(), a.clone())
    with pytest.raises(AssertionError, match="switching back"):
        adapters.check_swap(a, b, b)


def test_describe_rank_sweep_checks_the_counts(tiny_model_dir):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_model_dir, local_files_only=True)
    row = dict(r=4, trainable=16_384, train_loss=1.0, heldout_loss=1.1)
    adapters.describe_rank_sweep([row], config)
    with pytest.raises(AssertionError, match="closed form"):
        adapters.describe_rank_sweep([{**row, "trainable": 16_000}], config)
    with pytest.raises(AssertionError, match="finite"):
        adapters.describe_rank_sweep([{**row, "heldout_loss": float("nan")}], config)


def test_relative_update_sees_every_projection_of_the_layer(trained_layer):
    model, name, _ = trained_layer
    sizes = adapters.describe_relative_update(model, name.rsplit(".self_attn", 1)[0] + ".")
    assert set(sizes) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def test_split_rows_holds_out_the_tail_without_repeats(tiny_model_dir):
    from datasets import Dataset

    rows = Dataset.from_list([{"conversations": [{"from": "human", "value": f"q{i % 7}"},
                                                 {"from": "gpt", "value": f"a{i % 7}"}]} for i in range(20)])
    train, held_out = steps.split_rows(rows, 5)
    assert len(train) == 15 and len(held_out) == 0  # every tail row repeats a training conversation
    distinct = Dataset.from_list([{"conversations": [{"from": "human", "value": f"q{i}"},
                                                     {"from": "gpt", "value": f"a{i}"}]} for i in range(20)])
    train, held_out = steps.split_rows(distinct, 5)
    assert [c[0]["value"] for c in held_out["conversations"]] == [f"q{i}" for i in range(15, 20)]
    assert steps.describe_split(train, held_out, 5) == {"train": 15, "held_out": 5}
    with pytest.raises(ValueError):
        steps.split_rows(distinct, 20)


def test_base_weight_reads_a_weight_that_bitsandbytes_repacked_for_the_cpu(tiny_model_dir):
    """bitsandbytes re-packs 4-bit weights for its CPU kernel at the first forward in eval mode (on
    CPUs with AVX512-BF16); W0 must read the same before and after, and the layer must still work."""
    layer = load_4bit(tiny_model_dir)[0].model.layers[0].self_attn.q_proj.eval()
    before, _ = adapters.base_weight(layer)
    x = torch.randn(2, 5, before.shape[1])
    with torch.no_grad():
        first = layer(x)
    if not getattr(layer.weight.quant_state, "packing_format_for_cpu", False):
        pytest.skip("this CPU's bitsandbytes kernel does not re-pack weights")
    after, _ = adapters.base_weight(layer)
    assert float((after - before).norm() / before.norm()) < 2**-8  # the packed scales are bf16
    with torch.no_grad():
        assert torch.equal(layer(x), first)


def test_the_opened_layer_is_a_4bit_one_and_its_input_is_the_real_one(trained_layer):
    model, _, _ = trained_layer
    name = adapters.first_4bit_layer(model, "q_proj")
    assert adapters.layer_index(name) == 0 and name.endswith("layers.0.self_attn.q_proj")
    ids = torch.tensor([[2, 7, 1, 8, 28, 18]])
    base = model.get_base_model().model
    captured = {}
    hook = base.layers[1].self_attn.q_proj.register_forward_pre_hook(lambda m, args: captured.update(x=args[0]))
    with torch.no_grad():
        model(input_ids=ids)
    hook.remove()
    assert torch.allclose(adapters.attention_input(model, ids, 1), captured["x"], atol=1e-5)
    with pytest.raises(LookupError):
        adapters.first_4bit_layer(model, "no_such_proj")


def test_check_heldout_needs_two_finite_different_losses():
    steps.check_heldout(2.0, 1.9)
    with pytest.raises(AssertionError, match="did not change"):
        steps.check_heldout(2.0, 2.0)
    with pytest.raises(AssertionError, match="finite"):
        steps.check_heldout(float("nan"), 1.0)
