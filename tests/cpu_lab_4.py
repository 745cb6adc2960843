"""Lab 4's steps on the CPU, for the tests: the smoke recipe, the tiny Qwen3 in 4 bit (bitsandbytes),
LoRA by PEFT and TRL's SFTTrainer, section by section as in solutions/lab4_merge_deploy.ipynb.

What differs from the GPU lab, and why:
- PEFT's `LoraConfig` / `PeftModel.from_pretrained` take the place of Unsloth's `get_peft_model` and
  `FastLanguageModel.from_pretrained(adapter folder)` (the same PEFT objects underneath), and the
  CPU trainer of tests/cpu_lab.py computes the loss with the model's forward;
- the response-only labels of the evaluation sets (a dict, one per task) are set by the course's
  rule, as `with_response_labels` does for one set (Unsloth's `train_on_responses_only` on the GPU);
- Unsloth's `save_pretrained_merged(..., "merged_16bit")`, which needs a GPU, is replaced by what it
  writes for a local 16-bit model: the original weights plus the adapter's ΔW (PEFT's
  `merge_and_unload` on the 16-bit original), saved with `save_pretrained`.
Everything after the save (the weight check, the fresh Python that reloads it, the other checks) is the
lab's own code. The lab prints the fresh Python's KL divergences without asserting on them (a bf16 save
can round part of a small ΔW away); here, in float32, `check_same_predictions` asserts them too.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ftcourse import adapters, merge_lab, steps
from ftcourse.chat import fully_masked_rows
from ftcourse.recipes import Recipe

from .cpu_lab import (Reports, attach_lora, cpu_sft_trainer_class, cpu_trainer, load_4bit, smoke_recipe,
                      with_response_labels)

LAB = "lab4_merge_deploy"
A, B = "default", "task_b"  # as in the lab: the adapter folder loaded first is "default"
MERGES = ["linear", "cat", "ties", "dare_ties", "hand"]
PROMPTS = ["Write a Python function that returns the largest of three numbers.",
           "A train travels 120 km in 1.5 hours. What is its average speed?"]


@dataclasses.dataclass
class Lab4Run:
    recipe: Recipe
    printed: dict[str, str]
    data: merge_lab.TaskData
    losses: dict
    results: dict
    best: str
    merged_dir: Path
    compared: dict
    snapshot: dict
    gguf_skipped: list


def eval_trainer(model, tokenizer, train, held_out: dict, recipe: Recipe, out_dir: Path):
    """The CPU trainer with one evaluation set per task (TRL prepares each at init), labelled
    response-only by the course's rule, as `with_response_labels` does for one set."""
    args = steps.sft_config(recipe, str(out_dir), use_cpu=True, bf16=False, disable_tqdm=True)
    trainer = cpu_sft_trainer_class()(model=model, processing_class=tokenizer, train_dataset=train,
                                      eval_dataset=held_out, args=args)
    prepared, trainer.eval_dataset = trainer.eval_dataset, None
    with_response_labels(trainer, tokenizer)
    evals = {}
    for task, data in prepared.items():
        data = data.select_columns(["input_ids"])
        predicted = steps.predict_response_masking(data["input_ids"], tokenizer)
        empty = set(fully_masked_rows(predicted))
        evals[task] = data.add_column("labels", predicted).select([i for i in range(len(data)) if i not in empty])
    trainer.eval_dataset = evals
    return trainer


