"""ftcourse.merging against the tools it reimplements: PEFT 0.21.2's merge utilities and
add_weighted_adapter, and mergekit 0.1.5 (its tensor API and its real checkpoint merge), on the CPU.

Random methods are compared with the same seed: both libraries draw each mask with
torch.bernoulli on torch's global generator, model by model, as ftcourse.merging does.
"""
from __future__ import annotations

import copy
import logging
import math

import pytest
import torch
from mergekit.merge_methods.api import merge_tensors
from peft import LoraConfig, get_peft_model
from peft.utils import merge_utils as mu
from safetensors.torch import load_file
from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM
from transformers.utils import logging as hf_logging

from ftcourse import merging as mg


def close(a, b, tol=1e-6):
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@pytest.fixture
def deltas():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(12, 20, generator=g)
    ds = [0.1 * torch.randn(12, 20, generator=g) for _ in range(3)]
    return base, ds


# --- task vectors, linear, task arithmetic ------------------------------------------------

def test_task_vector_round_trip():
    base = {"w": torch.randn(3, 4), "b": torch.randn(4)}
    ft = {k: v + 0.1 for k, v in base.items()}
    tv = mg.task_vector(ft, base)
    close(tv["w"], torch.full((3, 4), 0.1))
    back = mg.merge_task_vectors(base, [ft], lambda d: d[0])
    for k in base:
        close(back[k], ft[k])
    with pytest.raises(ValueError):
        mg.task_vector({"w": base["w"]}, base)


def test_linear_is_task_arithmetic_with_half(deltas):
    base, ds = deltas
    models = [base + d for d in ds[:2]]
    close(mg.linear(models, [0.5, 0.5]), base + mg.task_arithmetic(ds[:2], [0.5, 0.5]))
    close(mg.linear(models, [1.0, 3.0]), (models[0] + 3 * models[1]) / 4)
    close(mg.linear(models, [1.0, 3.0], normalize=False), models[0] + 3 * models[1])


def test_linear_and_task_arithmetic_match_mergekit_and_peft(deltas):
    base, ds = deltas
    models = [base + d for d in ds]
    w = [0.2, 0.5, 0.3]
    close(merge_tensors(models, "linear", parameters={"weight": w}), mg.linear(models, w))
    ta = merge_tensors([base] + models, "task_arithmetic", parameters={"weight": w}, base_index=0)
    close(ta, base + mg.task_arithmetic(ds, w))
    assert torch.equal(mu.task_arithmetic(ds, torch.tensor(w)), mg.task_arithmetic(ds, w))


def test_negation_removes_a_task(deltas):
    base, ds = deltas
    both = base + mg.task_arithmetic(ds[:2], [1.0, 1.0])
    close(both + mg.task_arithmetic([ds[0]], [-1.0]), base + ds[1])


# --- SLERP ---------------------------------------------------------------------------------

def test_slerp_known_values():
    v0, v1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    mid = mg.slerp(0.5, v0, v1)
    close(mid, torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))  # stays on the unit circle
    close(mg.slerp(0.0, v0, v1), v0)
    close(mg.slerp(1.0, v0, v1), v1)
    third = mg.slerp(1 / 3, v0, v1)  # constant angular speed: 30 degrees from v0
    close(third, torch.tensor([math.cos(math.pi / 6), math.sin(math.pi / 6)]))


def test_slerp_falls_back_to_linear_when_nearly_parallel():
    v0 = torch.tensor([1.0, 0.0, 0.0])
    v1 = torch.tensor([2.0, 0.01, 0.0])  # cos > 0.9995
    close(mg.slerp(0.3, v0, v1), 0.7 * v0 + 0.3 * v1)


@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 0.9])
def test_slerp_matches_mergekit(deltas, t):
    base, ds = deltas
    a, b = base + ds[0], torch.randn_like(base)  # a wide angle, and a narrow one below
    close(merge_tensors([a, b], "slerp", parameters={"t": t}, base_index=0), mg.slerp(t, a, b))
    c = base + ds[1]
    close(merge_tensors([a, c], "slerp", parameters={"t": t}, base_index=0), mg.slerp(t, a, c))


# --- pruning: magnitude, TIES, DARE --------------------------------------------------------

