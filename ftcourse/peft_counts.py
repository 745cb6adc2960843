"""Closed-form trainable-parameter counts of PEFT methods for Llama/Qwen3-style decoders.

Every function reads only a transformers config (no weights, no torch), so the chapters can write
the formula and the labs can assert the count that Unsloth/PEFT prints against it.
`tests/test_peft_counts.py` checks each formula against what PEFT 0.21.2 really allocates.

Notation used in the docstrings: L layers, d = hidden_size, f = intermediate_size,
h = num_attention_heads, k = num_key_value_heads, e = head_dim.
"""
from __future__ import annotations

from typing import Iterable, Mapping

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
ATTENTION_PROJECTIONS = PROJECTIONS[:4]
MLP_PROJECTIONS = PROJECTIONS[4:]
# IA3 as in Liu et al. (2022): rescale keys, values and the input of the feed-forward output layer.
IA3_TARGETS = ("k_proj", "v_proj", "down_proj")
IA3_FEEDFORWARD = ("down_proj",)


def head_dim(config) -> int:
    """Per-head width e; Qwen3 sets it explicitly (128 != 2560 / 32), Llama derives it.

    Taught in 1장, '투영 행렬의 모양' ({ref}`ch1-shapes`).
    """
    explicit = getattr(config, "head_dim", None)
    return int(explicit) if explicit else config.hidden_size // config.num_attention_heads


def kv_dim(config) -> int:
    """Width of the key (= value) projection output, k * e: smaller than d under GQA.

    Taught in 1장, '투영 행렬의 모양' ({ref}`ch1-shapes`).
    """
    n_kv = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    return n_kv * head_dim(config)


