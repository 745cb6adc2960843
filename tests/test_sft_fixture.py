"""End to end on the CPU: the smoke-profile fixtures through the labs' data path and real LoRA SFT steps.

tiny Qwen3 + data/finetome_sample.jsonl -> validate_rows -> standardize -> chat template -> tokens
-> response-only labels (Qwen3 markers) -> PEFT LoRA (r=8, 7 projections) + TRL SFTTrainer, 20 steps.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from ftcourse.chat import (
    IGNORE_INDEX, ResponseMarkers, check_labels, response_only_labels, standardize, validate_rows,
)
from ftcourse.models import LORA_TARGETS_ALL

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "finetome_sample.jsonl"
MAX_LENGTH = 384  # the longest sample conversation is shorter, so nothing is truncated
STEPS, LR, RANK = 20, 1e-2, 8


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ftcourse.tiny_model import build
    out = build(tmp_path_factory.mktemp("sft") / "tiny-qwen3")
    return AutoTokenizer.from_pretrained(out, local_files_only=True), out


def prepare(tokenizer) -> tuple[dict, dict]:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    validate_rows(rows)
    markers = ResponseMarkers.from_tokenizer(tokenizer)  # <|im_start|>user\n, <|im_start|>assistant\n
    features = {"input_ids": [], "labels": []}
    for row in rows:
        text = tokenizer.apply_chat_template(standardize(row["conversations"]), tokenize=False)
        ids = tokenizer(text, add_special_tokens=False, truncation=True, max_length=MAX_LENGTH)["input_ids"]
        features["input_ids"].append(ids)
        features["labels"].append(response_only_labels(ids, markers))
    return features, check_labels(features["labels"])


def cpu_sft_trainer_class():
    from trl import SFTTrainer

    class CpuSFTTrainer(SFTTrainer):
        """TRL's SFTTrainer with the loss computed by the model's own forward.

        TRL 1.15 always computes the SFT loss with a fused LM head whose kernel is written in Triton
        (trl.kernels, CUDA only); on a CPU it fails with "'NoneType' object has no attribute 'apply'".
        The quantity is the same: the summed -log p(label) over labels != -100, divided by the number
        of such labels in the accumulated batch. Everything else (dataset preparation, collator,
        PEFT wrapping, optimizer, scheduler, logging) is TRL's.
        """

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            inputs = {**inputs, "use_cache": False}
            if num_items_in_batch is not None:
                inputs["num_items_in_batch"] = num_items_in_batch
            outputs = model(**inputs)
            return (outputs.loss, outputs) if return_outputs else outputs.loss

    return CpuSFTTrainer


def make_trainer(trainer_cls, model_dir, tokenizer, features, out_dir, steps=STEPS):
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig

    model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    args = SFTConfig(
        output_dir=str(out_dir), max_steps=steps, per_device_train_batch_size=4, gradient_accumulation_steps=1,
        learning_rate=LR, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, logging_steps=1,
        max_length=MAX_LENGTH,  # TRL 1.x name (was max_seq_length)
        seed=0, data_seed=0, use_cpu=True, bf16=False, fp16=False, dataloader_num_workers=0,
        save_strategy="no", report_to="none", disable_tqdm=True,
    )
    lora = LoraConfig(r=RANK, lora_alpha=2 * RANK, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                      target_modules=list(LORA_TARGETS_ALL))
    return trainer_cls(model=model, args=args, train_dataset=Dataset.from_dict(features),
                       processing_class=tokenizer, peft_config=lora)  # TRL 1.x name (was tokenizer)


def test_lora_sft_on_the_fixtures(tiny, tmp_path, record_property):
    import torch
    start = time.perf_counter()
    tokenizer, model_dir = tiny
    features, report = prepare(tokenizer)
    assert report["fully_masked"] == [], "some examples have no response tokens"
    assert 0.1 < report["masked_share"] < 0.6
    assert max(map(len, features["input_ids"])) < MAX_LENGTH  # nothing truncated

    trainer = make_trainer(cpu_sft_trainer_class(), model_dir, tokenizer, features, tmp_path)
    # A dataset that already has "labels" is used as is: TRL kept our masking.
    assert trainer.train_dataset.column_names == ["input_ids", "labels"]
    assert trainer.train_dataset["labels"] == features["labels"]
    # LoRA adds r * (in + out) per adapted projection; nothing else trains.
    cfg = trainer.model.config
    per_layer = sum(i + o for i, o in [
        (cfg.hidden_size, cfg.num_attention_heads * cfg.head_dim),             # q_proj
        (cfg.hidden_size, cfg.num_key_value_heads * cfg.head_dim),             # k_proj
        (cfg.hidden_size, cfg.num_key_value_heads * cfg.head_dim),             # v_proj
        (cfg.num_attention_heads * cfg.head_dim, cfg.hidden_size),             # o_proj
        (cfg.hidden_size, cfg.intermediate_size), (cfg.hidden_size, cfg.intermediate_size),  # gate, up
        (cfg.intermediate_size, cfg.hidden_size)])                             # down_proj
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    assert trainable == RANK * per_layer * cfg.num_hidden_layers == 32_768

    # The override computes the usual masked next-token cross-entropy.
    batch = next(iter(trainer.get_train_dataloader()))
    with torch.no_grad():
        logits = trainer.model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).logits
        targets = batch["labels"][:, 1:]
        nll = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), targets.flatten(),
                                                ignore_index=IGNORE_INDEX, reduction="sum")
        manual = nll / (targets != IGNORE_INDEX).sum()
        assert math.isclose(trainer.compute_loss(trainer.model, dict(batch)).item(), manual.item(), rel_tol=1e-4)

    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == STEPS
    assert all(math.isfinite(x) for x in losses), losses
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first, losses
    seconds = time.perf_counter() - start
    summary = (f"masked share {report['masked_share']:.3f} of {report['tokens']} tokens in {report['examples']} "
               f"examples; loss first {losses[0]:.3f} last {losses[-1]:.3f} (mean of 5: {first:.3f} -> "
               f"{last:.3f}); {seconds:.1f} s")
    print(summary)
    record_property("sft_summary", summary)
    assert seconds < 90, summary


@pytest.mark.xfail(strict=True, raises=AttributeError, reason="TRL 1.15's fused SFT loss is a Triton kernel: no CPU path. When this "
                   "passes, TRL trains on the CPU and CpuSFTTrainer can go.")
def test_stock_sft_trainer_cannot_train_on_cpu(tiny, tmp_path):
    from trl import SFTTrainer
    tokenizer, model_dir = tiny
    features, _ = prepare(tokenizer)
    make_trainer(SFTTrainer, model_dir, tokenizer, features, tmp_path, steps=1).train()
