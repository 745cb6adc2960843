"""Each closed form in ftcourse.peft_counts against what PEFT 0.21.2 really allocates.

Two models: Qwen3-4B on the meta device (no weights) and a small Qwen3 with real weights whose
head_dim * heads differs from hidden_size (as in Qwen3-4B), so q/o and GQA mistakes show up.
get_peft_model mutates its model, so every check builds a fresh base.
"""
from __future__ import annotations

import types

import pytest
import torch
from peft import (
    IA3Config,
    LoraConfig,
    PrefixTuningConfig,
    PromptEncoderConfig,
    PromptTuningConfig,
    get_peft_model,
)
from transformers import LlamaConfig, Qwen3Config, Qwen3ForCausalLM

from ftcourse import peft_counts as pc
from ftcourse.models import (
    LORA_TARGETS_ALL,
    LORA_TARGETS_ATTENTION,
    build_on_meta,
    count_parameters,
    llama3_8b_config,
    qwen3_4b_config,
)

QWEN3_4B_TOTAL = 4_022_468_096


def small_qwen3_config(**overrides) -> Qwen3Config:
    kwargs = dict(
        vocab_size=128, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, head_dim=24, tie_word_embeddings=True,
    )
    kwargs.update(overrides)
    return Qwen3Config(**kwargs)


def build_small_real(config: Qwen3Config) -> torch.nn.Module:
    torch.manual_seed(0)
    return Qwen3ForCausalLM(config)


# name -> (config factory, model builder); the 4B one lives on meta, the small one has real weights
MODELS = {
    "qwen3-4b-meta": (qwen3_4b_config, build_on_meta),
    "qwen3-small-real": (small_qwen3_config, build_small_real),
}


def peft_trainable(config, builder, peft_config) -> tuple[int, int]:
    model = builder(config)
    return get_peft_model(model, peft_config).get_nb_trainable_parameters()


def count_with_peft(model_name, peft_config):
    """The model's config, and the trainable count PEFT reports for `peft_config` on that model."""
    make_config, builder = MODELS[model_name]
    config = make_config()
    trainable, _ = peft_trainable(config, builder, peft_config)
    return config, trainable


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("model_name", MODELS)
def test_linear_shapes_match_the_real_modules(model_name):
    make_config, builder = MODELS[model_name]
    config = make_config()
    layer = builder(config).model.layers[0]
    modules = {**{n: getattr(layer.self_attn, n) for n in pc.ATTENTION_PROJECTIONS},
               **{n: getattr(layer.mlp, n) for n in pc.MLP_PROJECTIONS}}
    shapes = pc.linear_shapes(config)
    assert list(shapes) == list(pc.PROJECTIONS)
    for name, module in modules.items():
        assert shapes[name] == (module.in_features, module.out_features), name


def test_qwen3_4b_shapes_are_the_published_ones():
    shapes = pc.linear_shapes(qwen3_4b_config())
    assert shapes["q_proj"] == (2560, 4096)  # 32 heads x 128, wider than hidden
    assert shapes["k_proj"] == shapes["v_proj"] == (2560, 1024)  # 8 KV heads x 128
    assert shapes["o_proj"] == (4096, 2560)
    assert shapes["gate_proj"] == shapes["up_proj"] == (2560, 9728)
    assert shapes["down_proj"] == (9728, 2560)


def test_head_dim_falls_back_to_hidden_over_heads():
    config = types.SimpleNamespace(hidden_size=4096, num_attention_heads=32, num_key_value_heads=8,
                                   head_dim=None, intermediate_size=14336, num_hidden_layers=32)
    assert pc.head_dim(config) == 128
    assert pc.linear_shapes(config)["k_proj"] == (4096, 1024)
    assert pc.linear_shapes(llama3_8b_config())["k_proj"] == (4096, 1024)


# ---------------------------------------------------------------- LoRA


@pytest.mark.parametrize("r, expected", [(8, 16_515_072), (16, 33_030_144), (32, 66_060_288)])
def test_lora_qwen3_4b_published_figures(r, expected):
    config = qwen3_4b_config()
    assert pc.lora_param_count(config, r, LORA_TARGETS_ALL) == expected
    trainable, total = peft_trainable(config, build_on_meta,
                                      LoraConfig(r=r, target_modules=list(LORA_TARGETS_ALL)))
    assert trainable == expected
    assert total == QWEN3_4B_TOTAL + expected


def test_lora_r8_matches_the_unsloth_log():
    # "Trainable parameters = 16,515,072 of 4,038,983,168 (0.41% trained)"
    config = qwen3_4b_config()
    n = pc.lora_param_count(config, 8)
    assert (n, QWEN3_4B_TOTAL + n) == (16_515_072, 4_038_983_168)
    assert f"{100 * n / (QWEN3_4B_TOTAL + n):.2f}" == "0.41"


