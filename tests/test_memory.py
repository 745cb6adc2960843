"""ftcourse.memory: the accounting, the rules of thumb, real CPU measurements, and the peak estimate
checked against every published GPU measurement it cites (chapter 3)."""
import pytest
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

from ftcourse import memory as mem
from ftcourse.models import MODEL_CONFIGS, llama3_8b_config, qwen3_4b_config
from ftcourse.peft_counts import PROJECTIONS, lora_param_count


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


# --- the peak of a LoRA / QLoRA step (chapter 3) ---------------------------------------------------

SEED_RUN = mem.CITED_RUNS[0]


def test_lab1_recipe_is_within_10_percent_of_the_seeds_measured_peak():
    # lab 1's recipe: Qwen3-4B in 4 bit, r=8 on the seven projections, batch 2, max length 2048
    assert (SEED_RUN.architecture, SEED_RUN.lora_r, SEED_RUN.batch_size, SEED_RUN.seq_len) == ("Qwen3-4B", 8, 2, 2048)
    assert SEED_RUN.peak_gib == 6.068
    predicted = mem.lora_training_peak_bytes(qwen3_4b_config(), 16_515_072, 2, 2048) / mem.GIB
    assert abs(predicted / SEED_RUN.peak_gib - 1) <= 0.10, predicted


@pytest.mark.parametrize("run", mem.CITED_RUNS, ids=lambda r: r.architecture)
def test_never_more_than_10_percent_below_a_cited_measurement(run):
    load, peak = mem.predicted_run(run)
    assert load >= 0.9 * run.load_gib, (load, run.load_gib)
    assert peak >= 0.9 * run.peak_gib, (peak, run.peak_gib)


@pytest.mark.parametrize("run", mem.CITED_RUNS, ids=lambda r: r.architecture)
def test_cited_runs_have_the_architecture_their_logs_count(run):
    # the trainable-parameter count the run printed pins its architecture
    assert lora_param_count(mem.architecture(run.architecture), run.lora_r, PROJECTIONS) == run.trainable


def test_the_peak_is_the_sum_of_its_parts_and_the_labs_use_it():
    from ftcourse.labs import peak_estimate_bytes
    from ftcourse.recipes import LABS

    parts = mem.lora_peak_breakdown(qwen3_4b_config(), 16_515_072, 2, 2048)
    assert parts.total == sum(v for k, v in parts.as_dict().items() if k != "total")
    assert peak_estimate_bytes(LABS["lab1_first_qlora"].full, qwen3_4b_config()) == parts.total
    # at the peak, the fp32 logits over Qwen3's 151,936-token vocabulary are the largest transient
    assert parts.transient >= 2048 * 2 * 151_936 * 4


def test_unsloth_dynamic_skip_list_keeps_six_attention_and_six_mlp_blocks():
    cfg = qwen3_4b_config()
    skip = mem.skip_modules_for(cfg)
    assert skip == mem.UNSLOTH_QWEN3_4B_SKIP_MODULES
    attention = 2560 * 4096 + 2 * 2560 * 1024 + 4096 * 2560
    mlp = 3 * 2560 * 9728
    assert mem.linear_params_in_16bit(cfg, skip) == 6 * attention + 6 * mlp
    # "model.layers.3.mlp" must not catch layers 30-35, nor "model.layers.1." layers 10-19
    assert mem.linear_params_in_16bit(cfg, ("model.layers.3.mlp",)) == mlp
    assert mem.linear_params_in_16bit(cfg, ("model.layers.1",)) == attention + mlp
    # a real checkpoint's config wins; another architecture gets plain QLoRA
    cfg.quantization_config = {"llm_int8_skip_modules": ["model.layers.0.self_attn"]}
    assert mem.skip_modules_for(cfg) == ("model.layers.0.self_attn",)
    assert mem.skip_modules_for(MODEL_CONFIGS["Llama-3-8B"]()) == ()


def test_4bit_base_bytes_match_what_bitsandbytes_stores(tmp_path):
    """A small Qwen3 quantized by transformers + bitsandbytes (NF4, double quantization) on the CPU."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    torch.manual_seed(0)
    cfg = Qwen3Config(vocab_size=1024, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=64, tie_word_embeddings=True)
    Qwen3ForCausalLM(cfg).save_pretrained(tmp_path)
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(tmp_path, quantization_config=quant, dtype=torch.bfloat16,
                                                 device_map="cpu")
    stored = 0
    for p in model.parameters():
        stored += p.numel() * p.element_size()
        qs = getattr(p, "quant_state", None)
        if qs is not None:  # per-block constants; the 16- and 256-entry code tables are per tensor
            stored += qs.absmax.numel() * qs.absmax.element_size() + qs.state2.absmax.numel() * 4
    assert stored == pytest.approx(mem.base_weight_bytes(cfg, base_in_4bit=True), rel=0.002)
    assert 2 * sum(p.numel() for p in Qwen3ForCausalLM(cfg).parameters()) == mem.base_weight_bytes(cfg, False)


def test_lora_state_bytes_match_bitsandbytes_adamw8bit():
    import bitsandbytes as bnb

    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(8, 2560)), torch.nn.Parameter(torch.randn(1024, 8))]
    opt = bnb.optim.AdamW8bit(params, lr=1e-3)
    for p in params:
        p.grad = torch.randn_like(p)
    opt.step()
    n = sum(p.numel() for p in params)
    held = sum(t.numel() * t.element_size() for p in params for t in (p, p.grad))
    held += sum(t.numel() * t.element_size() for s in opt.state.values() for k, t in s.items()
                if k in ("state1", "state2", "absmax1", "absmax2"))
    assert held == mem.lora_state_bytes(n)


def test_peak_moves_the_right_way():
    cfg = qwen3_4b_config()
    base = mem.lora_training_peak_bytes(cfg, 16_515_072, 2, 2048)
    assert mem.lora_training_peak_bytes(cfg, 16_515_072, 1, 2048) < base
    assert mem.lora_training_peak_bytes(cfg, 16_515_072, 2, 1024) < base
    assert mem.lora_training_peak_bytes(cfg, 33_030_144, 2, 2048) > base
    kept = mem.lora_peak_breakdown(cfg, 16_515_072, 2, 2048, offload_checkpoints=False)
    assert kept.activations == 36 * 2 * 4096 * 2560


def test_full_finetuning_states_and_kv_cache():
    cfg = qwen3_4b_config()
    n = 4_022_468_096
    mixed = mem.full_peak_breakdown(cfg, n, 1, 2048, mem.MIXED_ADAMW)
    fp32 = mem.full_peak_breakdown(cfg, n, 1, 2048, mem.FP32_ADAMW)
    assert mixed.weights + mixed.trainable_states == fp32.weights + fp32.trainable_states == 16 * n
    assert fp32.activations == 2 * mixed.activations  # fp32 activations are twice the 16-bit ones
    # keys and values: 36 layers x 8 KV heads x 128 x 2048 tokens x 2 bytes x 2
    assert mem.kv_cache_bytes(cfg, 1, 2048) == 2 * 36 * 8 * 128 * 2048 * 2