def test_magnitude_keep_matches_peft_and_mergekit(deltas):
    from mergekit.sparsify import magnitude

    _, ds = deltas
    d = ds[0]
    kept = mg.magnitude_keep(d, 0.2)
    assert int((kept != 0).sum()) == int(0.2 * d.numel())
    smallest_kept = kept[kept != 0].abs().min()
    assert smallest_kept >= d[kept == 0].abs().max()
    assert torch.equal(kept, mu.prune(d, 0.2, "magnitude"))
    assert torch.equal(kept, magnitude(d, 0.2))
    # the one difference: mergekit keeps at least one entry
    tiny = torch.tensor([0.3, -0.5, 0.1, 0.2])
    assert int((mg.magnitude_keep(tiny, 0.1) != 0).sum()) == 0
    assert int((magnitude(tiny, 0.1) != 0).sum()) == 1


def test_elect_sign_and_disjoint_merge_by_hand():
    t1 = torch.tensor([0.5, -0.2, 0.0, 0.3])
    t2 = torch.tensor([-0.3, -0.4, 0.0, 0.1])
    sign = mg.elect_sign([t1, t2])
    assert sign.tolist() == [1, -1, 1, 1]  # the all-zero entry goes to +1
    merged = mg.disjoint_merge([t1, t2], [1, 1], sign)
    close(merged, torch.tensor([0.5, -0.3, 0.0, 0.2]))
    assert mg.elect_sign([t1, t2, t2], "frequency").tolist() == [-1, -1, 1, 1]


def test_ties_matches_peft(deltas):
    _, ds = deltas
    ones = torch.ones(3)
    assert torch.equal(mu.ties(ds, ones, 0.3), mg.ties(ds, [1, 1, 1], 0.3))
    assert torch.equal(mu.ties(ds, ones, 0.3, "frequency"), mg.ties(ds, [1, 1, 1], 0.3, method="frequency"))
    # PEFT elects the sign before weighting and divides by the count: the same blocks, reordered
    w = torch.tensor([0.6, 0.3, 0.1])
    trimmed = [mg.magnitude_keep(d, 0.3) for d in ds]
    peft_order = mg.disjoint_merge([wi * t for wi, t in zip(w, trimmed)], [1, 1, 1], mg.elect_sign(trimmed))
    assert torch.equal(mu.ties(ds, w, 0.3), peft_order)
    # equal weights w: PEFT gives w times the paper's disjoint mean
    close(mu.ties(ds, torch.full((3,), 0.5), 0.3), 0.5 * mg.ties(ds, [1, 1, 1], 0.3))


def test_ties_matches_mergekit(deltas):
    base, ds = deltas
    w = [0.6, 0.3, 0.1]
    models = [base + d for d in ds]
    got = merge_tensors([base] + models, "ties", parameters={"weight": w, "density": 0.3}, base_index=0)
    close(got, base + mg.ties(ds, w, 0.3))


def test_random_drop_matches_peft_and_mergekit_with_the_same_seed(deltas):
    from mergekit.sparsify import RescaleNorm, bernoulli

    _, ds = deltas
    d = ds[0]
    torch.manual_seed(5)
    ours = mg.random_drop(d, 0.3)
    torch.manual_seed(5)
    assert torch.equal(ours, mu.prune(d, 0.3, "random", rescale=True))
    torch.manual_seed(5)
    ours_l1 = mg.random_drop(d, 0.3, rescale="l1")
    torch.manual_seed(5)
    assert torch.equal(ours_l1, bernoulli(d, 0.3, RescaleNorm.l1))
    assert torch.equal(ours != 0, ours_l1 != 0)  # same mask, different rescale
    close(ours_l1.abs().sum(), d.abs().sum())
    with pytest.raises(ValueError):
        mg.random_drop(d, 0.3, rescale="l2")


def test_dare_keeps_the_expectation():
    g = torch.Generator().manual_seed(1)
    d = torch.randn(64, generator=g)
    torch.manual_seed(0)
    mean = torch.stack([mg.random_drop(d, 0.25) for _ in range(4000)]).mean(0)
    assert (mean - d).abs().max() < 0.15 * d.abs().max()