def run_lab4_steps(model_dir: Path, out_dir: Path, **recipe_changes) -> Lab4Run:
    """Lab 4 in the smoke profile, section by section, on the CPU; every report's output captured."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    recipe = smoke_recipe(LAB, model_dir, **recipe_changes)
    recipe = dataclasses.replace(recipe, model_16bit=str(model_dir))
    report = Reports()
    # 1. two tasks, cut by source
    data = merge_lab.load_task_rows(recipe)
    report("describe_sources", merge_lab.describe_sources, data)
    report("describe_tasks", merge_lab.describe_tasks, data, recipe.eval_rows)
    # 2. one adapter per task, the second with seed + 1
    adapter_dirs, losses = {}, {}
    for i, task in enumerate(merge_lab.TASKS):
        run = dataclasses.replace(recipe, seed=recipe.seed + i)
        model, tokenizer = load_4bit(Path(recipe.model))
        model = attach_lora(model, run)
        trainer = cpu_trainer(model, tokenizer, steps.chat_texts(data.train[task], tokenizer), None, run,
                              out_dir / f"lab4-{task}")
        trainer.train()
        losses[task] = steps.logged_losses(trainer)
        report("check_losses" if task == "a" else "check_losses (b)", steps.check_losses, losses[task], run.max_steps)
        adapter_dirs[task] = out_dir / f"lab4-adapter-{task}"
        model.save_pretrained(adapter_dirs[task])
    # 3. both adapters on one base, and the pitfalls
    model = PeftModel.from_pretrained(load_4bit(Path(recipe.model))[0], adapter_dirs["a"])
    model.load_adapter(str(adapter_dirs["b"]), adapter_name=B)
    report("check_pitfalls", merge_lab.check_pitfalls, model, [A, B], recipe.merge_weight, recipe.merge_density)
    # 4. the merges
    weights = [recipe.merge_weight] * 2
    torch.manual_seed(recipe.seed)  # dare_ties drops at random
    for combination in ("linear", "cat", "ties", "dare_ties"):
        density = recipe.merge_density if combination in merge_lab.PRUNING_TYPES else None
        merge_lab.add_merge(model, combination, [A, B], weights, combination, density=density)
    report("check_merge_deltas", merge_lab.check_merge_deltas, model, [A, B], weights, "cat", "linear")
    lambdas = [recipe.hand_lambda] * 2
    merge_lab.add_hand_merge(model, "hand", [A, B], lambdas)
    report("check_hand_merge", merge_lab.check_hand_merge, model, "hand", [A, B], lambdas, "cat", weights)
    # 5. evaluation of every model on both held-out sets
    held_out = {task: steps.chat_texts(data.held_out[task], tokenizer) for task in merge_lab.TASKS}
    trainer = eval_trainer(model, tokenizer, steps.chat_texts(data.train["a"], tokenizer), held_out, recipe,
                           out_dir / "lab4-eval")
    results = merge_lab.evaluate_adapters(trainer, model, [A, B, *MERGES])
    labels = {merge_lab.BASE: "본체", A: f"어댑터 A ({data.sources['a']})", B: f"어댑터 B ({data.sources['b']})",
              **{m: m for m in MERGES}}
    report("describe_results", merge_lab.describe_results, results, labels)
    best = merge_lab.best_merge(results, MERGES)
    layer_name = next(n for n in adapters.lora_layers(model) if n.endswith("layers.0.self_attn.q_proj"))
    snapshot = merge_lab.layer_snapshot(model, layer_name, [A, B, "cat", "linear"])
    # 6. deploy: what save_pretrained_merged writes for a local 16-bit model (see the module docstring)
    base_dir = merge_lab.fetch_base_16bit(recipe)
    best_dir = merge_lab.save_adapter(model, best, out_dir / "lab4-best")
    merged_dir = out_dir / "lab4-merged"
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32, local_files_only=True)
    PeftModel.from_pretrained(base, best_dir).merge_and_unload().save_pretrained(merged_dir)
    tokenizer.save_pretrained(merged_dir)
    gguf = merge_lab.export_gguf(model, tokenizer, out_dir / "lab4-gguf", recipe.gguf_quant, 1, online=False)
    # 7. the saved weights against the original + ΔW, then a reload with plain transformers in a fresh
    # Python, next to the original + adapter
    report("check_merged_weights", merge_lab.check_merged_weights, base_dir, best_dir, merged_dir)
    compared = merge_lab.compare_in_fresh_python(base_dir, best_dir, merged_dir, held_out["a"][0]["text"], PROMPTS,
                                                 out_dir / "lab4-compare.pt", max_new_tokens=12)
    report("check_same_predictions", adapters.check_same_predictions, compared["reference_logits"],
           compared["reloaded_logits"], compared["base_logits"])
    report("describe_saved_model", merge_lab.describe_saved_model, merged_dir, compared["reloaded_parameters"])
    return Lab4Run(recipe, report.printed, data, losses, results, best, merged_dir, compared, snapshot, gguf)

