"""ftcourse.lora (chapter 2's from-scratch LoRA) against PEFT 0.21.2 and against known values."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import Qwen3Config, Qwen3ForCausalLM

from ftcourse import lora as L
from ftcourse import peft_counts as pc
from ftcourse.models import LORA_TARGETS_ALL, build_on_meta, qwen3_4b_config


def tiny_config() -> Qwen3Config:
    # head_dim * heads (96) != hidden (64) and GQA, as in Qwen3-4B, so q/k/v/o shapes all differ
    return Qwen3Config(vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, head_dim=24)


@pytest.fixture(scope="module")
def tiny_base():
    torch.manual_seed(0)
    return Qwen3ForCausalLM(tiny_config()).eval()


@pytest.fixture(scope="module")
def ids():
    return torch.randint(0, 128, (2, 10), generator=torch.Generator().manual_seed(3))


def wrap_both(base, r, alpha, use_rslora=False, targets=LORA_TARGETS_ALL):
    """(our model, our layers, PEFT model) with PEFT's A and a random B copied into ours."""
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    layers = L.add_lora(mine, r, alpha, targets, use_rslora=use_rslora)
    peft_model = get_peft_model(theirs, LoraConfig(r=r, lora_alpha=alpha, use_rslora=use_rslora,
                                                   target_modules=list(targets)))
    g = torch.Generator().manual_seed(1)
    for name, layer in layers.items():
        ref = peft_model.base_model.model.get_submodule(name)
        with torch.no_grad():
            ref.lora_B["default"].weight.copy_(0.1 * torch.randn(ref.lora_B["default"].weight.shape, generator=g))
            layer.lora_A.copy_(ref.lora_A["default"].weight)
            layer.lora_B.copy_(ref.lora_B["default"].weight)
    return mine, layers, peft_model


# ---------------------------------------------------------------- LoRALinear against PEFT


@pytest.mark.parametrize("use_rslora", [False, True])
def test_forward_matches_peft(tiny_base, ids, use_rslora):
    mine, layers, peft_model = wrap_both(tiny_base, r=4, alpha=8, use_rslora=use_rslora)
    for name, layer in layers.items():
        assert layer.scaling == peft_model.base_model.model.get_submodule(name).scaling["default"]
    expected = 8 / math.sqrt(4) if use_rslora else 8 / 4
    assert all(layer.scaling == expected for layer in layers.values())
    with torch.no_grad():
        ours, theirs = mine(input_ids=ids).logits, peft_model(input_ids=ids).logits
    assert not torch.allclose(ours, tiny_base(input_ids=ids).logits)  # B != 0: the adapter does something
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_rslora", [False, True])
def test_merged_weight_matches_merge_and_unload(tiny_base, use_rslora):
    _, layers, peft_model = wrap_both(tiny_base, r=4, alpha=16, use_rslora=use_rslora)
    merged = peft_model.merge_and_unload()
    for name, layer in layers.items():
        assert type(merged.get_submodule(name)) is torch.nn.Linear
        torch.testing.assert_close(layer.merged_weight(), merged.get_submodule(name).weight, rtol=0, atol=1e-6)


def test_delta_matches_peft_get_delta_weight(tiny_base):
    _, layers, peft_model = wrap_both(tiny_base, r=3, alpha=5)
    for name, layer in layers.items():
        ref = peft_model.base_model.model.get_submodule(name)
        torch.testing.assert_close(layer.delta_weight(), ref.get_delta_weight("default"), rtol=1e-6, atol=1e-7)


