"""Architectures used in the text, built on PyTorch's `meta` device: shapes and counts, no weights.

The hyper-parameters are copied from each model's published `config.json` on the Hugging Face
Hub (cited in the chapters); building the real transformers class on `meta` lets the chapters
count parameters with the library itself instead of quoting a number.
"""
from __future__ import annotations

import torch
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    PretrainedConfig,
    Qwen3Config,
    Qwen3ForCausalLM,
)

from .peft_counts import ATTENTION_PROJECTIONS as LORA_TARGETS_ATTENTION
from .peft_counts import PROJECTIONS as LORA_TARGETS_ALL

__all__ = ["HUB_CONFIGS", "LORA_TARGETS_ALL", "LORA_TARGETS_ATTENTION", "MODEL_CONFIGS", "build_on_meta",
           "count_parameters"]


def qwen3_4b_config() -> Qwen3Config:
    """Qwen/Qwen3-4B (also the base of unsloth/Qwen3-4B-unsloth-bnb-4bit)."""
    return Qwen3Config(
        vocab_size=151_936, hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, tie_word_embeddings=True,
        max_position_embeddings=40_960, rope_theta=1_000_000.0,
    )


def llama3_8b_config() -> LlamaConfig:
    """meta-llama/Meta-Llama-3-8B."""
    return LlamaConfig(
        vocab_size=128_256, hidden_size=4096, intermediate_size=14_336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, tie_word_embeddings=False,
    )


def llama2_13b_config() -> LlamaConfig:
    """meta-llama/Llama-2-13b-hf (the 13B example of the memory rules of thumb)."""
    return LlamaConfig(
        vocab_size=32_000, hidden_size=5120, intermediate_size=13_824, num_hidden_layers=40,
        num_attention_heads=40, num_key_value_heads=40, tie_word_embeddings=False,
    )


def llama3_70b_config() -> LlamaConfig:
    """meta-llama/Meta-Llama-3-70B."""
    return LlamaConfig(
        vocab_size=128_256, hidden_size=8192, intermediate_size=28_672, num_hidden_layers=80,
        num_attention_heads=64, num_key_value_heads=8, tie_word_embeddings=False,
    )


MODEL_CONFIGS = {
    "Qwen3-4B": qwen3_4b_config,
    "Llama-3-8B": llama3_8b_config,
    "Llama-2-13B": llama2_13b_config,
    "Llama-3-70B": llama3_70b_config,
}

# Hub checkpoints the labs load, by the architecture they share (a 4-bit upload has its base's config).
HUB_CONFIGS = {
    "Qwen/Qwen3-4B": qwen3_4b_config,
    "unsloth/Qwen3-4B": qwen3_4b_config,
    "unsloth/Qwen3-4B-unsloth-bnb-4bit": qwen3_4b_config,
}


def build_on_meta(config: PretrainedConfig) -> torch.nn.Module:
    """The real transformers model class, with every tensor on `meta` (no memory, no download)."""
    cls = Qwen3ForCausalLM if isinstance(config, Qwen3Config) else LlamaForCausalLM
    with torch.device("meta"):
        return cls(config)


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Parameters of a module; tied weights (Qwen3's embedding and LM head) count once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
