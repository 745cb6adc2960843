"""Lab 1's steps on the CPU, for the tests: the smoke recipe, the tiny Qwen3 in 4 bit (bitsandbytes),
LoRA by PEFT (the library Unsloth's `get_peft_model` wraps) and TRL's SFTTrainer.

Only two things differ from the GPU lab: PEFT's `LoraConfig` takes the place of Unsloth's
`get_peft_model` (same arguments, minus Unsloth's own two), and `CpuSFTTrainer` computes the loss
with the model's forward, because TRL 1.15's fused loss is a Triton kernel with no CPU path. What
each report prints is captured, so the nbval sanitizer can be tested on real output.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

from ftcourse import steps
from ftcourse.recipes import Recipe, resolve

UNSLOTH_ONLY = ("use_gradient_checkpointing", "random_state")


def smoke_recipe(lab: str, model_dir: Path, **changes) -> Recipe:
    _, recipe = resolve(lab, "smoke")
    return dataclasses.replace(recipe, model=str(model_dir), **changes)


def load_4bit(model_dir: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(model_dir, quantization_config=quant, device_map="cpu",
                                                 local_files_only=True)
    return model, AutoTokenizer.from_pretrained(model_dir, local_files_only=True)


def attach_lora(model, recipe: Recipe):
    """PEFT with the lab's own arguments (`steps.lora_arguments`), seeded like Unsloth's random_state."""
    import torch
    from peft import LoraConfig, get_peft_model

    args = steps.lora_arguments(recipe)
    torch.manual_seed(args["random_state"])
    config = LoraConfig(task_type="CAUSAL_LM", **{k: v for k, v in args.items() if k not in UNSLOTH_ONLY})
    return get_peft_model(model, config)


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


def with_response_labels(trainer, tokenizer):
    """What Unsloth's `train_on_responses_only` does to the trainer's data, by the course's rule:
    labels from `steps.predict_response_masking`, fully masked examples dropped in order.

    The collator: on the GPU, Unsloth keeps TRL's padding-free collator (examples joined into one row;
    attention kept apart by `position_ids`, which needs its varlen attention kernels). On the CPU the
    examples are padded instead (`DataCollatorForSeq2Seq`), which computes the same loss;
    tests/test_steps.py checks `steps.real_tokens` on both kinds of batch."""
    from transformers import DataCollatorForSeq2Seq

    from ftcourse.chat import fully_masked_rows

    data = trainer.train_dataset.select_columns(["input_ids"])  # TRL's own labels are replaced
    predicted = steps.predict_response_masking(data["input_ids"], tokenizer)
    empty = set(fully_masked_rows(predicted))
    data = data.add_column("labels", predicted).select([i for i in range(len(data)) if i not in empty])
    trainer.train_dataset = data
    trainer.data_collator = DataCollatorForSeq2Seq(tokenizer=tokenizer)
    return predicted


@dataclasses.dataclass
class Run:
    recipe: Recipe
    printed: dict[str, str]  # report name -> what it printed
    losses: list[float]
    trainer: object
    tokenizer: object


def run_lab1_steps(model_dir: Path, out_dir: Path, **recipe_changes) -> Run:
    """Lab 1 in the smoke profile, step by step, on the CPU; every report's output captured."""
    recipe = smoke_recipe("lab1_first_qlora", model_dir, **recipe_changes)
    printed: dict[str, str] = {}

    def report(name, fn, *args, **kwargs):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            result = fn(*args, **kwargs)
        printed[name] = buffer.getvalue()
        return result

    model, tokenizer = load_4bit(Path(recipe.model))
    report("describe_projections", steps.describe_projections, model)
    model = attach_lora(model, recipe)
    trainable, total = report("describe_lora", steps.describe_lora, model, recipe)
    rows = steps.load_rows(recipe)
    report("describe_rows", steps.describe_rows, rows)
    dataset = steps.chat_texts(rows, tokenizer)
    # on the GPU, Unsloth picks fp16 or bf16 for the GPU; on the CPU, fp32
    args = steps.sft_config(recipe, str(out_dir / "lab1"), use_cpu=True, bf16=False, disable_tqdm=True)
    trainer = cpu_sft_trainer_class()(model=model, processing_class=tokenizer, train_dataset=dataset, args=args)
    predicted = with_response_labels(trainer, tokenizer)
    report("check_response_masking", steps.check_response_masking, predicted, trainer.train_dataset["labels"])
    trainer.train()
    losses = steps.logged_losses(trainer)
    report("check_losses", steps.check_losses, losses, recipe.max_steps)
    adapter_dir = out_dir / "lab1-adapter"
    model.save_pretrained(adapter_dir)
    report("describe_adapter", steps.describe_adapter, adapter_dir, trainable, total - trainable)
    return Run(recipe, printed, losses, trainer, tokenizer)