def test_dare_matches_peft_and_mergekit(deltas):
    base, ds = deltas
    w = [0.6, 0.3, 0.1]
    wt = torch.tensor(w)
    torch.manual_seed(11)
    peft_lin = mu.dare_linear(ds, wt, 0.4)
    torch.manual_seed(11)
    assert torch.equal(peft_lin, mg.dare_linear(ds, w, 0.4))
    torch.manual_seed(11)
    peft_ties = mu.dare_ties(ds, torch.ones(3), 0.4)
    torch.manual_seed(11)
    assert torch.equal(peft_ties, mg.dare_ties(ds, [1, 1, 1], 0.4, normalize=True))
    models = [base + d for d in ds]
    for method, ours in (("dare_linear", mg.dare_linear), ("dare_ties", mg.dare_ties)):
        torch.manual_seed(11)
        got = merge_tensors([base] + models, method, parameters={"weight": w, "density": 0.4}, base_index=0)
        torch.manual_seed(11)
        close(got, base + ours(ds, w, 0.4, rescale="l1"))


# --- a real mergekit run on tiny Qwen3 checkpoints -----------------------------------------

def tiny_config(layers=2) -> Qwen3Config:
    return Qwen3Config(vocab_size=48, hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                       num_attention_heads=2, num_key_value_heads=1, head_dim=16, tie_word_embeddings=True)


def save_family(root, layers=2):
    """A base and two perturbed copies, saved as safetensors checkpoints."""
    hf_logging.disable_progress_bar()
    torch.manual_seed(0)
    base = Qwen3ForCausalLM(tiny_config(layers))
    states = {"base": {k: v.clone() for k, v in base.state_dict().items()}}
    for i, name in enumerate(("a", "b")):
        g = torch.Generator().manual_seed(10 + i)
        states[name] = {k: v + 0.05 * torch.randn(v.shape, generator=g) for k, v in states["base"].items()}
    for name, state in states.items():
        base.load_state_dict(state)
        base.save_pretrained(root / name)
    # what was saved: the tied LM head is stored once, as the embedding
    return {name: load_file(root / name / "model.safetensors") for name in states}


def run_mergekit(config: dict, out, seed=None):
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        run_merge(MergeConfiguration.model_validate(config), str(out),
                  MergeOptions(device="cpu", copy_tokenizer=False, write_model_card=False, quiet=True,
                               random_seed=seed))
    finally:
        hf_logging.set_verbosity(verbosity)
    return load_file(out / "model.safetensors")


def test_run_merge_on_checkpoints_equals_ours(tmp_path):
    states = save_family(tmp_path)
    base, a, b = states["base"], states["a"], states["b"]
    models = lambda **p: [{"model": str(tmp_path / n), "parameters": p} for n in ("a", "b")]  # noqa: E731

    out = run_mergekit({"merge_method": "linear", "dtype": "float32",
                        "models": [{"model": str(tmp_path / "a"), "parameters": {"weight": 0.3}},
                                   {"model": str(tmp_path / "b"), "parameters": {"weight": 0.7}}]}, tmp_path / "lin")
    ours = mg.merge_weights([a, b], lambda ws: mg.linear(ws, [0.3, 0.7]))
    for k in out:
        close(out[k], ours[k])

    out = run_mergekit({"merge_method": "slerp", "dtype": "float32", "base_model": str(tmp_path / "a"),
                        "models": [{"model": str(tmp_path / "a")}, {"model": str(tmp_path / "b")}],
                        "parameters": {"t": 0.4}}, tmp_path / "slerp")
    ours = mg.merge_weights([a, b], lambda ws: mg.slerp(0.4, ws[0], ws[1]))
    for k in out:
        close(out[k], ours[k])

    out = run_mergekit({"merge_method": "ties", "dtype": "float32", "base_model": str(tmp_path / "base"),
                        "models": models(weight=1.0, density=0.2)}, tmp_path / "ties")
    ours = mg.merge_task_vectors(base, [a, b], lambda d: mg.ties(d, [1, 1], 0.2))
    for k in out:
        close(out[k], ours[k])

    # mergekit merges tensors in name order, each model's mask after the other's: same draws as ours
    out = run_mergekit({"merge_method": "dare_linear", "dtype": "float32", "base_model": str(tmp_path / "base"),
                        "models": models(weight=0.5, density=0.3)}, tmp_path / "dare", seed=7)
    torch.manual_seed(7)
    ours = {k: base[k] + mg.dare_linear([a[k] - base[k], b[k] - base[k]], [0.5, 0.5], 0.3, rescale="l1")
            for k in sorted(base)}
    assert sorted(out) == sorted(base)
    for k in out:
        close(out[k], ours[k])


