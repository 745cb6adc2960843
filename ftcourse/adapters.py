"""What a trained LoRA adapter is made of, opened in a real model: lab steps, tested on the CPU.

Chapter 2 writes h = W0·x + (α/r)·B·A·x with W0, ΔW ∈ ℝ^{d×k}, B ∈ ℝ^{d×r}, A ∈ ℝ^{r×k}. Here the
same symbols are read out of a PEFT LoRA layer whose base is a bitsandbytes 4-bit linear layer (what
Unsloth's QLoRA builds): W0 is dequantized from NF4, A and B are the adapter's weights, and the
layer's own output is recomputed by hand. Then the adapter is merged into a 16-bit copy of the base,
and what a merge back into 4 bit would lose is measured. tests/test_adapters.py runs every function on
the tiny Qwen3 in 4 bit.

Like `ftcourse.steps`, nothing here imports Unsloth, TRL or transformers at module level.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from .lora import energy_kept, lora_delta, singular_values


@dataclass
class LayerParts:
    """W0, A, B and the scale of one LoRA layer, in float32 (W0 dequantized if stored in 4 bit)."""

    name: str
    weight: torch.Tensor   # W0, (d, k): torch keeps (out_features, in_features)
    bias: torch.Tensor | None
    lora_A: torch.Tensor   # A, (r, k)
    lora_B: torch.Tensor   # B, (d, r)
    scaling: float         # α/r (α/√r with rsLoRA)
    stored_in_4bit: bool

    @property
    def rank(self) -> int:
        return self.lora_A.shape[0]

    @property
    def delta(self) -> torch.Tensor:
        """ΔW = scaling · B·A, (d, k)."""
        return lora_delta(self.lora_A, self.lora_B, self.scaling)


def lora_layers(model) -> dict:
    """Every PEFT LoRA layer of the model, by its module name."""
    from peft.tuners.lora import LoraLayer

    return {name: module for name, module in model.named_modules() if isinstance(module, LoraLayer)}


def base_weight(base_layer) -> tuple[torch.Tensor, bool]:
    """A linear layer's weight in float32, (d, k), and whether it was stored in 4 bit.

    A bitsandbytes 4-bit weight (`Params4bit`) holds two NF4 codes per byte plus its quantization
    state (one absmax per block, itself quantized with double quantization); `dequantize_4bit`
    gives back the values the layer really multiplies by, in the compute dtype.
    """
    weight = base_layer.weight
    if base_weight_is_4bit(base_layer):
        import bitsandbytes.functional as bnb_functional

        codes, state = weight.data, weight.quant_state
        if getattr(state, "packing_format_for_cpu", False):
            # On a CPU with AVX512-BF16, bitsandbytes re-packs a 4-bit weight in place at its first
            # forward in eval mode (codes reordered, block scales transposed to bf16), and
            # dequantize_4bit reads only the standard layout. Undo it on copies: the codes with
            # bitsandbytes' own inverse, the scales by hand (its inverse leaves them transposed
            # unless double-quantized). GPUs never re-pack; this is for the CPU tests and readers.
            scales = state.absmax.T.reshape(-1).float()
            codes, state = bnb_functional._convert_weight_packed_for_cpu_inverse(codes.clone(), copy.deepcopy(state))
            state.absmax, state.nested = scales, False
        return bnb_functional.dequantize_4bit(codes, state).float(), True
    return weight.detach().float(), False


def open_layer(model, name: str, adapter: str = "default") -> LayerParts:
    """W0, A, B and α/r of the LoRA layer called `name`. Taught in lab 2, section 3."""
    layer = lora_layers(model)[name]
    weight, in_4bit = base_weight(layer.base_layer)
    bias = layer.base_layer.bias
    return LayerParts(name=name, weight=weight, bias=None if bias is None else bias.detach().float(),
                      lora_A=layer.lora_A[adapter].weight.detach().float(),
                      lora_B=layer.lora_B[adapter].weight.detach().float(),
                      scaling=float(layer.scaling[adapter]), stored_in_4bit=in_4bit)


def describe_layer(parts: LayerParts, lora_r: int, lora_alpha: int) -> None:
    """Report: the shapes of W0, A and B and the scale α/r, checked against the recipe and against
    chapter 2's shapes. Taught in lab 2, section 3."""
    d, k = parts.weight.shape
    r = parts.rank
    print(f"{parts.name}")
    print(f"W0 {d} × {k} ({'4비트에서 역양자화' if parts.stored_in_4bit else '16비트'}), "
          f"A {tuple(parts.lora_A.shape)[0]} × {tuple(parts.lora_A.shape)[1]}, "
          f"B {tuple(parts.lora_B.shape)[0]} × {tuple(parts.lora_B.shape)[1]}, α/r = {lora_alpha}/{r}")
    assert parts.lora_A.shape == (r, k) and parts.lora_B.shape == (d, r), "A must be r × k and B d × r"
    assert r == lora_r, f"the adapter's rank is {r}, the recipe's {lora_r}"
    assert abs(parts.scaling - lora_alpha / lora_r) < 1e-12, "the layer's scale is not α/r"
    print(f"LoRA 파라미터 r(d + k) = {r * (d + k):,}개, W0는 d·k = {d * k:,}개")