LORA_CASES = [
    (8, LORA_TARGETS_ALL),
    (16, LORA_TARGETS_ATTENTION),
    (64, ("q_proj", "v_proj")),
    (4, ("down_proj",)),
]


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("r, targets", LORA_CASES)
def test_lora_formula_equals_peft(model_name, r, targets):
    config, trainable = count_with_peft(model_name, LoraConfig(r=r, target_modules=list(targets)))
    assert pc.lora_param_count(config, r, targets) == trainable


def test_lora_attention_only_qwen3_4b():
    config = qwen3_4b_config()
    # 36 * 8 * ((2560+4096) + 2*(2560+1024) + (4096+2560))
    assert pc.lora_param_count(config, 8, LORA_TARGETS_ATTENTION) == 36 * 8 * (6656 + 2 * 3584 + 6656)
    trainable, _ = peft_trainable(config, build_on_meta,
                                  LoraConfig(r=8, target_modules=list(LORA_TARGETS_ATTENTION)))
    assert trainable == pc.lora_param_count(config, 8, LORA_TARGETS_ATTENTION) == 5_898_240


def test_lora_rejects_bad_input():
    config = qwen3_4b_config()
    with pytest.raises(ValueError):
        pc.lora_param_count(config, 8, ["q_proj", "qkv_proj"])
    with pytest.raises(ValueError):
        pc.lora_param_count(config, 0)
    with pytest.raises(ValueError):
        pc.lora_param_count(config, 8, ["q_proj", "q_proj"])


# ---------------------------------------------------------------- IA3


IA3_CASES = [
    (pc.IA3_TARGETS, pc.IA3_FEEDFORWARD),  # the paper's choice: k, v and the FFN output layer
    (("q_proj", "v_proj", "down_proj"), ("down_proj",)),  # PEFT's default for qwen3
    (("k_proj", "v_proj", "up_proj"), ()),  # up_proj as a non-feed-forward target scales its output
]


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("targets, feedforward", IA3_CASES)
def test_ia3_formula_equals_peft(model_name, targets, feedforward):
    peft_config = IA3Config(target_modules=list(targets), feedforward_modules=list(feedforward))
    config, trainable = count_with_peft(model_name, peft_config)
    assert pc.ia3_param_count(config, targets, feedforward) == trainable


def test_ia3_qwen3_4b_value_and_ff_side():
    config = qwen3_4b_config()
    assert pc.ia3_param_count(config) == 36 * (1024 + 1024 + 9728)
    # down_proj scales its input (9728), not its output (2560)
    assert pc.ia3_param_count(config, ["down_proj"], ["down_proj"]) == 36 * 9728
    with pytest.raises(ValueError):
        pc.ia3_param_count(config, ["k_proj"], ["down_proj"])


# ---------------------------------------------------------------- prompt, prefix, P-tuning


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("n", [1, 20])
def test_prompt_tuning_formula_equals_peft(model_name, n):
    config, trainable = count_with_peft(model_name, PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=n))
    assert pc.prompt_tuning_param_count(config, n) == trainable == n * config.hidden_size


@pytest.mark.parametrize("model_name", MODELS)
def test_prefix_tuning_formula_equals_peft(model_name):
    config, trainable = count_with_peft(model_name, PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=20))
    assert pc.prefix_tuning_param_count(config, 20) == trainable


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("encoder_hidden_size", [None, 32])
def test_prefix_tuning_with_projection_equals_peft(model_name, encoder_hidden_size):
    peft_config = PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=10, prefix_projection=True,
                                     encoder_hidden_size=encoder_hidden_size)
    config, trainable = count_with_peft(model_name, peft_config)
    assert pc.prefix_tuning_param_count(config, 10, True, encoder_hidden_size) == trainable


def test_prefix_tuning_uses_the_kv_width_under_gqa():
    config = qwen3_4b_config()
    n, layers = 20, config.num_hidden_layers
    assert pc.prefix_tuning_param_count(config, n) == n * layers * 2 * 8 * 128 == 1_474_560
    assert pc.prefix_tuning_param_count(config, n) != n * layers * 2 * config.hidden_size


@pytest.mark.parametrize("model_name", MODELS)
def test_p_tuning_formula_equals_peft(model_name):
    config, trainable = count_with_peft(model_name, PromptEncoderConfig(task_type="CAUSAL_LM", num_virtual_tokens=20))
    assert pc.p_tuning_param_count(config, 20) == trainable


# ---------------------------------------------------------------- bottleneck adapter (no PEFT class)


