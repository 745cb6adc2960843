"""ftcourse.memory: the accounting, the rules of thumb, and a real CPU measurement."""
import pytest
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

from ftcourse import memory as mem
from ftcourse.models import MODEL_CONFIGS, llama3_8b_config


def test_recipes_bytes_per_param():
    assert mem.MIXED_ADAMW.per_param == 16
    assert mem.BF16_ADAMW.per_param == 12
    assert mem.FP32_ADAMW.per_param == 16


def test_full_finetune_breakdown_sums():
    m = mem.full_finetune_bytes(1_000, mem.MIXED_ADAMW, activations=123)
    assert m.as_dict() == {"weights": 2_000, "gradients": 2_000, "optimizer_states": 8_000,
                           "master_weights": 4_000, "activations": 123, "total": 16_123}


def test_weights_bytes():
    assert mem.weights_bytes(70_000_000_000, 2) == 140 * mem.GB
    assert mem.weights_bytes(8, 0.5) == 4


def test_rules_of_thumb_13b_example():
    n = 13_000_000_000
    assert mem.inference_rule_of_thumb(n, 2) / mem.GB == pytest.approx(31.2)
    # gradients + Adam's m and v only (Huyen's 78 GB); the weights are not in this term
    assert mem.training_rule_of_thumb(n, 2) / mem.GB == pytest.approx(78.0)
    assert mem.training_rule_of_thumb(1, 2) + mem.weights_bytes(1, 2) == mem.MIXED_ADAMW.per_param / 2


def test_activation_formula_hand_computed():
    # s=4, b=2, h=8, a=2: s*b*h*34 = 2176; 5*a*s*s*b = 320.
    assert mem.activation_bytes_per_layer(seq_len=4, batch_size=2, hidden=8, heads=2) == 2496
    cfg = Qwen3Config(hidden_size=8, num_attention_heads=2, num_hidden_layers=3)
    assert mem.activation_bytes(cfg, batch_size=2, seq_len=4) == 3 * 2496
    # checkpointing: 3 layers keep 2*s*b*h = 128 each, plus one layer recomputed
    assert mem.activation_bytes(cfg, batch_size=2, seq_len=4, checkpointing=True) == 3 * 128 + 2496


@pytest.mark.parametrize("name", list(MODEL_CONFIGS))
def test_checkpointing_reduces_activations(name):
    cfg = MODEL_CONFIGS[name]()
    full = mem.activation_bytes(cfg, batch_size=1, seq_len=2048)
    ckpt = mem.activation_bytes(cfg, batch_size=1, seq_len=2048, checkpointing=True)
    assert ckpt < full / 5


def test_activations_grow_quadratically_with_attention_term():
    cfg = llama3_8b_config()
    a1 = mem.activation_bytes(cfg, 1, 1024)
    a2 = mem.activation_bytes(cfg, 1, 2048)
    assert 2 * a1 < a2 < 4 * a1


def test_measured_adamw_state_matches_estimate():
    """Real tensors: a small Qwen3 on the CPU, one AdamW step, fp32 everywhere = 16 B/param."""
    torch.manual_seed(0)
    cfg = Qwen3Config(vocab_size=4096, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=64)
    model = Qwen3ForCausalLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, cfg.vocab_size, (2, 16))
    model(input_ids=ids, labels=ids).loss.backward()
    opt.step()

    n = sum(p.numel() for p in model.parameters())
    measured = mem.measured_state_bytes(model, opt)
    assert measured == mem.full_finetune_bytes(n, mem.FP32_ADAMW)
    assert measured.total == 16 * n

    # independent count straight from the optimizer, so a bug in the helper cannot hide
    raw = sum(t.numel() * t.element_size() for s in opt.state.values() for k, t in s.items() if k != "step")
    assert raw == 8 * n


def test_frozen_parameters_cost_only_weights():
    m = mem.training_bytes(1_000, n_trainable=10, recipe=mem.MIXED_ADAMW)
    assert m.weights == 2_000
    assert m.gradients + m.optimizer_states + m.master_weights == 10 * 14
    assert mem.training_bytes(1_000) == mem.full_finetune_bytes(1_000)


def test_logits_bytes():
    cfg = Qwen3Config(vocab_size=10, hidden_size=8, num_attention_heads=2, num_hidden_layers=1)
    assert mem.logits_bytes(cfg, batch_size=3, seq_len=5) == 5 * 3 * 10 * 4