def test_merge_then_unmerge(tiny_base, ids):
    mine, layers, _ = wrap_both(tiny_base, r=4, alpha=8)
    w0 = {name: layer.base.weight.detach().clone() for name, layer in layers.items()}
    with torch.no_grad():
        before = mine(input_ids=ids).logits
        for layer in layers.values():
            layer.merge()
        assert all(layer.merged for layer in layers.values())
        after = mine(input_ids=ids).logits
        merged_w = {name: layer.merged_weight() for name, layer in layers.items()}
        for layer in layers.values():
            layer.unmerge()
        again = mine(input_ids=ids).logits
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(again, before, rtol=1e-5, atol=1e-5)
    for name, layer in layers.items():
        # while merged, merged_weight() is the base weight itself; afterwards W0 is back (float32 rounding)
        torch.testing.assert_close(merged_w[name], layer.merged_weight(), rtol=0, atol=1e-6)
        torch.testing.assert_close(layer.base.weight, w0[name], rtol=0, atol=1e-6)
    layer = next(iter(layers.values()))
    with pytest.raises(RuntimeError):
        layer.unmerge()


def test_merge_in_bf16_rounds():
    torch.manual_seed(0)
    layer = L.LoRALinear(torch.nn.Linear(256, 256, bias=False).to(torch.bfloat16), r=4, alpha=8)
    with torch.no_grad():
        torch.nn.init.normal_(layer.lora_B, std=0.05)
    w0 = layer.base.weight.detach().clone()
    layer.merge()
    assert layer.base.weight.dtype == torch.bfloat16
    layer.unmerge()
    err = (layer.base.weight.float() - w0.float()).abs().max().item()
    assert 0 < err < 0.05 * w0.float().abs().max().item()


# ---------------------------------------------------------------- init and counts


def test_insertion_changes_nothing_and_b_starts_at_zero(tiny_base, ids):
    model = copy.deepcopy(tiny_base)
    torch.manual_seed(0)
    layers = L.add_lora(model, r=8, alpha=16, target_modules=LORA_TARGETS_ALL)
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, tiny_base(input_ids=ids).logits)
    for layer in layers.values():
        k = layer.base.in_features
        assert torch.count_nonzero(layer.lora_B) == 0
        assert layer.lora_A.abs().max() <= 1 / math.sqrt(k) + 1e-7  # Kaiming-uniform bound with a = sqrt(5)
        assert layer.lora_A.dtype == torch.float32 and layer.lora_A.abs().sum() > 0


def test_only_the_adapter_trains(tiny_base):
    model = copy.deepcopy(tiny_base)
    layers = L.add_lora(model, r=2, alpha=2, target_modules=["q_proj", "v_proj"])
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"{name}.lora_{m}" for name in layers for m in "AB"}
    assert len(layers) == 2 * tiny_config().num_hidden_layers


@pytest.mark.parametrize("r", [1, 4, 8])
def test_trainable_count_matches_formula_and_peft(tiny_base, r):
    model = copy.deepcopy(tiny_base)
    layers = L.add_lora(model, r, r, LORA_TARGETS_ALL)
    ours = sum(layer.num_trainable() for layer in layers.values())
    for layer in layers.values():
        assert layer.num_trainable() == r * (layer.base.in_features + layer.base.out_features)
    peft_count, _ = get_peft_model(copy.deepcopy(tiny_base), LoraConfig(r=r, target_modules=list(LORA_TARGETS_ALL))
                                   ).get_nb_trainable_parameters()
    assert ours == peft_count == pc.lora_param_count(tiny_config(), r)


def test_qwen3_4b_on_meta_counts_like_chapter_1():
    layers = L.add_lora(build_on_meta(qwen3_4b_config()), 8, 8, LORA_TARGETS_ALL)
    assert sum(layer.num_trainable() for layer in layers.values()) == 16_515_072
    q = layers["model.layers.0.self_attn.q_proj"]
    assert tuple(q.lora_A.shape) == (8, 2560) and tuple(q.lora_B.shape) == (4096, 8)