@pytest.mark.parametrize("make_config", [qwen3_4b_config, small_qwen3_config])
@pytest.mark.parametrize("m", [8, 64])
def test_bottleneck_adapter_formula_equals_torch_modules(make_config, m):
    config = make_config()
    d = config.hidden_size
    with torch.device("meta"):
        adapters = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Linear(d, m), torch.nn.GELU(), torch.nn.Linear(m, d))
            for _ in range(2 * config.num_hidden_layers)
        )
    assert pc.bottleneck_adapter_param_count(config, m) == count_parameters(adapters)
    assert pc.bottleneck_adapter_param_count(config, m) == config.num_hidden_layers * 2 * (2 * d * m + d + m)


# ---------------------------------------------------------------- BitFit


def bias_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if n.endswith(".bias"))


def test_bitfit_on_qwen3_has_nothing_to_train():
    model = build_on_meta(qwen3_4b_config())
    assert [n for n, _ in model.named_parameters() if n.endswith(".bias")] == []
    assert pc.bitfit_param_count(qwen3_4b_config()) == 0


@pytest.mark.parametrize(
    "config",
    [
        qwen3_4b_config().__class__(**{**qwen3_4b_config().to_dict(), "attention_bias": True}),
        small_qwen3_config(attention_bias=True),
        LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, attention_bias=True, mlp_bias=True),
    ],
    ids=["qwen3-4b-attn-bias", "qwen3-small-attn-bias", "llama-small-all-bias"],
)
def test_bitfit_formula_equals_bias_count_and_peft(config):
    model = build_on_meta(config)
    expected = pc.bitfit_param_count(config)
    assert expected > 0
    assert bias_params(model) == expected
    # PEFT's LoRA with bias="all" also trains every bias: the difference is exactly BitFit's share
    with_bias, _ = get_peft_model(build_on_meta(config),
                                  LoraConfig(r=2, target_modules=["q_proj"], bias="all")).get_nb_trainable_parameters()
    without, _ = get_peft_model(build_on_meta(config),
                                LoraConfig(r=2, target_modules=["q_proj"], bias="none")).get_nb_trainable_parameters()
    assert with_bias - without == expected


def test_qwen3_mlp_never_has_a_bias():
    config = small_qwen3_config(attention_bias=True)
    config.mlp_bias = True  # Qwen3's MLP ignores it
    assert pc.bitfit_param_count(config) == bias_params(build_on_meta(config))


# ---------------------------------------------------------------- sizes


def test_adapter_bytes_matches_the_saved_file(tmp_path):
    """PEFT keeps LoRA weights in fp32 even on a bf16 base, so 4 bytes per parameter on disk."""
    config = small_qwen3_config()
    model = build_small_real(config).to(torch.bfloat16)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=list(LORA_TARGETS_ALL)))
    dtypes = {p.dtype for p in peft_model.parameters() if p.requires_grad}
    assert dtypes == {torch.float32}
    peft_model.save_pretrained(tmp_path)
    size = (tmp_path / "adapter_model.safetensors").stat().st_size
    tensors = pc.adapter_bytes(pc.lora_param_count(config, 4), 4)
    assert tensors <= size < tensors + 64 * 1024  # the rest is the JSON header


@pytest.mark.parametrize("kind", ["p_tuning", "prefix_projection", "prompt_tuning"])
def test_prompt_learning_saves_only_the_prompt(tmp_path, kind):
    """P-tuning's and projected prefix tuning's encoders are trained but not saved: PEFT writes only
    the prompt they produce, so the file holds n*d (P-tuning) or n*2*L*t (prefix) numbers."""
    config, n = small_qwen3_config(), 10
    peft_config, trained, saved = {
        "p_tuning": (PromptEncoderConfig(task_type="CAUSAL_LM", num_virtual_tokens=n),
                     pc.p_tuning_param_count(config, n), pc.prompt_tuning_param_count(config, n)),
        "prefix_projection": (PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=n, prefix_projection=True),
                              pc.prefix_tuning_param_count(config, n, True), pc.prefix_tuning_param_count(config, n)),
        "prompt_tuning": (PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=n),
                          pc.prompt_tuning_param_count(config, n), pc.prompt_tuning_param_count(config, n)),
    }[kind]
    peft_model = get_peft_model(build_small_real(config), peft_config)
    assert peft_model.get_nb_trainable_parameters()[0] == trained
    peft_model.save_pretrained(tmp_path)
    from safetensors.torch import load_file

    tensors = load_file(tmp_path / "adapter_model.safetensors")
    assert sum(t.numel() for t in tensors.values()) == saved
    assert {t.dtype for t in tensors.values()} == {torch.float32}
