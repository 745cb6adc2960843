"""Labs 1 and 2's steps on the CPU, for the tests: the smoke recipe, the tiny Qwen3 in 4 bit (bitsandbytes),
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
    labels from `steps.predict_response_masking`, fully masked examples dropped in order, in the
    training set and (if there is one) the evaluation set. Returns the training set's prediction.

    The collator: on the GPU, Unsloth keeps TRL's padding-free collator (examples joined into one row;
    attention kept apart by `position_ids`, which needs its varlen attention kernels). On the CPU the
    examples are padded instead (`DataCollatorForSeq2Seq`), which computes the same loss;
    tests/test_steps.py checks `steps.real_tokens` on both kinds of batch."""
    from transformers import DataCollatorForSeq2Seq

    from ftcourse.chat import fully_masked_rows

    def relabel(data):
        data = data.select_columns(["input_ids"])  # TRL's own labels are replaced
        predicted = steps.predict_response_masking(data["input_ids"], tokenizer)
        empty = set(fully_masked_rows(predicted))
        return data.add_column("labels", predicted).select([i for i in range(len(data)) if i not in empty]), predicted

    trainer.train_dataset, predicted = relabel(trainer.train_dataset)
    if trainer.eval_dataset is not None:
        trainer.eval_dataset, _ = relabel(trainer.eval_dataset)
    trainer.data_collator = DataCollatorForSeq2Seq(tokenizer=tokenizer)
    return predicted


class Reports:
    """Runs a lab's reports and keeps what each printed, by report name."""

    def __init__(self):
        self.printed: dict[str, str] = {}

    def __call__(self, name, fn, *args, **kwargs):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            result = fn(*args, **kwargs)
        self.printed[name] = buffer.getvalue()
        return result


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
    report = Reports()

    model, tokenizer = load_4bit(Path(recipe.model))
    report("describe_projections", steps.describe_projections, model)
    report("describe_special_tokens", steps.describe_special_tokens, tokenizer)
    model = attach_lora(model, recipe)
    trainable, total = report("describe_lora", steps.describe_lora, model, recipe)
    all_rows = steps.load_rows(recipe)
    report("describe_rows", steps.describe_rows, all_rows)
    rows, heldout_rows = steps.split_rows(all_rows, recipe.eval_rows)
    report("describe_split", steps.describe_split, rows, heldout_rows, recipe.eval_rows)
    dataset, heldout = steps.chat_texts(rows, tokenizer), steps.chat_texts(heldout_rows, tokenizer)
    # on the GPU, Unsloth picks fp16 or bf16 for the GPU; on the CPU, fp32
    args = steps.sft_config(recipe, str(out_dir / "lab1"), use_cpu=True, bf16=False, disable_tqdm=True)
    trainer = cpu_sft_trainer_class()(model=model, processing_class=tokenizer, train_dataset=dataset,
                                      eval_dataset=heldout, args=args)
    predicted = with_response_labels(trainer, tokenizer)
    report("check_response_masking", steps.check_response_masking, predicted, trainer.train_dataset["labels"])
    heldout_before = trainer.evaluate()["eval_loss"]
    trainer.train()
    losses = steps.logged_losses(trainer)
    report("check_losses", steps.check_losses, losses, recipe.max_steps)
    report("check_heldout", steps.check_heldout, heldout_before, trainer.evaluate()["eval_loss"])
    adapter_dir = out_dir / "lab1-adapter"
    model.save_pretrained(adapter_dir)
    report("describe_adapter", steps.describe_adapter, adapter_dir, trainable, total - trainable)
    # 8. a second user turn after the model's first answer (the tiny model's words mean nothing)
    conversation = steps.continue_chat(model, tokenizer, [], "What is a learning rate?", max_new_tokens=8)
    conversation = steps.continue_chat(model, tokenizer, conversation, "Say it to a child.", max_new_tokens=8)
    report("check_chat_prompt", steps.check_chat_prompt, tokenizer, conversation[:-1])
    return Run(recipe, report.printed, losses, trainer, tokenizer)


@dataclasses.dataclass
class Lab2Run:
    recipe: Recipe
    printed: dict[str, str]
    heldout_before: float
    heldout_after: float
    results: list[dict]
    main_adapter: Path
    sweep_adapters: dict[int, Path]
    merge: dict


def cpu_trainer(model, tokenizer, train, held_out, recipe: Recipe, out_dir: Path):
    args = steps.sft_config(recipe, str(out_dir), use_cpu=True, bf16=False, disable_tqdm=True)
    trainer = cpu_sft_trainer_class()(model=model, processing_class=tokenizer, train_dataset=train,
                                      eval_dataset=held_out, args=args)
    with_response_labels(trainer, tokenizer)
    return trainer


