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
- The peak of a LoRA/QLoRA step on the labs' stack (chapter 3, `step_peak`): 4-bit storage from
  QLoRA (Dettmers et al., 2023) and bitsandbytes; Unsloth's dynamic 4-bit skip list, offloaded
  checkpointing and fused loss from its published config and source; PyTorch's caching allocator.
  Checked against every published peak in `CITED_RUNS` (tests/test_memory.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .quant import bits_per_param

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


# --- The peak of a LoRA / QLoRA training step, term by term (taught in chapter 3) -------------------
#
# What `torch.cuda.max_memory_reserved()` counts at the peak of a step, for the labs' stack (Unsloth with
# `use_gradient_checkpointing="unsloth"`, 8-bit AdamW, a bitsandbytes 4-bit base). Each constant says
# where it comes from. The CUDA context (a few hundred MB) is not in this count: PyTorch's caching
# allocator does not see it, and the labs' guard compares with `torch.cuda.mem_get_info()`, which is
# measured after the context exists.

NF4_BLOCKSIZE = 64             # bitsandbytes' 4-bit default = QLoRA's first-level block (Dettmers et al., 2023)
NF4_BYTES = bits_per_param(4, NF4_BLOCKSIZE, double_quant=True) / 8  # codes + double-quantized constants
LORA_BYTES = 4 + 4 + 2         # fp32 LoRA weight + fp32 gradient + two 8-bit AdamW states
ADAMW_8BIT_BLOCKSIZE = 256     # bitsandbytes' 8-bit optimizers keep one fp32 absmax per 256 values per state
LOGIT_BYTES = 4                # Unsloth's fused loss upcasts the chunk's logits to fp32 (`.float()`) before
                               # the cross-entropy (unsloth_zoo/fused_losses/cross_entropy_loss.py); it
                               # sizes chunks to half the free memory, so one chunk holds every token here
# Unsloth's dynamic 4-bit checkpoint of Qwen3-4B leaves these modules in 16 bit: the
# `quantization_config.llm_int8_skip_modules` of its config.json, as copied into
# huggingface.co/Tonera/FLUX.2-klein-4B-fp8-diffusers (text_encoder/config.json). lm_head is tied to the
# 16-bit embedding; the vision-model names match nothing in a text model.
UNSLOTH_QWEN3_4B_SKIP_MODULES = (
    "lm_head", "multi_modal_projector", "merger", "modality_projection",
    "model.layers.4.mlp", "model.layers.6.self_attn", "model.layers.34.self_attn", "model.layers.33.self_attn",
    "model.layers.4.self_attn", "model.layers.34.mlp", "model.layers.1.self_attn", "model.layers.1.mlp",
    "model.layers.0.mlp", "model.layers.0.self_attn", "model.layers.3.mlp", "model.layers.6.mlp",
)
# The architecture of Qwen3-4B (ftcourse.models.qwen3_4b_config), without importing transformers here.
QWEN3_4B_SHAPE = dict(model_type="qwen3", hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
                      vocab_size=151_936)


@dataclass(frozen=True)
class PeakMemory:
    """Named parts of a training step's peak GPU memory, in bytes (`step_peak`)."""

    weights: int           # the model's weights as stored: 32-, 16- or 4-bit codes + block constants
    trainable_states: int  # per trainable parameter: gradients, optimizer states (and LoRA's own weights)
    activations: int       # the checkpointed layer inputs the GPU keeps for the backward pass
    transient: int         # the logits at the loss, or one recomputed layer's activations if larger
    workspace: int         # one layer's temporaries, left reserved by the caching allocator

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


def skip_modules_for(config) -> tuple[str, ...]:
    """The modules a 4-bit checkpoint of this architecture keeps in 16 bit.

    A real checkpoint's config says it (`quantization_config.llm_int8_skip_modules`); for Qwen3-4B,
    which the labs load through Unsloth's dynamic 4-bit checkpoint, the list above; otherwise none
    (plain QLoRA quantizes every linear layer but the LM head).

    Taught in 3장, '실습 1의 최대 메모리를 항목별로' ({ref}`ch3-peak`).
    """
    quant = getattr(config, "quantization_config", None)
    if quant is not None:
        skip = quant.get("llm_int8_skip_modules") if isinstance(quant, dict) else quant.llm_int8_skip_modules
        return tuple(skip or ())
    if all(getattr(config, k, None) == v for k, v in QWEN3_4B_SHAPE.items()):
        return UNSLOTH_QWEN3_4B_SKIP_MODULES
    return ()


def linear_params_in_16bit(config, skip_modules) -> int:
    """Parameters of the decoder's linear projections that a skip list keeps out of 4 bit.

    transformers leaves a module out of 4 bit when a listed name, followed by a dot, occurs in its name:
    "model.layers.4.mlp" keeps gate, up and down of layer 4 (and not those of layers 40-49);
    "model.layers.6.self_attn" keeps q, k, v and o of layer 6.

    Taught in 3장, '실습 1의 최대 메모리를 항목별로' ({ref}`ch3-peak`).
    """
    from .peft_counts import ATTENTION_PROJECTIONS, linear_shapes

    shapes = linear_shapes(config)
    kept = 0
    for layer in range(config.num_hidden_layers):
        for name, (d_in, d_out) in shapes.items():
            block = "self_attn" if name in ATTENTION_PROJECTIONS else "mlp"
            full = f"model.layers.{layer}.{block}.{name}"
            if any(f"{s}." in f"{full}." for s in skip_modules):
                kept += d_in * d_out
    return kept


def base_weight_bytes(config, base_in_4bit: bool = True, skip_modules: tuple[str, ...] = ()) -> int:
    """The frozen base as stored: linear projections in NF4 (with double-quantized block constants)
    or 16 bit; embeddings, a separate LM head and the norms in 16 bit.

    Taught in 3장, '실습 1의 최대 메모리를 항목별로' ({ref}`ch3-peak`).
    """
    from .peft_counts import head_dim, linear_shapes

    h, n_layers = config.hidden_size, config.num_hidden_layers
    linear = n_layers * sum(d_in * d_out for d_in, d_out in linear_shapes(config).values())
    embed = config.vocab_size * h * (1 if config.tie_word_embeddings else 2)
    norms = (2 * n_layers + 1) * h  # two RMSNorms per layer and the final one
    if getattr(config, "model_type", "") == "qwen3":  # Qwen3 also normalizes each query and key head
        norms += 2 * n_layers * head_dim(config)
    if not base_in_4bit:
        return 2 * (linear + embed + norms)
    kept = linear_params_in_16bit(config, skip_modules)
    return int((linear - kept) * NF4_BYTES) + 2 * (kept + embed + norms)


def lora_state_bytes(lora_params: int) -> int:
    """LoRA trained with 8-bit AdamW: fp32 weights and gradients, two 8-bit states and their per-block
    fp32 scales (`LORA_BYTES` + 2 x 4 / 256 bytes per parameter).

    Taught in 3장, '실습 1의 최대 메모리를 항목별로' ({ref}`ch3-peak`).
    """
    return int(lora_params * (LORA_BYTES + 2 * 4 / ADAMW_8BIT_BLOCKSIZE))


def step_peak(config, batch_size: int, seq_len: int, weights: int, trainable_states: int,
              act_bytes: int = 2, dequantize_4bit: bool = False, offload_checkpoints: bool = True) -> PeakMemory:
    """The peak of one training step with gradient checkpointing, for given weights and states.

    - activations: with Unsloth's checkpointing each layer's input goes to CPU memory; the GPU keeps
      two transfer buffers and the last layer's input (3 x s*b*h values). Without offloading every
      layer's input stays (L x s*b*h; Chen et al., 2016).
    - transient: at the loss, s*b*V logits of `LOGIT_BYTES`, beside the final hidden state and the
      buffer for its gradient. A layer's activations recomputed in the backward pass (Korthikanti's
      34sbh bytes in 16 bit, no stored scores) come after the logits are freed; the larger counts.
    - workspace: PyTorch's caching allocator keeps freed blocks reserved, and the logits, larger than
      any of them, get a new segment. So the blocks of one layer's MLP stay reserved beside them:
      gate, up and their product (3 x s*b*f values), plus, for a 4-bit base, the largest projection
      dequantized to 16 bit for its matmul (QLoRA stores in 4 bit but computes in 16).

    Taught in 3장, '실습 1의 최대 메모리를 항목별로' ({ref}`ch3-peak`).
    """
    from .peft_counts import linear_shapes

    h, f, n_layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    tokens = batch_size * seq_len
    hidden = act_bytes * tokens * h  # one hidden state
    at_loss = logits_bytes(config, batch_size, seq_len, LOGIT_BYTES) + 2 * hidden
    recompute = activation_bytes_per_layer(seq_len, batch_size, h, heads=0) * act_bytes // 2
    largest = max(d_in * d_out for d_in, d_out in linear_shapes(config).values())
    return PeakMemory(
        weights=weights,
        trainable_states=trainable_states,
        activations=(3 if offload_checkpoints else n_layers) * hidden,
        transient=max(at_loss, recompute),
        workspace=3 * act_bytes * tokens * f + (2 * largest if dequantize_4bit else 0),
    )


def lora_peak_breakdown(config, lora_params: int, batch_size: int, seq_len: int, base_in_4bit: bool = True,
                        skip_modules: tuple[str, ...] | None = None,
                        offload_checkpoints: bool = True) -> PeakMemory:
    """LoRA or QLoRA as the labs train it: `step_peak` with the base from `base_weight_bytes`
    (Unsloth's dynamic skip list for Qwen3-4B unless `skip_modules` is given) and `lora_state_bytes`.

    Taught in 3장, '실습 1의 최대 메모리를 항목별로' ({ref}`ch3-peak`).
    """
    if skip_modules is None:
        skip_modules = skip_modules_for(config)
    return step_peak(config, batch_size, seq_len, base_weight_bytes(config, base_in_4bit, skip_modules),
                     lora_state_bytes(lora_params), dequantize_4bit=base_in_4bit,
                     offload_checkpoints=offload_checkpoints)


def full_peak_breakdown(config, n_params: int, batch_size: int, seq_len: int,
                        recipe: Recipe = MIXED_ADAMW) -> PeakMemory:
    """Full fine-tuning on the same stack: every parameter carries the recipe's gradient, optimizer
    states and master copy; activations are fp32 when the weights are (FP32_ADAMW), else 16-bit.

    Taught in 3장, '경험칙과 견주기: 네 모델, 네 방법' ({ref}`ch3-estimates`).
    """
    m = full_finetune_bytes(n_params, recipe)
    return step_peak(config, batch_size, seq_len, m.weights, m.gradients + m.optimizer_states + m.master_weights,
                     act_bytes=4 if recipe.weights == 4 else 2)


def kv_cache_bytes(config, batch_size: int, seq_len: int, bytes_per_value: int = 2) -> int:
    """Inference keeps every past token's keys and values: 2 x L x (KV heads x head width) x s x b.

    Taught in 3장, '경험칙과 견주기: 네 모델, 네 방법' ({ref}`ch3-estimates`).
    """
    from .peft_counts import kv_dim

    return 2 * config.num_hidden_layers * kv_dim(config) * seq_len * batch_size * bytes_per_value


def lora_training_peak_bytes(config, lora_params: int, batch_size: int, seq_len: int,
                             base_in_4bit: bool = True) -> float:
    """The peak GPU memory (`torch.cuda.max_memory_reserved`) the labs' start check expects, in bytes:
    the sum of `lora_peak_breakdown` for the labs' stack (Unsloth, 8-bit AdamW, gradient checkpointing).

    For lab 1's recipe it is within 10% of the 6.068 GiB the seed's RTX 3090 run reserved at its peak
    (`tests/test_memory.py` holds that, and that it is below no cited measurement by more than 10%).

    Taught in 3장, '실습 1의 최대 메모리를 항목별로' ({ref}`ch3-peak`).
    """
    return lora_peak_breakdown(config, lora_params, batch_size, seq_len, base_in_4bit).total


# --- Published peaks the estimator is checked against (tests/test_memory.py, chapter 3) ------------

@dataclass(frozen=True)
class CitedRun:
    """A published Unsloth QLoRA run that printed `torch.cuda.max_memory_reserved()` (in GiB, which
    its log calls "GB") after loading and after training."""

    source: str          # where the numbers are printed
    gpu: str
    unsloth: str         # the Unsloth version in the log
    model: str           # the hub id the run loaded in 4 bit
    architecture: str    # a key of ARCHITECTURES
    lora_r: int          # LoRA on all seven projections
    trainable: int       # the trainable-parameter count the log prints: it checks the architecture
    batch_size: int
    seq_len: int         # max_seq_length; the data (FineTome, reasoning traces) reaches it
    load_gib: float      # "... GB of memory reserved." before training
    peak_gib: float      # "Peak reserved memory = ... GB."


CITED_RUNS = (
    CitedRun("강의 자료의 실습 로그 (Unsloth Qwen3-4B, FineTome, 60스텝)", "RTX 3090", "2026.5.4",
             "unsloth/Qwen3-4B-unsloth-bnb-4bit", "Qwen3-4B", 8, 16_515_072, 2, 2048, 3.449, 6.068),
    CitedRun("Unsloth notebooks: nb/Qwen3_(32B)_A100-Reasoning-Conversational.ipynb", "A100-SXM4-40GB",
             "2025.9.1", "unsloth/Qwen3-32B", "Qwen3-32B", 32, 268_435_456, 2, 2048, 19.121, 24.529),
    CitedRun("Unsloth notebooks: nb/Llama3.3_(70B)_A100-Conversational.ipynb", "A100-SXM4-80GB",
             "2025.9.1", "unsloth/Llama-3.3-70B-Instruct", "Llama-3-70B", 16, 207_093_760, 2, 2048, 39.221, 42.789),
)


def qwen3_32b_config():
    """Qwen/Qwen3-32B's published config.json (64 layers, hidden 5120, untied LM head)."""
    from transformers import Qwen3Config

    return Qwen3Config(vocab_size=151_936, hidden_size=5120, intermediate_size=25_600, num_hidden_layers=64,
                       num_attention_heads=64, num_key_value_heads=8, head_dim=128, tie_word_embeddings=False,
                       max_position_embeddings=40_960, rope_theta=1_000_000.0)


def llama32_1b_config():
    """meta-llama/Llama-3.2-1B's published config.json (16 layers, hidden 2048, tied embeddings)."""
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=128_256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                       num_attention_heads=32, num_key_value_heads=8, head_dim=64, tie_word_embeddings=True)


def architecture(name: str):
    """The config of an architecture the estimator is compared on, by name: the chapters' four models
    (`ftcourse.models.MODEL_CONFIGS`), Qwen3-32B and Llama-3.2-1B.

    Taught in 3장, '예측과 측정' ({ref}`ch3-measured`).
    """
    from .models import MODEL_CONFIGS

    extra = {"Qwen3-32B": qwen3_32b_config, "Llama-3.2-1B": llama32_1b_config}
    return {**MODEL_CONFIGS, **extra}[name]()


def predicted_run(run: CitedRun) -> tuple[float, float]:
    """(after loading, peak) in GiB as the estimator predicts them for a cited run: the base and
    the fp32 LoRA weights; then `lora_peak_breakdown`.

    Taught in 3장, '예측과 측정' ({ref}`ch3-measured`).
    """
    from .peft_counts import PROJECTIONS, lora_param_count

    config = architecture(run.architecture)
    lora = lora_param_count(config, run.lora_r, PROJECTIONS)
    peak = lora_peak_breakdown(config, lora, run.batch_size, run.seq_len)
    return (peak.weights + 4 * lora) / GIB, peak.total / GIB
