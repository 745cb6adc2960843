"""LoRA from scratch, and the small CPU experiments chapter 2 runs with it.

Notation (chapter 2): a frozen linear layer h = W0 x with W0 in R^{d x k} (d outputs, k inputs; torch
stores `weight` as (out_features, in_features) = (d, k)). LoRA adds dW = s * B @ A with
B in R^{d x r} (zero at the start), A in R^{r x k} (random) and s = alpha / r, or alpha / sqrt(r) with
rsLoRA. PEFT stores the same two matrices as `lora_A[name].weight` (r, k) and `lora_B[name].weight` (d, r).

The first part (LoRALinear, add_lora, lora_delta, singular_values, energy_kept, low_rank,
subspace_similarity) is what the chapter teaches and lab 2 imports; tests/test_lora.py checks it
against PEFT 0.21.2 and against known values. The second part is the toy world of the chapter's
experiments: a tiny MLP and a tiny attention model, "new tasks" made by shifting their weights, and
one small training loop. Everything runs on the CPU in seconds.
"""
from __future__ import annotations

import copy
import math
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------- the LoRA layer


class LoRALinear(nn.Module):
    """A frozen `nn.Linear` plus a trainable low-rank update: h = W0 x + b + s * B A x.

    `lora_A` is (r, k) and starts like PEFT's (Kaiming-uniform, a = sqrt(5)); `lora_B` is (d, r) and
    starts at zero, so the layer computes exactly what the base layer did until B has been trained.
    s = alpha / r, or alpha / sqrt(r) with `use_rslora=True`. The adapter is kept in float32 whatever
    the base's dtype (PEFT's default), on the base's device. `dropout` acts on the adapter's input only.

    Taught in 2장, '처음부터 만드는 LoRALinear' ({ref}`ch2-layer`).
    """

    def __init__(self, base: nn.Linear, r: int, alpha: float, use_rslora: bool = False, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        if int(r) != r or r < 1:
            raise ValueError(f"rank r must be a positive integer, got {r}")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        d, k = base.out_features, base.in_features
        device = base.weight.device
        self.r, self.alpha, self.use_rslora = int(r), alpha, use_rslora
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
        self.lora_A = nn.Parameter(torch.empty(self.r, k, device=device, dtype=torch.float32))
        self.lora_B = nn.Parameter(torch.zeros(d, self.r, device=device, dtype=torch.float32))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.base(x)
        if self.merged:  # the update already sits inside base.weight
            return h
        z = self.dropout(x).to(self.lora_A.dtype)
        update = (z @ self.lora_A.T) @ self.lora_B.T  # A first: (..., k) -> (..., r) -> (..., d)
        return h + (self.scaling * update).to(h.dtype)

    def delta_weight(self) -> torch.Tensor:
        """dW = s * B @ A, (d, k), float32."""
        return lora_delta(self.lora_A, self.lora_B, self.scaling)

    def merged_weight(self) -> torch.Tensor:
        """W = W0 + s * B @ A in float32, without touching the layer.

        Taught in 2장, '병합: 추론 지연 없이' ({ref}`ch2-merge`).
        """
        if self.merged:  # the base weight already holds W0 + dW; copy it, unmerge() changes it in place
            return self.base.weight.detach().float().clone()
        return self.base.weight.detach().float() + self.delta_weight()

    def merge(self) -> None:
        """Add dW into the base weight (in its dtype) so that forward is one matmul again.

        Taught in 2장, '병합: 추론 지연 없이' ({ref}`ch2-merge`).
        """
        if self.merged:
            raise RuntimeError("already merged")
        with torch.no_grad():
            self.base.weight += self.delta_weight().to(self.base.weight.dtype)
        self.merged = True

    def unmerge(self) -> None:
        """Subtract dW again: exact only up to the rounding of the base weight's dtype.

        Taught in 2장, '병합: 추론 지연 없이' ({ref}`ch2-merge`).
        """
        if not self.merged:
            raise RuntimeError("not merged")
        with torch.no_grad():
            self.base.weight -= self.delta_weight().to(self.base.weight.dtype)
        self.merged = False

    def num_trainable(self) -> int:
        """Trainable parameters: r * k (A) + d * r (B) = r (d + k)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def extra_repr(self) -> str:
        rule = "alpha/sqrt(r)" if self.use_rslora else "alpha/r"
        return f"r={self.r}, alpha={self.alpha}, scaling={self.scaling:.4g} ({rule}), merged={self.merged}"


def add_lora(model: nn.Module, r: int, alpha: float, target_modules: Iterable[str],
             use_rslora: bool = False, dropout: float = 0.0) -> dict[str, LoRALinear]:
    """Freeze `model` and wrap every nn.Linear whose name ends in one of `target_modules` in a
    LoRALinear (in place), as PEFT's `get_peft_model(model, LoraConfig(target_modules=...))` does.
    Returns the new layers by module name; raises if a target matches nothing.

    Taught in 2장, '처음부터 만드는 LoRALinear' ({ref}`ch2-layer`).
    """
    targets = set(target_modules)
    for p in model.parameters():
        p.requires_grad_(False)
    found = [(name, module) for name, module in model.named_modules()
             if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in targets]
    missing = targets - {name.rsplit(".", 1)[-1] for name, _ in found}
    if missing:
        raise ValueError(f"no nn.Linear named {sorted(missing)} in the model")
    layers = {}
    for name, module in found:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layers[name] = LoRALinear(module, r, alpha, use_rslora=use_rslora, dropout=dropout)
        setattr(parent, child, layers[name])
    return layers


def lora_delta(lora_A: torch.Tensor, lora_B: torch.Tensor, scaling: float) -> torch.Tensor:
    """dW = scaling * B @ A, shape (d, k), computed in float32 (A, B may be bf16/fp16).

    lora_A is (r, k) and lora_B is (d, r), as in PEFT's `lora_A[...].weight` and `lora_B[...].weight`.

    Taught in 2장, '처음부터 만드는 LoRALinear' ({ref}`ch2-layer`).
    """
    if lora_A.ndim != 2 or lora_B.ndim != 2 or lora_B.shape[1] != lora_A.shape[0]:
        raise ValueError(f"expected A (r, k) and B (d, r); got A {tuple(lora_A.shape)}, B {tuple(lora_B.shape)}")
    return scaling * (lora_B.detach().float() @ lora_A.detach().float())


# ----------------------------------------------------------------------------- looking inside dW


def singular_values(delta: torch.Tensor) -> torch.Tensor:
    """Singular values of a weight update, largest first, in float64.

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    if delta.ndim != 2:
        raise ValueError(f"expected a matrix, got shape {tuple(delta.shape)}")
    return torch.linalg.svdvals(delta.detach().to(torch.float64))


def energy_kept(singular_values: torch.Tensor, rank: int) -> float:
    """Share of ||dW||_F^2 that the best rank-`rank` approximation keeps: sum of the first `rank`
    squared singular values over the sum of all of them (Eckart-Young). A zero update keeps all: 1.0.

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    if rank < 0:
        raise ValueError("rank must be >= 0")
    s2 = singular_values.detach().to(torch.float64) ** 2
    total = float(s2.sum())
    if total == 0.0:
        return 1.0
    return float(s2[:rank].sum()) / total


def low_rank(delta: torch.Tensor, rank: int) -> torch.Tensor:
    """The best rank-`rank` approximation of dW (truncated SVD), in dW's dtype.

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    U, S, Vh = torch.linalg.svd(delta.detach().to(torch.float64), full_matrices=False)
    return ((U[:, :rank] * S[:rank]) @ Vh[:rank]).to(delta.dtype)


def subspace_similarity(delta_a: torch.Tensor, delta_b: torch.Tensor, rank: int) -> float:
    """How much the top-`rank` output directions of two updates overlap, from 0 (orthogonal) to 1
    (the same subspace): ||U_a^T U_b||_F^2 / rank with the first `rank` left singular vectors
    (the measure phi of Hu et al., 2022, section 7, with i = j).

    Taught in 2장, '랭크 스윕: 무엇을 배우고 무엇을 놓치나' ({ref}`ch2-rank-sweep`).
    """
    Ua = torch.linalg.svd(delta_a.detach().to(torch.float64), full_matrices=False)[0][:, :rank]
    Ub = torch.linalg.svd(delta_b.detach().to(torch.float64), full_matrices=False)[0][:, :rank]
    return float((Ua.T @ Ub).pow(2).sum()) / rank


# ----------------------------------------------------------------------------- the toy world


class TinyMLP(nn.Module):
    """x -> fc1 -> GELU -> fc2 -> GELU -> fc3: the "pretrained" network of the experiments.

    Weights are N(0, 1/k) and biases N(0, 0.1^2) from a seeded generator, so every build is the same.

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """

    def __init__(self, sizes: tuple[int, int, int, int] = (64, 128, 128, 16), seed: int = 0):
        super().__init__()
        n_in, h1, h2, n_out = sizes
        self.fc1, self.fc2, self.fc3 = nn.Linear(n_in, h1), nn.Linear(h1, h2), nn.Linear(h2, n_out)
        _seeded_init(self, seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.gelu(self.fc2(F.gelu(self.fc1(x)))))


class TinyAttention(nn.Module):
    """A two-block pre-norm transformer on vector sequences (no tokens): per block, attention with
    `q_proj`, `k_proj`, `v_proj`, `o_proj` (d x d each, causal, 4 heads) and a GELU MLP with
    `up_proj`, `down_proj`. The same projection names as Qwen3, so LoRA targets read the same.

    Taught in 2장, '어느 행렬에 붙일까: 같은 예산, 다른 자리' ({ref}`ch2-targets`).
    """

    def __init__(self, d: int = 64, n_heads: int = 4, n_blocks: int = 2, seed: int = 0):
        super().__init__()
        self.n_heads = n_heads
        self.blocks = nn.ModuleList()
        for _ in range(n_blocks):
            block = nn.Module()
            block.norm1, block.norm2 = nn.RMSNorm(d), nn.RMSNorm(d)
            for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
                setattr(block, name, nn.Linear(d, d, bias=False))
            block.up_proj, block.down_proj = nn.Linear(d, 2 * d, bias=False), nn.Linear(2 * d, d, bias=False)
            self.blocks.append(block)
        _seeded_init(self, seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        for b in self.blocks:
            z = b.norm1(x)
            q, k, v = (proj(z).view(n, t, self.n_heads, -1).transpose(1, 2) for proj in (b.q_proj, b.k_proj, b.v_proj))
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + b.o_proj(att.transpose(1, 2).reshape(n, t, d))
            x = x + b.down_proj(F.gelu(b.up_proj(b.norm2(x))))
        return x


def _seeded_init(model: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                continue
            std = 1 / math.sqrt(p.shape[-1]) if p.ndim == 2 else 0.1
            p.copy_(torch.randn(p.shape, generator=g) * std)


def decaying_update(d: int, k: int, size: float, seed: int, decay: float = 1.0) -> torch.Tensor:
    """A random d x k matrix with Frobenius norm `size` whose i-th singular value is proportional to
    i^(-decay): every direction is used, but a few carry most of the energy.

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    g = torch.Generator().manual_seed(seed)
    n = min(d, k)
    U = torch.linalg.qr(torch.randn(d, n, generator=g))[0]
    V = torch.linalg.qr(torch.randn(k, n, generator=g))[0]
    s = torch.arange(1, n + 1, dtype=torch.float32) ** -decay
    return (U * (s / s.norm() * size)) @ V.T


def shifted_copy(model: nn.Module, targets: Iterable[str], rel_size: float, seed: int, decay: float = 1.0,
                 input_dims: int | None = None) -> nn.Module:
    """A copy of `model` whose linear layers named in `targets` get W <- W + U, with U a
    `decaying_update` of norm rel_size * ||W||. This copy defines a "new task": imitate it.
    With `input_dims`, U reads only the first `input_dims` inputs of the layer.

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    teacher = copy.deepcopy(model)
    targets = set(targets)
    with torch.no_grad():
        for i, (name, module) in enumerate(teacher.named_modules()):
            if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in targets:
                d, k = module.weight.shape
                cols = input_dims or k
                U = decaying_update(d, cols, rel_size * float(module.weight.norm()), seed + i, decay)
                module.weight[:, :cols] += U
    return teacher


def make_data(teacher: nn.Module, n: int, seed: int, shape: tuple[int, ...] = (64,), noise: float = 0.0,
              scale: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """n inputs x ~ N(0, I) (each feature times `scale` if given) and targets teacher(x) + noise.

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, *shape), generator=g)
    if scale is not None:
        x = x * scale
    with torch.no_grad():
        y = teacher(x)
    return x, y + noise * torch.randn(y.shape, generator=g)


def mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared error of `model` on (x, y), without gradients.

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    with torch.no_grad():
        return float(F.mse_loss(model(x), y))


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float, steps: int = 300,
          batch_size: int = 128, seed: int = 0, every: int = 0, evals: dict | None = None) -> list[dict]:
    """Adam on the parameters with requires_grad (all of them for full fine-tuning, A and B for
    LoRA), MSE loss, random mini-batches. Every `every` steps, records mse on each (x, y) in `evals`.

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    g = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    history = []
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(x), (batch_size,), generator=g)
        loss = F.mse_loss(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if every and step % every == 0:
            history.append({"step": step, **{k: mse(model, *xy) for k, xy in (evals or {}).items()}})
    return history


def weight_deltas(model: nn.Module, base: nn.Module) -> dict[str, torch.Tensor]:
    """dW of every linear layer of `model` against `base`, by module name (LoRA layers as s * B @ A).

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    base_weights = {name: m.weight for name, m in base.named_modules() if isinstance(m, nn.Linear)}
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, LoRALinear):
            out[name] = m.merged_weight() - base_weights[name].float()
        elif isinstance(m, nn.Linear) and name in base_weights:
            out[name] = (m.weight - base_weights[name]).detach().float()
    return out


def with_deltas(base: nn.Module, deltas: dict[str, torch.Tensor]) -> nn.Module:
    """A copy of `base` with W <- W + dW for each named linear layer (e.g. truncated updates).

    Taught in 2장, '내재 랭크를 실험으로 보기' ({ref}`ch2-intrinsic`).
    """
    model = copy.deepcopy(base)
    with torch.no_grad():
        for name, delta in deltas.items():
            model.get_submodule(name).weight += delta.to(model.get_submodule(name).weight.dtype)
    return model
