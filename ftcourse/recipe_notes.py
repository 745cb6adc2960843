"""Small pieces of lab 1's training recipe written out by hand, for the recipe page (book/recipe.md).

Each function is shown on that page and checked there, and in tests/test_recipe_notes.py, against the
library that really does the work: transformers' learning-rate schedule and causal-LM loss, torch's AdamW,
bitsandbytes' 8-bit AdamW. `KNOB_SECTIONS` says which section of the page explains each knob of lab 1's
`parameters` cell (the test checks that it covers them all and that the sections exist).
"""
from __future__ import annotations

from collections.abc import Iterable

# Lab 1's knobs (ftcourse.recipes: LABS["lab1_first_qlora"]) -> the page section that explains each one.
KNOB_SECTIONS = {
    "model": "intro-base-model",
    "dataset": "recipe-heldout",
    "n_rows": "recipe-steps",
    "max_seq_length": "recipe-max-length",
    "load_in_4bit": "ch3-qlora",
    "lora_r": "recipe-lora",
    "lora_alpha": "recipe-lora",
    "batch_size": "recipe-batch",
    "grad_accum": "recipe-batch",
    "max_steps": "recipe-steps",
    "learning_rate": "recipe-lr",
    "warmup_steps": "recipe-schedule",
    "weight_decay": "recipe-weight-decay",
    "seed": "recipe-seed",
    "eval_rows": "recipe-heldout",
}

# Unsloth's offloaded checkpointing, as written in the pinned sources (unsloth 2026.10.5, unsloth_zoo 2026.10.7):
# `apply_unsloth_gradient_checkpointing` (unsloth/models/_utils.py) switches "unsloth" to plain checkpointing
# (True) when the model's max_seq_length is below 512; `UnslothCheckpointFunction` (unsloth_zoo/
# gradient_checkpointing.py) copies a layer's input to CPU memory only when it holds more than MINIMUM_SIZE bytes.
UNSLOTH_OFFLOAD_MIN_SEQ_LENGTH = 512
UNSLOTH_OFFLOAD_MIN_BYTES = 2 * 1024 * 1024


def linear_schedule(step: int, peak_lr: float, warmup_steps: int, total_steps: int) -> float:
    """The learning rate after `step` scheduler steps: a straight climb from 0 to `peak_lr` over
    `warmup_steps`, then a straight fall to 0 at `total_steps`. Optimizer step k (counting from 1)
    uses `linear_schedule(k - 1, ...)`, the rate the Trainer logs for step k.

    Taught in '학습 레시피', '워밍업과 선형 감소' ({ref}`recipe-schedule`).
    """
    if step < warmup_steps:
        return peak_lr * step / warmup_steps
    return peak_lr * max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def decay_factor(learning_rates: Iterable[float], weight_decay: float) -> float:
    """How much decoupled weight decay alone (AdamW) shrinks a weight over the steps: each step
    multiplies it by (1 - lr * weight_decay), whatever the gradient does.

    Taught in '학습 레시피', '가중치 감쇠' ({ref}`recipe-weight-decay`).
    """
    factor = 1.0
    for lr in learning_rates:
        factor *= 1.0 - lr * weight_decay
    return factor


def prompt_weighted_loss(logits, input_ids, is_response, prompt_weight: float, attention_mask=None):
    """Mean next-token cross-entropy where a prompt token's loss counts `prompt_weight` times and a
    response token's loss once: sum(w * loss) / sum(w). Weight 0 is the response-only loss, weight 1
    the loss on every token; padding (attention_mask 0) never counts.

    logits: (batch, length, vocab); input_ids, is_response, attention_mask: (batch, length). Position t
    predicts token t + 1, so the weight of a prediction is that of the token it predicts.

    Taught in '학습 레시피', '응답 전용 손실과 프롬프트 손실 가중치' ({ref}`recipe-response-loss`).
    """
    import torch
    import torch.nn.functional as F

    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    target = input_ids[:, 1:]
    token_loss = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), target.flatten(), reduction="none")
    weight = torch.where(is_response[:, 1:].bool(), 1.0, prompt_weight) * attention_mask[:, 1:]
    weight = weight.flatten().to(token_loss.dtype)
    return (weight * token_loss).sum() / weight.sum()


def optimizer_state_bytes(optimizer) -> int:
    """Bytes the optimizer's state tensors hold, each storage counted once (bitsandbytes shares its
    quantization tables between parameters) and 0-dim step counters left out.

    Taught in '학습 레시피', '8비트 AdamW' ({ref}`recipe-optimizer`).
    """
    import torch

    seen, total = set(), 0
    for state in optimizer.state.values():
        for value in state.values():
            if not torch.is_tensor(value) or value.dim() == 0:
                continue
            storage = value.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
    return total


def unsloth_checkpointing(max_seq_length: int, tokens_per_batch: int, hidden_size: int, value_bytes: int = 2) -> str:
    """What `use_gradient_checkpointing="unsloth"` does with one decoder layer's input, following the
    pinned Unsloth sources:

    - "plain": max_seq_length below 512, so Unsloth falls back to ordinary checkpointing (True): the
      input stays on the GPU and the layer is recomputed in the backward pass;
    - "keep": the input (tokens x hidden x bytes) is 2 MiB or less, so it stays on the GPU (recomputed);
    - "offload": the input is copied to pinned CPU memory on a side stream during the forward pass and
      copied back just before the layer is recomputed in the backward pass.

    Taught in '학습 레시피', 'use_gradient_checkpointing="unsloth"' ({ref}`recipe-checkpointing`).
    """
    if max_seq_length < UNSLOTH_OFFLOAD_MIN_SEQ_LENGTH:
        return "plain"
    if tokens_per_batch * hidden_size * value_bytes <= UNSLOTH_OFFLOAD_MIN_BYTES:
        return "keep"
    return "offload"
