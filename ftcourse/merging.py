"""Model merging from scratch, on plain tensors and state dicts (chapter 4).

Every method here is checked on the chapter page, when the site is built, against the two tools
people use: PEFT's `peft.utils.merge_utils` (and `add_weighted_adapter`) and mergekit 0.1.5.
`tests/test_merging.py` runs the same comparisons on the CPU.

Conventions (the libraries differ; each function says which one it follows):
- a task vector is `finetuned - base`, tensor by tensor; "deltas" below are task-vector tensors;
- `weights` are per-model factors; `density` is the fraction of entries a pruning step keeps;
- random masks come from torch's global generator, drawn model by model, exactly as PEFT and
  mergekit draw them, so the same seed gives the same mask.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch

StateDict = Mapping[str, torch.Tensor]


def _stack(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.stack(list(tensors), dim=0)


def _per_model(weights, like: torch.Tensor) -> torch.Tensor:
    """Weights as a tensor shaped (n_models, 1, 1, ...) to broadcast against stacked deltas."""
    w = torch.as_tensor(weights, dtype=like.dtype, device=like.device)
    return w.reshape(-1, *([1] * (like.dim() - 1)))


def task_vector(finetuned: StateDict, base: StateDict) -> dict[str, torch.Tensor]:
    """What fine-tuning changed: `finetuned - base`, tensor by tensor.

    Taught in 4장, '작업 벡터' ({ref}`ch4-task-vectors`).
    """
    if finetuned.keys() != base.keys():
        raise ValueError("the two state dicts must have the same tensor names")
    return {name: finetuned[name] - base[name] for name in base}


def merge_task_vectors(base: StateDict, finetuned: Sequence[StateDict],
                       combine: Callable[[list[torch.Tensor]], torch.Tensor]) -> dict[str, torch.Tensor]:
    """`base + combine(task vectors)` for every tensor: the frame of task arithmetic, TIES and DARE.

    Taught in 4장, '작업 벡터' ({ref}`ch4-task-vectors`).
    """
    return {name: base[name] + combine([ft[name] - base[name] for ft in finetuned]) for name in base}


def merge_weights(models: Sequence[StateDict],
                  combine: Callable[[list[torch.Tensor]], torch.Tensor]) -> dict[str, torch.Tensor]:
    """`combine(weights)` for every tensor, on the raw weights (no base): the frame of linear and SLERP.

    Taught in 4장, '작업 벡터' ({ref}`ch4-task-vectors`).
    """
    return {name: combine([m[name] for m in models]) for name in models[0]}


def linear(tensors: Sequence[torch.Tensor], weights: Sequence[float], normalize: bool = True) -> torch.Tensor:
    """Weighted average of whole weights (a model soup): sum_i w_i t_i / sum_i w_i.

    `normalize=False` keeps the plain weighted sum. mergekit's `linear` normalizes by default.
    Taught in 4장, '선형 평균: 모델 수프' ({ref}`ch4-linear`).
    """
    stacked = _stack(tensors)
    w = _per_model(weights, stacked)
    total = (w * stacked).sum(dim=0)
    return total / w.sum() if normalize else total


def task_arithmetic(deltas: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """sum_i w_i * delta_i. A negative weight subtracts a task (negation).

    Taught in 4장, '작업 산술: 더하고 빼기' ({ref}`ch4-task-arithmetic`).
    """
    stacked = _stack(deltas)
    return (_per_model(weights, stacked) * stacked).sum(dim=0)


def slerp(t: float, v0: torch.Tensor, v1: torch.Tensor, dot_threshold: float = 0.9995,
          eps: float = 1e-8) -> torch.Tensor:
    """Spherical linear interpolation between two whole tensors, t = 0 gives v0 and t = 1 gives v1.

    The angle comes from the normalized, flattened tensors; the coefficients
    sin((1-t)W)/sin W and sin(tW)/sin W multiply the raw tensors. When the tensors are nearly
    parallel (|cos W| > dot_threshold) sin W is close to 0, so it falls back to linear
    interpolation, the limit of SLERP as W -> 0 (mergekit's threshold and eps).
    Taught in 4장, '구면 선형 보간(SLERP)' ({ref}`ch4-slerp`).
    """
    work = torch.float64 if v0.dtype == torch.float64 else torch.float32  # as mergekit
    a, b = v0.flatten().to(work), v1.flatten().to(work)
    na, nb = a.norm(), b.norm()
    na = na if na > eps else torch.ones_like(na)
    nb = nb if nb > eps else torch.ones_like(nb)
    dot = ((a / na) * (b / nb)).sum().clamp(-1, 1)
    if dot.abs() > dot_threshold:
        c0, c1 = 1 - t, t
    else:
        omega = torch.acos(dot)
        c0 = torch.sin((1 - t) * omega) / torch.sin(omega)
        c1 = torch.sin(t * omega) / torch.sin(omega)
    return (c0 * a + c1 * b).reshape(v0.shape).to(v0.dtype)


def magnitude_keep(delta: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the int(density * n) entries of largest |value|, zero the rest (TIES' trim step).

    Same k as PEFT; mergekit keeps at least one entry, max(1, int(density * n)).
    Taught in 4장, '작업 벡터의 상위 k%만 남기기' ({ref}`ch4-topk`).
    """
    if density >= 1:
        return delta
    k = int(density * delta.numel())
    mask = torch.zeros(delta.numel(), dtype=delta.dtype, device=delta.device)
    mask[torch.topk(delta.abs().flatten(), k=k).indices] = 1
    return delta * mask.reshape(delta.shape)


def random_drop(delta: torch.Tensor, density: float, rescale: str | None = "inverse") -> torch.Tensor:
    """DARE's drop and rescale: keep each entry with probability `density` (= 1 - p), then rescale.

    rescale="inverse": divide by density, i.e. multiply by 1/(1-p), as in the DARE paper and PEFT;
    rescale="l1": restore the L1 norm of the delta, as mergekit 0.1.5 does; None: no rescale.
    The mask is `torch.bernoulli` on torch's global generator, the call PEFT and mergekit make.
    Taught in 4장, 'DARE: 무작위로 버리고 다시 키우기' ({ref}`ch4-dare`).
    """
    if density >= 1:
        return delta
    mask = torch.bernoulli(torch.full_like(delta, density))
    kept = delta * mask
    if rescale == "inverse":
        return kept / density
    if rescale == "l1":
        before, after = delta.abs().sum(), kept.abs().sum()
        return kept * (before / after) if after > 1e-7 and before > 1e-7 else kept
    if rescale is None:
        return kept
    raise ValueError(f"rescale must be 'inverse', 'l1' or None, got {rescale!r}")


def elect_sign(deltas: Sequence[torch.Tensor], method: str = "total") -> torch.Tensor:
    """TIES' elect step: per entry, the sign (+1 or -1) with the larger total mass.

    "total" takes the sign of the sum of the values (the paper, PEFT's default, mergekit's "sum");
    "frequency" takes the sign that more models have. A tie goes to +1, as in both libraries.
    Taught in 4장, 'TIES: 다듬고, 부호를 뽑고, 합치기' ({ref}`ch4-ties`).
    """
    stacked = _stack(deltas)
    if method == "total":
        mass = stacked.sum(dim=0)
    elif method == "frequency":
        mass = stacked.sign().sum(dim=0)
    else:
        raise ValueError(f"method must be 'total' or 'frequency', got {method!r}")
    return torch.where(mass >= 0, 1, -1).to(stacked.dtype)


def disjoint_merge(deltas: Sequence[torch.Tensor], weights: Sequence[float], sign: torch.Tensor,
                   normalize: bool = True) -> torch.Tensor:
    """TIES' merge step: per entry, combine only the weighted deltas whose sign agrees with `sign`.

    Returns sum_i w_i d_i over the agreeing models, divided (normalize=True) by the sum of their
    weights; with unit weights that is the mean of the agreeing values (the paper's disjoint mean).
    Entries where no model agrees stay 0. Trimmed zeros never agree with +1 or -1.
    Taught in 4장, 'TIES: 다듬고, 부호를 뽑고, 합치기' ({ref}`ch4-ties`).
    """
    stacked = _stack(deltas)
    w = _per_model(weights, stacked)
    weighted = w * stacked
    agree = (weighted.sign() == sign).to(stacked.dtype)
    total = (weighted * agree).sum(dim=0)
    if not normalize:
        return total
    divisor = (w * agree).sum(dim=0)
    divisor[divisor == 0] = 1
    return total / divisor


def ties(deltas: Sequence[torch.Tensor], weights: Sequence[float], density: float,
         normalize: bool = True, method: str = "total") -> torch.Tensor:
    """TIES-Merging: trim each delta to its top `density`, elect signs, disjoint merge.

    The weights multiply the trimmed deltas before the election (mergekit's order); with unit
    weights this is the algorithm of Yadav et al. (2023). Returns the merged delta (add it to the base).
    Taught in 4장, 'TIES: 다듬고, 부호를 뽑고, 합치기' ({ref}`ch4-ties`).
    """
    trimmed = [magnitude_keep(d, density) for d in deltas]
    stacked = _stack(trimmed)
    sign = elect_sign(list(_per_model(weights, stacked) * stacked), method)
    return disjoint_merge(trimmed, weights, sign, normalize)


def dare_linear(deltas: Sequence[torch.Tensor], weights: Sequence[float], density: float,
                rescale: str | None = "inverse") -> torch.Tensor:
    """DARE then task arithmetic: sum_i w_i * random_drop(delta_i). Masks are drawn model by model.

    Taught in 4장, 'DARE: 무작위로 버리고 다시 키우기' ({ref}`ch4-dare`).
    """
    return task_arithmetic([random_drop(d, density, rescale) for d in deltas], weights)


def dare_ties(deltas: Sequence[torch.Tensor], weights: Sequence[float], density: float,
              rescale: str | None = "inverse", normalize: bool = False, method: str = "total") -> torch.Tensor:
    """DARE's random drop in place of TIES' trim, then TIES' sign election and disjoint merge.

    Defaults follow mergekit's `dare_ties` (normalize=False); PEFT's divides (normalize=True).
    Taught in 4장, 'DARE: 무작위로 버리고 다시 키우기' ({ref}`ch4-dare`).
    """
    dropped = [random_drop(d, density, rescale) for d in deltas]
    stacked = _stack(dropped)
    sign = elect_sign(list(_per_model(weights, stacked) * stacked), method)
    return disjoint_merge(dropped, weights, sign, normalize)


def stack_layers(pieces: Sequence[tuple[StateDict, int, int]]) -> dict[str, torch.Tensor]:
    """Layer stacking: decoder layers [start, end) of each piece, renumbered one after another.

    The embeddings come from the first piece, the final norm and LM head from the last one (they read
    the last layers' output), as mergekit's passthrough does.
    Taught in 4장, '층 쌓기: 프랑켄머지와 깊이 확장' ({ref}`ch4-stacking`).
    """
    head = ("model.norm.", "lm_head.")
    out = {name: t for name, t in pieces[0][0].items()
           if not name.startswith("model.layers.") and not name.startswith(head)}
    out.update({name: t for name, t in pieces[-1][0].items() if name.startswith(head)})
    new_index = 0
    for state, start, end in pieces:
        for i in range(start, end):
            prefix = f"model.layers.{i}."
            for name, tensor in state.items():
                if name.startswith(prefix):
                    out[f"model.layers.{new_index}.{name[len(prefix):]}"] = tensor
            new_index += 1
    return out


def depth_upscale(state: StateDict, n_layers: int, m: int) -> dict[str, torch.Tensor]:
    """SOLAR's depthwise scaling: layers [0, n-m) of one copy, then layers [m, n) of another.

    The result has 2 * (n - m) layers; n = 32, m = 8 gives SOLAR 10.7B's 48.
    Taught in 4장, '층 쌓기: 프랑켄머지와 깊이 확장' ({ref}`ch4-stacking`).
    """
    return stack_layers([(state, 0, n_layers - m), (state, m, n_layers)])


def upcycle_to_moe(dense: StateDict, n_layers: int, n_experts: int, router_std: float = 0.02,
                   generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Sparse upcycling of a dense Qwen3 into a Qwen3-MoE state dict (transformers 5 layout).

    Every expert starts as a copy of the layer's dense MLP (gate and up stacked as `gate_up_proj`);
    the router is new and random. Attention, norms and embeddings are copied unchanged.
    Taught in 4장, 'MoE 업사이클링' ({ref}`ch4-moe`).
    """
    out = {name: t for name, t in dense.items() if ".mlp." not in name}
    for i in range(n_layers):
        mlp = f"model.layers.{i}.mlp."
        gate_up = torch.cat([dense[mlp + "gate_proj.weight"], dense[mlp + "up_proj.weight"]], dim=0)
        down = dense[mlp + "down_proj.weight"]
        out[mlp + "experts.gate_up_proj"] = gate_up.unsqueeze(0).repeat(n_experts, 1, 1)
        out[mlp + "experts.down_proj"] = down.unsqueeze(0).repeat(n_experts, 1, 1)
        hidden = down.shape[0]
        out[mlp + "gate.weight"] = router_std * torch.randn(n_experts, hidden, generator=generator)
    return out


def lora_delta(lora_a: torch.Tensor, lora_b: torch.Tensor, scaling: float) -> torch.Tensor:
    """The weight change of one LoRA adapter: scaling * B @ A, with scaling = alpha / r.

    Taught in 4장, 'LoRA 어댑터 병합: 연결과 교차항' ({ref}`ch4-lora`).
    """
    return scaling * (lora_b @ lora_a)


def lora_cat(lora_as: Sequence[torch.Tensor], lora_bs: Sequence[torch.Tensor], weights: Sequence[float],
             scalings: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenation: A stacked by rows (each scaled by w_i * s_i), B side by side; rank r1 + r2 + ...

    B_cat @ A_cat = sum_i w_i s_i B_i A_i exactly: the weighted sum of the adapters' delta W.
    Same as PEFT's add_weighted_adapter(combination_type="cat"), whose new adapter has scaling 1.
    Taught in 4장, 'LoRA 어댑터 병합: 연결과 교차항' ({ref}`ch4-lora`).
    """
    a = torch.cat([w * s * a for a, w, s in zip(lora_as, weights, scalings)], dim=0)
    b = torch.cat(list(lora_bs), dim=1)
    return a, b


def lora_linear(lora_as: Sequence[torch.Tensor], lora_bs: Sequence[torch.Tensor], weights: Sequence[float],
                scalings: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """PEFT's combination_type="linear": A's and B's averaged separately, rank unchanged.

    Each side gets sqrt(|w_i s_i|) (the sign goes on A only), so B @ A contains the wanted
    sum_i w_i s_i B_i A_i plus cross-terms sqrt(w_i s_i w_j s_j) B_i A_j for i != j.
    Taught in 4장, 'LoRA 어댑터 병합: 연결과 교차항' ({ref}`ch4-lora`).
    """
    products = [w * s for w, s in zip(weights, scalings)]
    a = sum((abs(c) ** 0.5) * (1 if c >= 0 else -1) * a for a, c in zip(lora_as, products))
    b = sum((abs(c) ** 0.5) * b for b, c in zip(lora_bs, products))
    return a, b
