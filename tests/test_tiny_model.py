"""ftcourse.tiny_model: offline, deterministic, loads as a Qwen3 with Qwen3's chat tokens and template."""
from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftcourse.chat import (
    QWEN3_CHAT_TEMPLATE,
    QWEN3_INSTRUCTION_PART,
    QWEN3_RESPONSE_PART,
)
from ftcourse.paths import REPO_ROOT as REPO
from ftcourse.tiny_model import build, ensure_built

FILES = {"chat_template.jinja", "config.json", "generation_config.json", "model.safetensors",
         "tokenizer.json", "tokenizer_config.json"}


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "tiny-qwen3"
    start = time.perf_counter()
    assert build(out, seed=0) == out
    return out, time.perf_counter() - start


@pytest.fixture(scope="module")
def loaded(built):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    out, _ = built
    return (AutoTokenizer.from_pretrained(out, local_files_only=True),
            AutoModelForCausalLM.from_pretrained(out, local_files_only=True))


def test_build_is_fast_small_and_deterministic(built, tmp_path):
    out, seconds = built
    assert seconds < 30, f"build took {seconds:.1f} s"
    assert {p.name for p in out.iterdir()} == FILES
    assert (out / "model.safetensors").stat().st_size < 5_000_000
    again = build(tmp_path / "again", seed=0)
    assert digests(again) == digests(out)
    other = build(tmp_path / "other", seed=1)
    assert digests(other)["model.safetensors"] != digests(out)["model.safetensors"]
    assert digests(other)["tokenizer.json"] == digests(out)["tokenizer.json"]  # the seed is the model's


def test_ensure_built_builds_once(built, tmp_path):
    """A fresh clone has no tiny model: the first page or lab that needs it builds it, later ones reuse it."""
    out = tmp_path / "fresh" / "tiny-qwen3"
    assert ensure_built(out) == out
    assert digests(out) == digests(built[0])
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    assert ensure_built(out) == out and (out / "model.safetensors").stat().st_mtime_ns == stamp


NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    print("NETWORK ATTEMPT", args[:2], file=sys.stderr)
    raise OSError("network access is not allowed in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from ftcourse.tiny_model import main
main([sys.argv[1]])
"""


def test_cli_offline_in_a_fresh_process(built, tmp_path):
    out, _ = built
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-c", NO_NETWORK, str(tmp_path / "cli")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "NETWORK ATTEMPT" not in run.stderr
    assert "tiny Qwen3 written to" in run.stdout
    assert digests(tmp_path / "cli") == digests(out)  # same bytes from another process


def test_config_is_a_small_qwen3(loaded):
    tok, model = loaded
    cfg = model.config
    assert cfg.model_type == "qwen3" and type(model).__name__ == "Qwen3ForCausalLM"
    assert cfg.vocab_size == len(tok) == 3072
    assert (cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers) == (128, 256, 2)
    assert (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim) == (4, 2, 32)
    assert cfg.head_dim >= 32 and cfg.head_dim & (cfg.head_dim - 1) == 0
    assert cfg.tie_word_embeddings and model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    import torch
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):  # 4-bit kernels want dims in multiples of 64
            assert module.in_features % 64 == 0 and module.out_features % 64 == 0, name
    per_layer = (2 * cfg.hidden_size * cfg.num_attention_heads * cfg.head_dim
                 + 2 * cfg.hidden_size * cfg.num_key_value_heads * cfg.head_dim
                 + 3 * cfg.hidden_size * cfg.intermediate_size + 2 * cfg.head_dim + 2 * cfg.hidden_size)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == cfg.vocab_size * cfg.hidden_size + cfg.num_hidden_layers * per_layer + cfg.hidden_size == 688_896
    assert next(model.parameters()).dtype == torch.float32


def test_tokenizer_has_qwen3_chat_tokens(loaded, built):
    tok, model = loaded
    assert type(tok).__name__ == "Qwen2Tokenizer"
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>" and tok.bos_token is None
    ids = tok.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"])
    assert ids == list(range(3067, 3072))
    special = {t.content: t.special for t in tok.added_tokens_decoder.values()}
    assert special == {"<|endoftext|>": True, "<|im_start|>": True, "<|im_end|>": True,
                       "<think>": False, "</think>": False}
    assert model.config.eos_token_id == tok.eos_token_id and model.config.pad_token_id == tok.pad_token_id
    assert tok.eos_token_id in model.generation_config.eos_token_id
    assert tok.chat_template == QWEN3_CHAT_TEMPLATE
    assert json.loads((built[0] / "tokenizer_config.json").read_text())["tokenizer_class"] == "Qwen2Tokenizer"
    for marker in (QWEN3_INSTRUCTION_PART, QWEN3_RESPONSE_PART):
        pieces = tok.convert_ids_to_tokens(tok(marker, add_special_tokens=False)["input_ids"])
        assert pieces[0] == "<|im_start|>" and len(pieces) == 3  # opener, role word, newline


@pytest.mark.parametrize("text", [
    "Fine-tuning adapts a pre-trained model.",
    "'며칠'이 맞습니다. 내일 봬요!",
    "```python\ndef f(x):\n    return x[::-1]\n```",
    "LoRA r=8, alpha=16 -> 0.41% trainable; 2.5 kg ≈ 5.51 lb",
])
def test_tokenizer_round_trips(loaded, text):
    tok, _ = loaded
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text and max(ids) < 3067


def test_forward_and_generate(loaded):
    import torch
    tok, model = loaded
    text = tok.apply_chat_template([{"role": "user", "content": "What is LoRA?"}, {"role": "assistant", "content": "A low-rank update."}],
                                   tokenize=False)
    batch = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model(**batch, labels=batch["input_ids"])
    assert out.logits.shape == (1, batch["input_ids"].shape[1], 3072)
    assert torch.isfinite(out.logits).all()
    assert 6.0 < out.loss.item() < 12.0  # an untrained model: near ln(3072) = 8.03
    prompt = tok.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True,
                                     enable_thinking=False, return_tensors="pt", return_dict=True)
    gen = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert gen.shape[1] > prompt["input_ids"].shape[1]
    assert math.isfinite(float(out.loss))
