"""How many bytes training and inference need: a small estimator the chapters and labs share.

All results are in bytes. `GB` (10**9) is the decimal unit the rules of thumb use; `GIB` (2**30)
is what `torch.cuda.max_memory_reserved() / 1024**3` prints as "GB" in Unsloth's logs.

Sources of the constants:
- Weights, gradients, optimizer states, master weights: the mixed-precision Adam accounting of
  ZeRO (Rajbhandari et al., 2020, Sec. 3.1): 2 + 2 + (4 + 4 + 4) = 16 bytes per parameter.
- Activations: Korthikanti et al. (2023), "Reducing Activation Recomputation in Large
  Transformer Models": s*b*h*(34 + 5*a*s/h) bytes per layer with 16-bit activations.
- Rules of thumb: the week-9 lecture material (after Huyen, AI Engineering, 2025, ch. 7):
  inference ~ N*M*1.2; training with Adam ~ weights + N*3*M (gradients and the two Adam states).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

GB = 10**9
GIB = 2**30


@dataclass(frozen=True)
class Recipe:
    """Bytes per parameter for each kind of training state."""

    weights: int
    gradients: int
    optimizer_states: int
    master_weights: int

    @property
    def per_param(self) -> int:
        return self.weights + self.gradients + self.optimizer_states + self.master_weights


# ZeRO Sec. 3.1: fp16/bf16 weights and grads, fp32 master copy, fp32 Adam m and v.
MIXED_ADAMW = Recipe(weights=2, gradients=2, optimizer_states=8, master_weights=4)
# Pure bf16 weights and grads, fp32 m and v, no master copy (updates land in bf16 directly).
BF16_ADAMW = Recipe(weights=2, gradients=2, optimizer_states=8, master_weights=0)
# Everything fp32 (PyTorch's default): the setup the CPU measurement in the tests uses.
FP32_ADAMW = Recipe(weights=4, gradients=4, optimizer_states=8, master_weights=0)


@dataclass(frozen=True)
class TrainingMemory:
    """Named components of full fine-tuning memory, in bytes."""

    weights: int
    gradients: int
    optimizer_states: int
    master_weights: int
    activations: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


def weights_bytes(n_params: int, bytes_per_param: float) -> int:
    """Bytes to hold the weights alone: N * M (e.g. M = 2 for fp16/bf16, 0.5 for 4-bit).

    Taught in '왜 미세조정인가', '경험칙과 견주기' ({ref}`intro-memory-rules`).
    """
    return int(n_params * bytes_per_param)


def activation_bytes_per_layer(seq_len: int, batch_size: int, hidden: int, heads: int) -> int:
    """Korthikanti et al. (2023), one layer, no parallelism: s*b*h*(34 + 5*a*s/h) bytes.

    Assumes 16-bit activations and a GPT-style block (dropout masks included, attention scores
    stored: the 5*a*s/h term). FlashAttention-style kernels do not store the a*s*s scores, and
    SwiGLU/GQA blocks differ in detail, so read the result as an estimate, not a measurement.

    Taught in '왜 미세조정인가', '활성화' ({ref}`intro-memory-activations`).
    """
    s, b, h, a = seq_len, batch_size, hidden, heads
    return s * b * h * 34 + 5 * a * s * s * b


def activation_bytes(config, batch_size: int, seq_len: int, checkpointing: bool = False) -> int:
    """Activations kept for the backward pass of all layers, from a transformers config.

    Without checkpointing every layer keeps its activations (L * per-layer). With full activation
    checkpointing (Chen et al., 2016) each layer keeps only its 16-bit input, 2*s*b*h bytes
    (Korthikanti et al., 2023), plus one layer's activations while it is recomputed.
    The logits are left out: see `logits_bytes` (a few % of the total without checkpointing, but
    about as large as everything kept with it).

    Taught in '왜 미세조정인가', '활성화' ({ref}`intro-memory-activations`).
    """
    h, a, n_layers = config.hidden_size, config.num_attention_heads, config.num_hidden_layers
    per_layer = activation_bytes_per_layer(seq_len, batch_size, h, a)
    if not checkpointing:
        return n_layers * per_layer
    return n_layers * 2 * seq_len * batch_size * h + per_layer


def logits_bytes(config, batch_size: int, seq_len: int, bytes_per_value: int = 4) -> int:
    """The s*b*V logits of the LM head, fp32 for the loss (as counted by Korthikanti et al., 2023).

    Taught in '왜 미세조정인가', '활성화' ({ref}`intro-memory-activations`).
    """
    return seq_len * batch_size * config.vocab_size * bytes_per_value


def training_bytes(n_params: int, n_trainable: int | None = None, recipe: Recipe = MIXED_ADAMW,
                   activations: int = 0) -> TrainingMemory:
    """AdamW training: all N parameters are stored; only trainable ones get gradients, m, v, master.

    Taught in '왜 미세조정인가', '파라미터 하나에 드는 바이트' ({ref}`intro-memory-bytes`).
    """
    t = n_params if n_trainable is None else n_trainable
    return TrainingMemory(
        weights=n_params * recipe.weights,
        gradients=t * recipe.gradients,
        optimizer_states=t * recipe.optimizer_states,
        master_weights=t * recipe.master_weights,
        activations=activations,
    )


def full_finetune_bytes(n_params: int, recipe: Recipe = MIXED_ADAMW, activations: int = 0) -> TrainingMemory:
    """Full fine-tuning: every parameter is trainable (16 B/param with MIXED_ADAMW, before activations).

    Taught in '왜 미세조정인가', '파라미터 하나에 드는 바이트' ({ref}`intro-memory-bytes`).
    """
    return training_bytes(n_params, None, recipe, activations)


def inference_rule_of_thumb(n_params: int, bytes_per_param: float, overhead: float = 1.2) -> float:
    """Lecture rule: N * M * 1.2 (the 20% covers activations and the KV cache).

    Taught in '왜 미세조정인가', '경험칙과 견주기' ({ref}`intro-memory-rules`).
    """
    return n_params * bytes_per_param * overhead


def training_rule_of_thumb(n_params: int, bytes_per_param: float) -> float:
    """Lecture rule for Adam (Huyen, 2025, ch. 7): N * 3 * M for gradients and optimizer states.

    The 3 is one gradient plus Adam's two states (m, v) per trainable parameter, M bytes each
    (13B, M = 2: 78 GB). The weights (N * M) and activations come on top of this term; with them
    the rule gives 2 + 6 = 8 bytes per parameter at M = 2, against 16 for mixed-precision AdamW.

    Taught in '왜 미세조정인가', '경험칙과 견주기' ({ref}`intro-memory-rules`).
    """
    return n_params * 3 * bytes_per_param


def measured_state_bytes(model, optimizer) -> TrainingMemory:
    """Bytes really held by parameters, `.grad` and optimizer state tensors (after a step).

    Only state tensors shaped like their parameter count (AdamW's exp_avg, exp_avg_sq); the
    0-dim `step` counters are bookkeeping, not per-parameter memory.

    Taught in '왜 미세조정인가', '진짜 텐서로 재 보기' ({ref}`intro-memory-measured`).
    """
    params = list(model.parameters())  # shared (tied) parameters appear once
    nbytes = lambda t: t.numel() * t.element_size()  # noqa: E731
    states = [
        t for p in params for t in optimizer.state.get(p, {}).values()
        if hasattr(t, "shape") and t.shape == p.shape
    ]
    return TrainingMemory(
        weights=sum(nbytes(p) for p in params),
        gradients=sum(nbytes(p.grad) for p in params if p.grad is not None),
        optimizer_states=sum(nbytes(t) for t in states),
        master_weights=0,
    )


# QLoRA accounting, bytes per parameter (the lab guards use this estimate):
NF4_BYTES = 0.5 + 0.127 / 8    # 4-bit codes + double-quantized block constants (Dettmers et al., 2023)
LORA_BYTES = 4 + 4 + 2         # fp32 weight + fp32 gradient + two 8-bit AdamW states
MARGIN = 1.15                  # allocator fragmentation and workspaces; reserved > allocated


def lora_training_peak_bytes(config, lora_params: int, batch_size: int, seq_len: int,
                             base_in_4bit: bool = True) -> float:
    """A rough estimate of the peak GPU memory of a LoRA step with gradient checkpointing.

    Linear weights in NF4 (QLoRA, `base_in_4bit`) or in 16 bit (LoRA), embeddings and norms in 16 bit,
    LoRA in fp32 with 8-bit AdamW, one 16-bit hidden state kept per layer plus one layer's activations
    recomputed, and 16-bit logits. The lab's start check compares it with the free GPU memory.
    Not an upper bound: for lab 1's recipe it gives 5.5 GiB where the seed's RTX 3090 run reserved
    6.07 GiB at its peak, since Unsloth's dynamic 4-bit checkpoints keep some layers in 16 bit and the
    CUDA kernels reserve workspace that no formula here counts.
    """
    from .peft_counts import linear_shapes

    h, n_layers, vocab = config.hidden_size, config.num_hidden_layers, config.vocab_size
    embed = vocab * h * (1 if config.tie_word_embeddings else 2)
    linear = n_layers * sum(d_in * d_out for d_in, d_out in linear_shapes(config).values())
    tokens = batch_size * seq_len
    weights = linear * (NF4_BYTES if base_in_4bit else 2) + embed * 2
    lora = lora_params * LORA_BYTES
    # SDPA/FlashAttention kernels keep no attention-score matrix: Korthikanti's 34*s*b*h term only
    activations = n_layers * 2 * tokens * h + 34 * tokens * h
    return MARGIN * (weights + lora + activations + logits_bytes(config, batch_size, seq_len, 2))