def test_frankenmerge_matches_mergekit_passthrough(tmp_path):
    states = save_family(tmp_path, layers=3)
    a, b = states["a"], states["b"]
    # same depth as the inputs: mergekit 0.1.5 cannot save a config whose depth changed (see below)
    out = run_mergekit({"merge_method": "passthrough", "dtype": "float32",
                        "slices": [{"sources": [{"model": str(tmp_path / "a"), "layer_range": [0, 2]}]},
                                   {"sources": [{"model": str(tmp_path / "b"), "layer_range": [2, 3]}]}]},
                       tmp_path / "frank")
    ours = mg.stack_layers([(a, 0, 2), (b, 2, 3)])
    assert sorted(out) == sorted(ours)
    for k in out:
        assert torch.equal(out[k], ours[k]), k


def test_depth_upscale_loads_as_a_deeper_qwen3(tmp_path):
    states = save_family(tmp_path, layers=3)
    a = states["a"]
    dus = mg.depth_upscale(a, 3, 1)
    assert {k.split(".")[2] for k in dus if k.startswith("model.layers.")} == {"0", "1", "2", "3"}
    assert torch.equal(dus["model.layers.2.mlp.up_proj.weight"], a["model.layers.1.mlp.up_proj.weight"])
    deeper = Qwen3ForCausalLM(tiny_config(layers=4))
    missing, unexpected = deeper.load_state_dict(dus, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}


def test_mergekit_passthrough_cannot_save_a_deeper_config_yet(tmp_path):
    """mergekit 0.1.5 + transformers 5.17: Qwen3's `layer_types` keeps the old depth. When this
    starts passing, chapter 4 can check depth up-scaling against mergekit too."""
    save_family(tmp_path, layers=3)
    with pytest.raises(Exception, match="layer_types"):
        run_mergekit({"merge_method": "passthrough", "dtype": "float32",
                      "slices": [{"sources": [{"model": str(tmp_path / "a"), "layer_range": [0, 2]}]},
                                 {"sources": [{"model": str(tmp_path / "a"), "layer_range": [1, 3]}]}]},
                     tmp_path / "dus")


def test_upcycled_moe_computes_the_dense_model():
    cfg = tiny_config()
    torch.manual_seed(0)
    dense = Qwen3ForCausalLM(cfg).eval()
    moe_cfg = Qwen3MoeConfig(**{**cfg.to_dict(), "num_experts": 4, "num_experts_per_tok": 2,
                                "moe_intermediate_size": cfg.intermediate_size, "norm_topk_prob": True,
                                "decoder_sparse_step": 1, "mlp_only_layers": []})
    moe = Qwen3MoeForCausalLM(moe_cfg).eval()
    state = mg.upcycle_to_moe(dense.state_dict(), cfg.num_hidden_layers, 4, router_std=0.5,
                              generator=torch.Generator().manual_seed(1))
    missing, unexpected = moe.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}
    ids = torch.randint(0, cfg.vocab_size, (2, 7))
    with torch.no_grad():
        close(moe(ids).logits, dense(ids).logits, tol=1e-5)


# --- LoRA adapters -------------------------------------------------------------------------

def test_lora_cat_and_linear_match_peft():
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(tiny_config())
    lcfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"], init_lora_weights=False)
    pm = get_peft_model(model, lcfg, adapter_name="first")
    pm.add_adapter("second", LoraConfig(r=4, lora_alpha=4, target_modules=["q_proj", "down_proj"],
                                        init_lora_weights=False))
    weights = [0.7, 0.4]
    logging.getLogger("peft").setLevel(logging.ERROR)
    pm.add_weighted_adapter(["first", "second"], weights, "cat", combination_type="cat")
    pm.add_weighted_adapter(["first", "second"], weights, "lin", combination_type="linear")
    layer = pm.base_model.model.model.layers[0].self_attn.q_proj
    As = [layer.lora_A[n].weight for n in ("first", "second")]
    Bs = [layer.lora_B[n].weight for n in ("first", "second")]
    scalings = [layer.scaling["first"], layer.scaling["second"]]
    assert scalings == [2.0, 1.0] and layer.scaling["cat"] == 1.0 and layer.scaling["lin"] == 1.0
    with torch.no_grad():
        a_cat, b_cat = mg.lora_cat(As, Bs, weights, scalings)
        assert a_cat.shape[0] == 8 and layer.lora_A["cat"].weight.shape[0] == 8  # rank r1 + r2
        close(layer.lora_A["cat"].weight, a_cat)
        close(layer.lora_B["cat"].weight, b_cat)
        wanted = sum(w * mg.lora_delta(a, b, s) for a, b, w, s in zip(As, Bs, weights, scalings))
        close(layer.get_delta_weight("cat"), wanted, tol=1e-5)
        a_lin, b_lin = mg.lora_linear(As, Bs, weights, scalings)
        close(layer.lora_A["lin"].weight, a_lin)
        close(layer.lora_B["lin"].weight, b_lin)
        cross = math.sqrt(weights[0] * scalings[0] * weights[1] * scalings[1]) * (Bs[0] @ As[1] + Bs[1] @ As[0])
        close(layer.get_delta_weight("lin") - wanted, cross, tol=1e-5)
        assert cross.norm() > 0.1 * wanted.norm()