def first_4bit_layer(model, projection: str = "q_proj") -> str:
    """The name of the first LoRA layer on `projection` whose base weight is stored in 4 bit.
    Unsloth's "dynamic" 4-bit checkpoints keep some projections in 16 bit; lab 2 opens a 4-bit one."""
    for name, layer in lora_layers(model).items():
        if name.endswith(f".{projection}") and base_weight_is_4bit(layer.base_layer):
            return name
    raise LookupError(f"no {projection} is stored in 4 bit in this model")


def base_weight_is_4bit(base_layer) -> bool:
    return type(base_layer.weight).__name__ == "Params4bit"


def layer_index(name: str) -> int:
    """The decoder layer a module belongs to: `...layers.3.self_attn.q_proj` -> 3."""
    parts = name.split(".")
    return int(parts[parts.index("layers") + 1])


def attention_input(model, input_ids: torch.Tensor, index: int) -> torch.Tensor:
    """What decoder layer `index`'s q, k and v projections receive for these tokens: the layer's
    input (the embeddings for layer 0, else the previous layer's output) after the layer's input
    RMSNorm, computed by the model's own modules."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    with torch.no_grad():
        if index == 0:
            hidden = base.get_input_embeddings()(input_ids)
        else:
            hidden = base.model(input_ids=input_ids, output_hidden_states=True).hidden_states[index]
        return base.model.layers[index].input_layernorm(hidden)


def recompute(parts: LayerParts, x: torch.Tensor) -> torch.Tensor:
    """h = W0·x + scaling·B·(A·x) (+ bias), by hand, in float32, for inputs x of shape (..., k)."""
    x = x.float()
    h = x @ parts.weight.T + parts.scaling * ((x @ parts.lora_A.T) @ parts.lora_B.T)
    return h if parts.bias is None else h + parts.bias


def check_recomputed(parts: LayerParts, layer, x: torch.Tensor, adapter: str = "default",
                     max_relative_error: float = 2e-2) -> dict:
    """Report: the layer's own output `layer(x)` against W0·x + (α/r)·B·(A·x) computed by hand, and
    the layer's own LoRA branch against (α/r)·B·(A·x), each as ‖model − hand‖ / ‖hand‖.

    The base weights are multiplied in 16 bit (fp16 on a T4, bf16 elsewhere; bitsandbytes' CPU path
    too), so the two agree to 16-bit precision, not bit for bit: hence a tolerance of 2e-2. The LoRA
    branch is checked on its own because it is a small part of h: a wrong scale or a transposed
    factor would hide inside the full output's rounding. Taught in lab 2, section 3.
    """
    with torch.no_grad():
        h_model = layer(x).float()
        lora_A, lora_B = layer.lora_A[adapter], layer.lora_B[adapter]
        branch_model = (lora_B(lora_A(x.to(lora_A.weight.dtype))) * layer.scaling[adapter]).float()
    by_hand = recompute(parts, x)
    branch_hand = parts.scaling * ((x.float() @ parts.lora_A.T) @ parts.lora_B.T)
    error = float((h_model - by_hand).norm() / by_hand.norm())
    branch_error = float((branch_model - branch_hand).norm() / branch_hand.norm())
    print(f"허용 상대 오차 {max_relative_error:.0e}")
    print(f"층 전체 h = W0·x + (α/r)·B·A·x: 상대 오차 {error:.2e}")
    print(f"LoRA 가지 (α/r)·B·A·x만: 상대 오차 {branch_error:.2e}, h에서 차지하는 크기 "
          f"‖(α/r)BAx‖ / ‖h‖ = {float(branch_hand.norm() / by_hand.norm()):.2e}")
    assert error < max_relative_error, "the layer does not compute W0·x + (α/r)·B·A·x"
    assert branch_error < max_relative_error, "the LoRA branch is not (α/r)·B·A·x"
    return {"error": error, "branch_error": branch_error}


def check_delta_rank(parts: LayerParts, energy_ranks=(1, 2, 4)) -> torch.Tensor:
    """Report: ΔW = (α/r)·B·A has rank r: r singular values stand out and the rest are zero to float
    precision (a trained adapter uses all r directions; fewer means B or A collapsed), and how much
    of ‖ΔW‖² the first few directions carry. Returns the singular values. Taught in lab 2, section 4."""
    delta = parts.delta.cpu()  # float64 SVD on the CPU: predictable time, unlike float64 on a T4
    values = singular_values(delta)
    r, rank = parts.rank, numerical_rank(values, delta.shape)
    print(f"ΔW {tuple(delta.shape)[0]} × {tuple(delta.shape)[1]}: 특잇값 {len(values):,}개 가운데 "
          f"0이 아닌 것 {rank}개 (r = {r})")
    for k in energy_ranks:
        if k < r:
            print(f"  처음 {k}개 방향이 ‖ΔW‖²의 {energy_kept(values, k):.1%}")
    assert rank <= r, "ΔW has a larger rank than r"
    assert rank == r, f"ΔW has rank {rank} < r = {r}: B (or A) has collapsed, or the adapter did not train"
    return values


def numerical_rank(values: torch.Tensor, shape) -> int:
    """How many singular values stand above float32 rounding: σ_i > σ_1 · max(d, k) · eps(float32)
    (the threshold NumPy's matrix_rank uses, for a matrix computed in float32)."""
    return int((values > values[0] * max(shape) * torch.finfo(torch.float32).eps).sum())


def describe_relative_update(model, layer_prefix: str) -> dict:
    """Report: for each LoRA layer whose name starts with `layer_prefix` (one decoder layer), how
    large the learned update is next to the frozen weight, ‖ΔW‖_F / ‖W0‖_F. Returns them by
    projection. Taught in lab 2, section 4."""
    sizes = {}
    for name in lora_layers(model):
        if name.startswith(layer_prefix):
            parts = open_layer(model, name)
            sizes[name.rsplit(".", 1)[-1]] = float(parts.delta.norm() / parts.weight.norm())
    print(f"{layer_prefix}: ‖ΔW‖/‖W0‖ = " + ", ".join(f"{k} {v:.2e}" for k, v in sizes.items()))
    assert sizes and all(v > 0 for v in sizes.values()), "an adapter did not move from B = 0"
    return sizes


def describe_rank_sweep(results: list[dict], config) -> None:
    """Report: for each rank of the sweep, the trainable parameters (checked against chapter 1's
    closed form) and that every loss is finite. `results` has one dict per rank with the keys
    r, trainable, train_loss and heldout_loss. Taught in lab 2, section 5."""
    import math

    from .peft_counts import PROJECTIONS, lora_param_count

    for row in results:
        expected = lora_param_count(config, row["r"], PROJECTIONS)
        print(f"r = {row['r']:>3}: 학습 파라미터 {row['trainable']:,}개 (공식 {expected:,}개)")
        assert row["trainable"] == expected, f"r = {row['r']}: the adapter differs from the closed form"
        assert math.isfinite(row["train_loss"]) and math.isfinite(row["heldout_loss"]), "a loss is not finite"
    print("모든 랭크의 학습 손실과 평가 손실이 유한합니다.")


def check_swap(first: torch.Tensor, second: torch.Tensor, first_again: torch.Tensor) -> None:
    """Report: switching to another adapter changes the outputs, and switching back gives the first
    adapter's outputs again, on the same loaded base. Taught in lab 2, section 6."""
    changed = float((first.float() - second.float()).abs().max())
    back = float((first.float() - first_again.float()).abs().max())
    print(f"다른 어댑터로 바꾼 뒤 로짓의 최대 차이 {changed:.2e}, 다시 되돌린 뒤 {back:.2e}")
    assert changed > 0, "the second adapter gives the same outputs: was it activated?"
    assert back <= 1e-3 * float(first.float().abs().max()), "switching back did not restore the first adapter"
    print("본체는 그대로 두고 어댑터만 바꿔 끼웠고, 되돌리면 처음 출력이 돌아옵니다.")


def describe_requantization(parts: LayerParts, blocksize: int = 64) -> dict:
    """Report: what a merge back into NF4 would do to this layer (`requantization_error`).
    Taught in lab 2, section 7."""
    found = requantization_error(parts, blocksize)
    print(f"{parts.name}: W0 + ΔW를 다시 NF4로 저장하면 반올림 오차가 ‖ΔW‖의 "
          f"{found['rounding_over_update']:.1f}배이고, 저장된 가중치에 남는 ΔW는 {found['update_kept']:.1%}입니다.")
    return found


def merged_weight(parts: LayerParts) -> torch.Tensor:
    """W = W0 + (α/r)·B·A in float32: what a merge stores."""
    return parts.weight + parts.delta


def requantization_error(parts: LayerParts, blocksize: int = 64) -> dict:
    """What merging into the 4-bit weights would do: quantize W0 + ΔW back to NF4 and compare the
    rounding error with ΔW itself. Taught in lab 2, section 7.

    Returns the ratio ‖Q(W0 + ΔW) − (W0 + ΔW)‖ / ‖ΔW‖, and how much of ΔW survives as the change of
    the stored weights: ‖Q(W0 + ΔW) − W0‖ projected on ΔW, as a share of ‖ΔW‖.
    """
    import bitsandbytes.functional as bnb_functional

    merged = merged_weight(parts)
    codes, state = bnb_functional.quantize_4bit(merged.contiguous(), blocksize=blocksize, quant_type="nf4")
    back = bnb_functional.dequantize_4bit(codes, state).float()
    delta = parts.delta
    rounding = float((back - merged).norm() / delta.norm())
    kept = float(((back - parts.weight) * delta).sum() / delta.norm() ** 2)
    return {"rounding_over_update": rounding, "update_kept": kept}


def merge_into_16bit_copy(model):
    """Fold every LoRA layer into a plain linear layer: W = W0 + (α/r)·B·A, stored in the dtype of
    the model's 16-bit parts (its embeddings: fp16 on a T4, bf16 where supported, fp32 on the CPU).

    W0 is dequantized from NF4 first (the weights the adapter was trained against), so the merged
    model computes what the adapter model computed, up to rounding; nothing goes back into 4 bit.
    The layers are replaced in place, so the adapter model is gone afterwards. Returns the base
    model (no PEFT wrapper). Taught in lab 2, section 7.
    """
    dtype = model.get_input_embeddings().weight.dtype
    for name in list(lora_layers(model)):  # names only: each 4-bit layer is freed once replaced
        parts = open_layer(model, name, adapter=model.get_submodule(name).active_adapters[0])
        merged = torch.nn.Linear(parts.weight.shape[1], parts.weight.shape[0], bias=parts.bias is not None,
                                 device=parts.weight.device, dtype=dtype)
        with torch.no_grad():
            merged.weight.copy_(merged_weight(parts))
            if parts.bias is not None:
                merged.bias.copy_(parts.bias)
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, merged)
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def mean_kl(reference: torch.Tensor, other: torch.Tensor) -> float:
    """The mean KL divergence KL(reference ‖ other) of two models' next-token distributions, in nats
    per token, from their logits on the same tokens."""
    ref, new = reference.float().log_softmax(-1), other.float().log_softmax(-1)
    return float((ref.exp() * (ref - new)).sum(-1).mean())


