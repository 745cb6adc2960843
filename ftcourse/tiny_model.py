"""A deterministic tiny Qwen3 for the labs' smoke profile: `python -m ftcourse.tiny_model [out_dir]`.

It writes, without touching the network, a directory that `AutoTokenizer.from_pretrained` and
`AutoModelForCausalLM.from_pretrained` load like a Qwen3 checkpoint:

- a byte-level BPE tokenizer trained on the smoke profile's sample (ftcourse.paths.SAMPLE_PATH) with Qwen2/Qwen3's exact
  pre-tokenizer (NFC, Qwen's split regex, byte-level), Qwen3's chat tokens (`<|endoftext|>` as pad,
  `<|im_end|>` as EOS, `<|im_start|>`, and `<think>`/`</think>` as non-special added tokens, as in
  Qwen3) placed at the end of the vocabulary, and the course's Qwen3 chat template;
- a randomly initialised `Qwen3ForCausalLM` (2 layers, hidden 128, 4 query / 2 KV heads of 32,
  MLP 256, tied embeddings, 688,896 parameters, init std 0.1) in float32 safetensors, about 2.8 MB.

The model knows nothing; it lets a lab run its whole code path (loading, LoRA, masking, training,
merging) in minutes. Every dimension is a multiple of 64 and head_dim a power of two, so the same
files also load in 4-bit with bitsandbytes. Two builds with the same seed are byte-identical.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ftcourse.chat import QWEN3_CHAT_TEMPLATE, ROLE_MAP
from ftcourse.paths import SAMPLE_PATH, TINY_MODEL_DIR

DEFAULT_OUT = TINY_MODEL_DIR

VOCAB_SIZE = 3072  # BPE tokens + the 5 chat tokens below; a multiple of 64
CHAT_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>")
SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")  # <think> tokens are not "special" in Qwen3
# Same as transformers' Qwen2Tokenizer (used by Qwen3).
PRETOKENIZE_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
                     r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")

MODEL_DIMS = dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=32, max_position_embeddings=4096)
# Init std 0.1 instead of Qwen3's 0.02: with tied embeddings and a frozen final norm, std 0.02 caps
# every logit near +-2.6, so LoRA on the projections can barely lower the loss in a few steps.
INIT_STD = 0.1


def _corpus(sample_path: Path) -> list[str]:
    """The sample's text, one string per turn, prefixed with its role name as in the chat template."""
    texts = []
    for line in sample_path.read_text(encoding="utf-8").splitlines():
        for turn in json.loads(line)["conversations"]:
            texts.append(f"{ROLE_MAP[turn['from']]}\n{turn['value']}")
    return texts


def train_tokenizer(sample_path: Path = SAMPLE_PATH, vocab_size: int = VOCAB_SIZE):
    """Train the BPE and wrap it as a transformers Qwen2Tokenizer (the class Qwen3 uses)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, trainers
    from tokenizers.models import BPE
    from transformers import AddedToken, Qwen2Tokenizer

    bpe = Tokenizer(BPE(unk_token=None, byte_fallback=False))
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    n_bpe = vocab_size - len(CHAT_TOKENS)
    trainer = trainers.BpeTrainer(vocab_size=n_bpe, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(_corpus(sample_path), trainer=trainer)
    model = json.loads(bpe.to_str())["model"]
    vocab = dict(model["vocab"])
    if len(vocab) != n_bpe:
        raise RuntimeError(f"BPE training gave {len(vocab)} tokens, expected {n_bpe}: the sample is too small")
    # Chat tokens after the learned vocabulary, in Qwen3's order.
    for i, tok in enumerate(CHAT_TOKENS):
        vocab[tok] = n_bpe + i
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]

    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None,
                         eos_token="<|im_end|>", pad_token="<|endoftext|>",
                         model_max_length=MODEL_DIMS["max_position_embeddings"])
    tok.add_special_tokens({"additional_special_tokens": [AddedToken(t, special=True) for t in SPECIAL]})
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in CHAT_TOKENS if t not in SPECIAL])
    tok.chat_template = QWEN3_CHAT_TEMPLATE
    ids = tok.convert_tokens_to_ids(list(CHAT_TOKENS))
    if ids != list(range(n_bpe, vocab_size)) or len(tok) != vocab_size:
        raise RuntimeError(f"chat tokens got ids {ids}, tokenizer size {len(tok)}")
    return tok


def build_model(tokenizer, seed: int = 0):
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(
        vocab_size=len(tokenizer), tie_word_embeddings=True, rms_norm_eps=1e-6, initializer_range=INIT_STD,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, dtype="float32", **MODEL_DIMS,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen3ForCausalLM(config)
    model.generation_config = GenerationConfig(
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id], do_sample=False)
    return model.eval()


def build(out_dir: Path = DEFAULT_OUT, seed: int = 0, sample_path: Path = SAMPLE_PATH) -> Path:
    """Write tokenizer and model files to `out_dir` (created if missing) and return it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    from transformers.utils import logging as hf_logging

    tokenizer = train_tokenizer(Path(sample_path))
    model = build_model(tokenizer, seed)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a 1-shard save needs no progress bar on stderr
    try:
        tokenizer.save_pretrained(out_dir)
        model.save_pretrained(out_dir)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return out_dir


def ensure_built(out_dir: Path = DEFAULT_OUT) -> Path:
    """`out_dir` with the tiny model in it, built first if it is not there (a fresh clone has none)."""
    out_dir = Path(out_dir)
    if not (out_dir / "config.json").exists():
        build(out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    out = build(Path(argv[0]) if argv else DEFAULT_OUT)
    files = ", ".join(f"{p.name} ({p.stat().st_size:,} B)" for p in sorted(out.iterdir()) if p.is_file())
    print(f"tiny Qwen3 written to {out}: {files}")


if __name__ == "__main__":
    main()
