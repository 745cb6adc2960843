"""ftcourse.recipe_notes against the libraries it describes (CPU only)."""
from __future__ import annotations

import re

import pytest
import torch

import ftcourse  # noqa: F401  (quiets bitsandbytes' CPU log before it is imported)
from ftcourse import memory
from ftcourse import recipe_notes as rn
from ftcourse.paths import REPO_ROOT
from ftcourse.recipes import knobs


@pytest.mark.parametrize("peak, warmup, total", [(2e-4, 5, 60), (1e-2, 0, 30), (3e-4, 10, 10), (1e-3, 7, 100)])
def test_linear_schedule_is_transformers_schedule(peak, warmup, total):
    from transformers import get_linear_schedule_with_warmup

    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=peak)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total)
    for step in range(total + 3):  # a few steps past the end: the rate stays at 0
        assert rn.linear_schedule(step, peak, warmup, total) == pytest.approx(scheduler.get_last_lr()[0], abs=1e-15)
        optimizer.step()
        scheduler.step()


def test_decay_factor_is_adamw_with_zero_gradients():
    rates = [rn.linear_schedule(s, 2e-4, 5, 60) for s in range(60)]
    weight = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    optimizer = torch.optim.AdamW([weight], lr=rates[0], weight_decay=0.5)
    for lr in rates:
        for group in optimizer.param_groups:
            group["lr"] = lr
        weight.grad = torch.zeros_like(weight)
        optimizer.step()
    assert weight.detach() == pytest.approx(torch.full((4,), rn.decay_factor(rates, 0.5), dtype=torch.float64))
    assert rn.decay_factor([], 0.1) == 1.0


def _tiny_lm():
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    config = Qwen3Config(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16)
    return Qwen3ForCausalLM(config).eval()


def test_prompt_weighted_loss_matches_the_library_at_0_and_1_and_lies_between():
    model = _tiny_lm()
    ids = torch.randint(0, 50, (2, 12), generator=torch.Generator().manual_seed(1))
    is_response = torch.zeros_like(ids)
    is_response[0, 7:] = 1
    is_response[1, 4:] = 1
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0  # padding at the end of the second row
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
        full = ids.masked_fill(mask == 0, -100)
        response_only = full.masked_fill(is_response == 0, -100)
        lib_full = model(input_ids=ids, attention_mask=mask, labels=full).loss
        lib_response = model(input_ids=ids, attention_mask=mask, labels=response_only).loss
    ours = {w: rn.prompt_weighted_loss(logits, ids, is_response, w, mask) for w in (0.0, 0.1, 1.0)}
    assert ours[0.0] == pytest.approx(lib_response.item(), rel=1e-6)
    assert ours[1.0] == pytest.approx(lib_full.item(), rel=1e-6)
    prompt_only = rn.prompt_weighted_loss(logits, ids, is_response, 1e9, mask)  # the prompt tokens' mean
    low, high = sorted((ours[0.0].item(), prompt_only.item()))
    assert low < ours[0.1].item() < high


def test_optimizer_state_bytes_counts_adamw_and_8bit_adamw():
    import bitsandbytes as bnb

    # LoRA-like A and B matrices: multiples of 256 values, and at least 4,096 (bitsandbytes keeps smaller
    # tensors' states in 32 bit: `min_8bit_size`)
    shapes = [(8, 512), (512, 8), (8, 1024)]
    n = sum(a * b for a, b in shapes)
    sizes = {}
    for name, cls in {"fp32": torch.optim.AdamW, "8bit": bnb.optim.AdamW8bit}.items():
        params = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
        optimizer = cls(params, lr=1e-3)
        for p in params:
            p.grad = torch.randn_like(p)
        optimizer.step()
        sizes[name] = rn.optimizer_state_bytes(optimizer)
        tables = {v.untyped_storage().data_ptr(): v.untyped_storage().nbytes()
                  for st in optimizer.state.values() for k, v in st.items() if "qmap" in k}
        sizes[name + "_tables"] = sum(tables.values())
    assert sizes["fp32_tables"] == 0 and sizes["fp32"] == 8 * n  # exp_avg and exp_avg_sq in fp32
    # chapter 3's estimator: LoRA state with 8-bit AdamW minus its fp32 weight and gradient
    assert sizes["8bit"] - sizes["8bit_tables"] == memory.lora_state_bytes(n) - 8 * n
    assert 0 < sizes["8bit_tables"] <= 4096  # two 256-entry fp32 quantization maps, shared


@pytest.mark.parametrize("max_seq, tokens, hidden, expected", [
    (2048, 2 * 2048, 2560, "offload"),  # lab 1, full profile: 20 MiB per layer input
    (512, 2 * 512, 128, "keep"),        # the smoke profile's tiny Qwen3: 256 KiB
    (256, 2 * 256, 2560, "plain"),      # below 512: ordinary checkpointing
    (512, 410, 2560, "offload"),        # 2,099,200 bytes, just above 2 MiB (2,097,152)
])
def test_unsloth_checkpointing(max_seq, tokens, hidden, expected):
    assert rn.unsloth_checkpointing(max_seq, tokens, hidden) == expected


def test_threshold_is_strict():
    # exactly 2 MiB stays on the GPU (Unsloth offloads only when the input is larger)
    assert rn.unsloth_checkpointing(4096, 1024, 1024) == "keep"
    assert rn.unsloth_checkpointing(4096, 1024, 1025) == "offload"


def test_every_knob_of_lab1_has_a_section_that_exists():
    assert set(rn.KNOB_SECTIONS) == set(knobs("lab1_first_qlora"))
    labels = set()
    for page in (REPO_ROOT / "book").glob("*.md"):
        labels |= set(re.findall(r"^\(([\w-]+)\)=\s*$", page.read_text(encoding="utf-8"), flags=re.M))
    missing = sorted(set(rn.KNOB_SECTIONS.values()) - labels)
    assert not missing, f"sections named in KNOB_SECTIONS but not labelled in book/: {missing}"