def test_bad_arguments():
    with pytest.raises(ValueError):
        L.LoRALinear(torch.nn.Linear(4, 4), r=0, alpha=1)
    with pytest.raises(TypeError):
        L.LoRALinear(torch.nn.Conv1d(4, 4, 1), r=1, alpha=1)
    with pytest.raises(ValueError, match="gate"):
        L.add_lora(torch.nn.Sequential(torch.nn.Linear(4, 4)), 1, 1, ["gate"])
    with pytest.raises(ValueError):
        L.lora_delta(torch.zeros(2, 5), torch.zeros(3, 4), 1.0)  # B (3, 4) does not fit A (2, 5)


def test_gradients_at_the_start():
    """dL/dA = s B^T G is zero while B = 0; with A = B = 0 nothing ever moves."""
    torch.manual_seed(0)
    x, target = torch.randn(16, 8), torch.randn(16, 6)
    layer = L.LoRALinear(torch.nn.Linear(8, 6), r=2, alpha=2)
    torch.nn.functional.mse_loss(layer(x), target).backward()
    assert torch.count_nonzero(layer.lora_A.grad) == 0 and torch.count_nonzero(layer.lora_B.grad) > 0
    both_zero = L.LoRALinear(torch.nn.Linear(8, 6), r=2, alpha=2)
    with torch.no_grad():
        both_zero.lora_A.zero_()
    opt = torch.optim.Adam([both_zero.lora_A, both_zero.lora_B], lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.mse_loss(both_zero(x), target).backward()
        opt.step()
    assert both_zero.delta_weight().abs().max() == 0


def test_dropout_only_in_training():
    torch.manual_seed(0)
    layer = L.LoRALinear(torch.nn.Linear(8, 8), r=2, alpha=2, dropout=0.5)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(4, 8)
    layer.eval()
    expected = layer.base(x) + layer.scaling * x @ layer.lora_A.T @ layer.lora_B.T
    torch.testing.assert_close(layer(x), expected)
    layer.train()
    assert not torch.allclose(layer(x), expected)


# ---------------------------------------------------------------- lora_delta and the SVD helpers


def test_lora_delta_known_values_and_dtype():
    A = torch.tensor([[1.0, 2.0]], dtype=torch.bfloat16)      # r = 1, k = 2
    B = torch.tensor([[1.0], [3.0]], dtype=torch.float16)     # d = 2
    delta = L.lora_delta(A, B, 0.5)
    assert delta.dtype == torch.float32 and delta.shape == (2, 2)
    torch.testing.assert_close(delta, torch.tensor([[0.5, 1.0], [1.5, 3.0]]))


def test_singular_values_known_and_sorted():
    m = torch.diag(torch.tensor([1.0, 5.0, 3.0]))
    s = L.singular_values(m)
    assert s.dtype == torch.float64
    torch.testing.assert_close(s, torch.tensor([5.0, 3.0, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError):
        L.singular_values(torch.zeros(3))


def test_a_lora_update_has_rank_at_most_r():
    g = torch.Generator().manual_seed(0)
    delta = L.lora_delta(torch.randn(3, 40, generator=g), torch.randn(30, 3, generator=g), 2.0)
    s = L.singular_values(delta)
    assert len(s) == 30 and (s[3:] < 1e-5 * s[0]).all() and (s[:3] > 1e-3 * s[0]).all()  # float32 product


def test_energy_kept_known_values():
    s = torch.tensor([4.0, 3.0])                 # squares 16, 9: total 25
    assert L.energy_kept(s, 0) == 0.0
    assert L.energy_kept(s, 1) == pytest.approx(16 / 25)
    assert L.energy_kept(s, 2) == L.energy_kept(s, 5) == 1.0
    assert L.energy_kept(torch.zeros(3), 1) == 1.0
    with pytest.raises(ValueError):
        L.energy_kept(s, -1)


def test_low_rank_is_the_eckart_young_optimum():
    delta = torch.randn(20, 12, generator=torch.Generator().manual_seed(0))
    s = L.singular_values(delta)
    for rank in (1, 4, 12):
        approx = L.low_rank(delta, rank)
        assert approx.dtype == delta.dtype
        err2 = float((delta.double() - approx.double()).pow(2).sum())
        assert err2 == pytest.approx(float((s[rank:] ** 2).sum()), rel=1e-5, abs=1e-8)
        assert 1 - err2 / float((s ** 2).sum()) == pytest.approx(L.energy_kept(s, rank), rel=1e-5)


def test_subspace_similarity_bounds():
    g = torch.Generator().manual_seed(0)
    U = torch.linalg.qr(torch.randn(10, 4, generator=g))[0]
    a = U[:, :2] @ torch.randn(2, 6, generator=g)
    b = U[:, 2:] @ torch.randn(2, 6, generator=g)
    assert L.subspace_similarity(a, 3 * a, 2) == pytest.approx(1.0)
    assert L.subspace_similarity(a, b, 2) == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------- the toy world


def test_decaying_update_spectrum():
    u = L.decaying_update(12, 8, size=2.0, seed=0, decay=1.0)
    s = L.singular_values(u)
    assert float(u.norm()) == pytest.approx(2.0, rel=1e-5)
    torch.testing.assert_close(s / s[0], 1 / torch.arange(1, 9, dtype=torch.float64), rtol=1e-4, atol=1e-6)


def test_shifted_copy_changes_only_its_targets():
    base = L.TinyMLP(seed=0)
    assert torch.equal(base.fc1.weight, L.TinyMLP(seed=0).fc1.weight)  # seeded build
    new = L.shifted_copy(base, ["fc2"], rel_size=0.5, seed=1)
    assert torch.equal(new.fc1.weight, base.fc1.weight) and torch.equal(new.fc3.weight, base.fc3.weight)
    moved = float((new.fc2.weight - base.fc2.weight).detach().norm())
    assert moved == pytest.approx(0.5 * float(base.fc2.weight.detach().norm()), rel=1e-4)
    narrow = L.shifted_copy(base, ["fc1"], rel_size=0.5, seed=1, input_dims=8)
    assert torch.equal(narrow.fc1.weight[:, 8:], base.fc1.weight[:, 8:])


def test_training_with_lora_learns_and_deltas_read_back():
    base = L.TinyMLP(sizes=(16, 32, 32, 4), seed=0)
    new = L.shifted_copy(base, ["fc1", "fc2", "fc3"], rel_size=0.5, seed=1)
    x, y = L.make_data(new, 512, seed=2, shape=(16,))
    torch.manual_seed(0)
    model = copy.deepcopy(base)
    layers = L.add_lora(model, 4, 4, ["fc1", "fc2", "fc3"])
    history = L.train(model, x, y, lr=1e-2, steps=60, batch_size=64, every=30, evals={"train": (x, y)})
    assert [h["step"] for h in history] == [30, 60]
    assert L.mse(model, x, y) < 0.5 * L.mse(base, x, y)
    deltas = L.weight_deltas(model, base)
    assert set(deltas) == {"fc1", "fc2", "fc3"}
    torch.testing.assert_close(deltas["fc2"], layers["fc2"].delta_weight(), rtol=1e-5, atol=1e-6)
    rebuilt = L.with_deltas(base, deltas)
    torch.testing.assert_close(rebuilt(x), model(x), rtol=1e-4, atol=1e-5)


def test_tiny_attention_takes_lora_on_qwen_names():
    model = L.TinyAttention(d=32, n_heads=4, n_blocks=2, seed=0)
    x = torch.randn(3, 5, 32)
    before = model(x)
    layers = L.add_lora(model, 2, 2, ["q_proj", "v_proj"])
    assert len(layers) == 4
    with torch.no_grad():
        torch.testing.assert_close(model(x), before)
    # causal: the output at position 0 does not depend on later positions
    x2 = x.clone()
    x2[:, 1:] = 0
    torch.testing.assert_close(model(x2)[:, 0], model(x)[:, 0])