def run_lab2_steps(model_dir: Path, out_dir: Path, **recipe_changes) -> Lab2Run:
    """Lab 2 in the smoke profile, section by section, on the CPU (PEFT in place of Unsloth, as in
    lab 1's run); every report's output captured."""
    import torch
    from peft import PeftModel

    from ftcourse import adapters

    recipe = smoke_recipe("lab2_lora_inside", model_dir, **recipe_changes)
    report = Reports()
    # 1. model, LoRA, held-out rows
    model, tokenizer = load_4bit(Path(recipe.model))
    config = model.config
    model = attach_lora(model, recipe)
    report("describe_lora", steps.describe_lora, model, recipe)
    rows = steps.load_rows(recipe)
    train_rows, heldout_rows = steps.split_rows(rows, recipe.eval_rows)
    report("describe_split", steps.describe_split, train_rows, heldout_rows, recipe.eval_rows)
    train_texts, heldout_texts = steps.chat_texts(train_rows, tokenizer), steps.chat_texts(heldout_rows, tokenizer)
    # 2. train, evaluate before and after
    trainer = cpu_trainer(model, tokenizer, train_texts, heldout_texts, recipe, out_dir / "lab2")
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    after = trainer.evaluate()["eval_loss"]
    report("check_losses", steps.check_losses, steps.logged_losses(trainer), recipe.max_steps)
    report("check_heldout", steps.check_heldout, before, after)
    main_adapter = out_dir / "lab2-adapter"
    model.save_pretrained(main_adapter)
    # 3. one layer opened
    layer_name = adapters.first_4bit_layer(model, "q_proj")
    layer = adapters.lora_layers(model)[layer_name]
    parts = adapters.open_layer(model, layer_name)
    report("describe_layer", adapters.describe_layer, parts, recipe.lora_r, recipe.lora_alpha)
    input_ids = tokenizer(heldout_texts[0]["text"], return_tensors="pt").input_ids[:, :256]
    x = adapters.attention_input(model, input_ids, adapters.layer_index(layer_name))
    report("check_recomputed", adapters.check_recomputed, parts, layer, x)
    # 4. the spectrum of the update
    report("check_delta_rank", adapters.check_delta_rank, parts)
    report("describe_relative_update", adapters.describe_relative_update, model,
           layer_name.rsplit(".self_attn", 1)[0] + ".")
    # 5. the rank sweep
    results, sweep_adapters = [], {}
    for r in recipe.sweep_ranks:
        run = dataclasses.replace(recipe, lora_r=r, lora_alpha=r * recipe.lora_alpha // recipe.lora_r,
                                  max_steps=recipe.sweep_steps)
        sweep_model = attach_lora(load_4bit(Path(run.model))[0], run)
        sweep_trainer = cpu_trainer(sweep_model, tokenizer, train_texts, heldout_texts, run, out_dir / f"lab2-r{r}")
        sweep_trainer.train()
        losses = steps.logged_losses(sweep_trainer)
        results.append(dict(r=r, trainable=sweep_model.get_nb_trainable_parameters()[0],
                            train_loss=sum(losses[-5:]) / len(losses[-5:]),
                            heldout_loss=sweep_trainer.evaluate()["eval_loss"]))
        sweep_adapters[r] = out_dir / f"lab2-adapter-r{r}"
        sweep_model.save_pretrained(sweep_adapters[r])
    report("describe_rank_sweep", adapters.describe_rank_sweep, results, config)
    # 6. two adapters on one base
    model = PeftModel.from_pretrained(load_4bit(Path(recipe.model))[0], main_adapter)
    model.load_adapter(str(sweep_adapters[max(recipe.sweep_ranks)]), adapter_name="rank_sweep")
    model.eval()

    def logits_of(m):
        with torch.no_grad():
            return m(input_ids=input_ids).logits.float()

    main_logits = logits_of(model)
    model.set_adapter("rank_sweep")
    sweep_logits = logits_of(model)
    model.set_adapter("default")
    report("check_swap", adapters.check_swap, main_logits, sweep_logits, logits_of(model))
    # 7. merge: not into 4 bit; into a 16-bit (here 32-bit, the CPU's dtype) copy
    report("describe_requantization", adapters.describe_requantization, parts)
    unmerged = logits_of(model)
    with model.disable_adapter():
        base = logits_of(model)
    merged = adapters.merge_into_16bit_copy(model)
    merge = report("check_same_predictions", adapters.check_same_predictions, unmerged, logits_of(merged), base)
    return Lab2Run(recipe, report.printed, before, after, results, main_adapter, sweep_adapters, merge)