def linear_shapes(config) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of the seven linear projections of one decoder layer.

    Taught in 1장, '투영 행렬의 모양' ({ref}`ch1-shapes`).
    """
    d, f = config.hidden_size, config.intermediate_size
    q = config.num_attention_heads * head_dim(config)
    kv = kv_dim(config)
    return {
        "q_proj": (d, q),
        "k_proj": (d, kv),
        "v_proj": (d, kv),
        "o_proj": (q, d),
        "gate_proj": (d, f),
        "up_proj": (d, f),
        "down_proj": (f, d),
    }


def _check_targets(shapes: Mapping[str, tuple[int, int]], targets: Iterable[str]) -> list[str]:
    targets = list(targets)
    unknown = sorted(set(targets) - set(shapes))
    if unknown:
        raise ValueError(f"unknown projection(s) {unknown}; expected names from {list(shapes)}")
    if len(set(targets)) != len(targets):
        raise ValueError(f"duplicate target modules in {targets}")
    return targets


def lora_param_count(config, r: int, target_modules: Iterable[str] = PROJECTIONS) -> int:
    """LoRA: A (r x d_in) and B (d_out x r) per targeted linear layer.

    count = L * sum_m r * (d_in(m) + d_out(m))   (no bias, bias="none").

    Taught in 1장, 'LoRA 파라미터 수의 닫힌 식' ({ref}`ch1-lora-count`).
    """
    if r < 1:
        raise ValueError("rank r must be a positive integer")
    shapes = linear_shapes(config)
    targets = _check_targets(shapes, target_modules)
    per_layer = sum(r * (shapes[m][0] + shapes[m][1]) for m in targets)
    return config.num_hidden_layers * per_layer


def ia3_param_count(
    config,
    target_modules: Iterable[str] = IA3_TARGETS,
    feedforward_modules: Iterable[str] = IA3_FEEDFORWARD,
) -> int:
    """IA3: one learned scaling vector per targeted linear layer (PEFT semantics).

    A non-feed-forward target rescales its output (d_out values); a feed-forward target rescales
    its input (d_in values).  count = L * (sum_{m not ff} d_out(m) + sum_{m ff} d_in(m)).

    Taught in 1장, '여러 기법을 같은 모델에서' ({ref}`ch1-methods`).
    """
    shapes = linear_shapes(config)
    targets = _check_targets(shapes, target_modules)
    feedforward = set(feedforward_modules)
    if not feedforward <= set(targets):
        raise ValueError("feedforward_modules must be a subset of target_modules (as PEFT requires)")
    per_layer = sum(shapes[m][0] if m in feedforward else shapes[m][1] for m in targets)
    return config.num_hidden_layers * per_layer


def prompt_tuning_param_count(config, num_virtual_tokens: int) -> int:
    """Soft prompt tuning: n virtual-token embeddings of width d.  count = n * d.

    Taught in 1장, '여러 기법을 같은 모델에서' ({ref}`ch1-methods`).
    """
    return num_virtual_tokens * config.hidden_size


def prefix_tuning_param_count(
    config, num_virtual_tokens: int, prefix_projection: bool = False,
    encoder_hidden_size: int | None = None,
) -> int:
    """Prefix tuning as PEFT 0.21.2 allocates it.

    PEFT learns a key and a value prefix for every layer.  For grouped-query attention it sizes each
    prefix with the KV width t = k * e (not d), so without reparameterization
    count = n * L * 2 * t.  With `prefix_projection=True` an MLP t -> m -> 2*L*t (biases on
    both layers, m = encoder_hidden_size, default t) produces the prefix from n embeddings of width t:
    count = n*t + (t*m + m) + (m * 2*L*t + 2*L*t).

    Taught in 1장, '여러 기법을 같은 모델에서' ({ref}`ch1-methods`).
    """
    t = kv_dim(config)
    out = 2 * config.num_hidden_layers * t
    if not prefix_projection:
        return num_virtual_tokens * out
    m = encoder_hidden_size or t
    return num_virtual_tokens * t + (t * m + m) + (m * out + out)


def p_tuning_param_count(config, num_virtual_tokens: int, encoder_hidden_size: int | None = None) -> int:
    """P-tuning with PEFT's default MLP prompt encoder: n embeddings of width d, then
    Linear(d, m) -> ReLU -> Linear(m, m) -> ReLU -> Linear(m, d), all with biases (m default d).

    Taught in 1장, '여러 기법을 같은 모델에서' ({ref}`ch1-methods`).
    """
    d = config.hidden_size
    m = encoder_hidden_size or d
    return num_virtual_tokens * d + (d * m + m) + (m * m + m) + (m * d + d)


def bottleneck_adapter_param_count(config, bottleneck_size: int, adapters_per_layer: int = 2) -> int:
    """Houlsby bottleneck adapters: per adapter a down projection d -> m and an up projection
    m -> d, both with biases, i.e. 2*d*m + d + m; Houlsby et al. insert two per layer.

    PEFT has no class for this method; the count is checked against plain torch modules.

    Taught in 1장, '여러 기법을 같은 모델에서' ({ref}`ch1-methods`).
    """
    d, m = config.hidden_size, bottleneck_size
    return config.num_hidden_layers * adapters_per_layer * (2 * d * m + d + m)


def bitfit_param_count(config) -> int:
    """BitFit trains the existing bias terms only.

    In Llama/Qwen3 code the attention projections carry a bias only if `attention_bias` is set and
    the MLP projections only if `mlp_bias` is set (Qwen3's MLP never has one); RMSNorm has none.
    For the released Qwen3 and Llama 3 configs both flags are off, so the count is 0.

    Taught in 1장, 'BitFit을 Qwen3에 적용하면' ({ref}`ch1-bitfit`).
    """
    shapes = linear_shapes(config)
    per_layer = 0
    if getattr(config, "attention_bias", False):
        per_layer += sum(shapes[m][1] for m in ATTENTION_PROJECTIONS)
    # Qwen3's MLP is built with bias=False whatever the config says.
    if getattr(config, "mlp_bias", False) and getattr(config, "model_type", "") != "qwen3":
        per_layer += sum(shapes[m][1] for m in MLP_PROJECTIONS)
    return config.num_hidden_layers * per_layer


def adapter_bytes(num_params: int, bytes_per_param: int = 4) -> int:
    """Size of the saved tensors (safetensors header excluded); PEFT keeps adapters in fp32 by default.

    Taught in 1장, '학습 비율과 저장 크기' ({ref}`ch1-sizes`).
    """
    return num_params * bytes_per_param