def test_peft_ties_on_adapters_merges_a_and_b_separately_unless_svd():
    """add_weighted_adapter's ties (like linear) trims and elects on A's and B's, not on delta W;
    ties_svd runs TIES on the delta W's and truncates to the rank by SVD. Chapter 4 tells readers so."""
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(tiny_config())
    lcfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"], init_lora_weights=False)
    pm = get_peft_model(model, lcfg, adapter_name="first")
    pm.add_adapter("second", lcfg)
    logging.getLogger("peft").setLevel(logging.ERROR)
    pm.add_weighted_adapter(["first", "second"], [1.0, 1.0], "t", combination_type="ties", density=0.5)
    pm.add_weighted_adapter(["first", "second"], [1.0, 1.0], "tsvd", combination_type="ties_svd", density=0.5)
    layer = pm.base_model.model.model.layers[0].self_attn.q_proj
    names = ("first", "second")
    As = [layer.lora_A[n].weight.detach() for n in names]
    Bs = [layer.lora_B[n].weight.detach() for n in names]
    deltas = [mg.lora_delta(a, b, layer.scaling[n]) for a, b, n in zip(As, Bs, names)]
    root = torch.full((2,), math.sqrt(layer.scaling["first"]))
    with torch.no_grad():
        close(layer.lora_A["t"].weight, mu.ties(As, root, 0.5))
        close(layer.lora_B["t"].weight, mu.ties(Bs, root, 0.5))
        on_delta = mg.ties(deltas, [1, 1], 0.5)
        assert (layer.get_delta_weight("t") - on_delta).norm() > 0.1 * on_delta.norm()
        u, s, vh = torch.linalg.svd(on_delta)
        rank4 = u[:, :4] @ torch.diag(s[:4]) @ vh[:4]
        close(layer.get_delta_weight("tsvd"), rank4, tol=1e-4)


def test_lora_linear_sign_goes_on_a_only():
    a = [torch.ones(1, 2), torch.ones(1, 2)]
    b = [torch.ones(3, 1), torch.ones(3, 1)]
    a_lin, b_lin = mg.lora_linear(a, b, [1.0, -1.0], [1.0, 1.0])
    close(a_lin, torch.zeros(1, 2))
    close(b_lin, 2 * torch.ones(3, 1))
    a_cat, b_cat = mg.lora_cat(a, b, [1.0, -1.0], [1.0, 1.0])
    close(b_cat @ a_cat, torch.zeros(3, 2))


def test_merging_a_lora_into_its_base_is_w0_plus_delta():
    torch.manual_seed(0)
    model = Qwen3ForCausalLM(tiny_config()).eval()
    w0 = model.model.layers[1].mlp.up_proj.weight.detach().clone()
    pm = get_peft_model(copy.deepcopy(model), LoraConfig(r=2, lora_alpha=6, target_modules=["up_proj"],
                                                         init_lora_weights=False))
    layer = pm.base_model.model.model.layers[1].mlp.up_proj
    delta = mg.lora_delta(layer.lora_A["default"].weight, layer.lora_B["default"].weight, layer.scaling["default"])
    ids = torch.randint(0, 48, (1, 5))
    with torch.no_grad():
        before = pm(ids).logits
        merged = pm.merge_and_unload()
        close(merged.model.layers[1].mlp.up_proj.weight, w0 + delta)
        close(merged(ids).logits, before, tol=1e-5)