def check_same_predictions(adapter_logits: torch.Tensor, merged_logits: torch.Tensor, base_logits: torch.Tensor,
                           max_share: float = 0.25) -> dict:
    """Report: the merged model against the adapter model it came from, on the same tokens.

    How far apart two models are is measured as the mean KL divergence of their next-token
    distributions. The merge must move the model much less than the adapter moved the base
    (at most `max_share` of KL(adapter ‖ base)): a merge that lost or doubled ΔW would not. The
    share of positions where both pick the same next token is printed too; on a randomly initialised
    model (the smoke profile) near-ties make it fall below 100% with no real difference.
    Taught in lab 2, section 7.
    """
    merge_kl, adapter_kl = mean_kl(adapter_logits, merged_logits), mean_kl(adapter_logits, base_logits)
    agreement = float((adapter_logits.argmax(-1) == merged_logits.argmax(-1)).float().mean())
    print("같은 토큰들에서 다음 토큰 분포의 평균 KL 발산(nats):")
    print(f"  어댑터 모델 ↔ 병합 모델 {merge_kl:.2e},  어댑터 모델 ↔ 어댑터를 뺀 본체 {adapter_kl:.2e}")
    print(f"다음 토큰 선택(argmax)이 같은 위치 {agreement:.2%}")
    assert merge_kl <= max_share * adapter_kl, "the merged model is not the adapter model: ΔW was lost or changed"
    print("병합이 모델을 바꾼 정도는 어댑터가 바꾼 정도에 비해 아주 작습니다.")
    return {"merge_kl": merge_kl, "adapter_kl": adapter_kl, "agreement": agreement}
