"""Lab 3 ("4비트의 대가") in the smoke profile on the CPU, section by section, for the tests.

As in tests/cpu_lab.py, PEFT takes the place of Unsloth and the course's CPU trainer the place of TRL's
(TRL 1.15's loss kernel needs a GPU). The 4-bit model is loaded the way Unsloth loads a checkpoint that
is not quantized yet: bitsandbytes NF4 with double quantization. There is no GPU, so the memory figures
are None and the "16-bit" original is the CPU's float32; everything the lab checks runs for real,
including the plain baseline in a fresh Python (with the CPU trainer instead of TRL's).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ftcourse import labs, quant_lab, steps
from ftcourse.recipes import Recipe

from .cpu_lab import Reports, attach_lora, cpu_trainer, smoke_recipe

CPU_TRAINER = "tests.cpu_lab:cpu_sft_trainer_class"


def load_4bit_double_quant(model_dir: Path):
    """The tiny Qwen3 in NF4 with double quantization, as Unsloth's `load_in_4bit=True` asks bitsandbytes
    (compute dtype float32: the CPU's)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(model_dir, quantization_config=quant, device_map="cpu",
                                                 local_files_only=True)
    return model, AutoTokenizer.from_pretrained(model_dir, local_files_only=True)


def load_unquantized(model_dir: Path):
    """The same checkpoint not quantized (float32 on the CPU, where the lab has 16 bit)."""
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, local_files_only=True)


@dataclasses.dataclass
class Lab3Run:
    recipe: Recipe
    printed: dict[str, str]
    layer_name: str
    storage: dict
    error: dict
    qlora: dict
    lora_16bit: dict
    baseline: dict
    memory: list[dict]
    data_path: Path


def run_lab3_steps(model_dir: Path, out_dir: Path, **recipe_changes) -> Lab3Run:
    """Lab 3 in the smoke profile on the CPU; every report's output captured by report name."""
    recipe = smoke_recipe("lab3_quant_cost", model_dir, model_16bit=str(model_dir), **recipe_changes)
    report = Reports()
    # 1. FP16 or BF16
    report("check_fp16_overflow", quant_lab.check_fp16_overflow, "cpu")
    dtype = quant_lab.compute_dtype(quant_lab.device_capability())
    # 2. the 4-bit model opened
    with quant_lab.gpu_use() as load_4bit:
        model, tokenizer = load_4bit_double_quant(Path(recipe.model))
    report("check_dtype_choice", quant_lab.check_dtype_choice, dtype, dtype, model.get_input_embeddings().weight.dtype)
    config = labs.model_config(recipe)
    layer_name, layer = next(iter(quant_lab.quantized_projections(model).items()))
    report("describe_quant_state", quant_lab.describe_quant_state, layer_name, layer)
    report("check_storage_bits", quant_lab.check_storage_bits, layer)
    report("check_dequantized", quant_lab.check_dequantized, layer)
    report("check_weight_bytes", quant_lab.check_weight_bytes, model, config, True)
    layer_4bit = quant_lab.snapshot(layer_name, layer)
    storage = quant_lab.storage_table(model)
    # 3. QLoRA for max_steps steps
    model = attach_lora(model, recipe)
    report("describe_lora", steps.describe_lora, model, recipe)
    rows = steps.load_rows(recipe)
    dataset = steps.chat_texts(rows, tokenizer)
    trainer = cpu_trainer(model, tokenizer, dataset, None, recipe, out_dir / "qlora")
    # Unsloth's trainer keeps the adapters in float32 (it removes TRL's cast to bfloat16 for a quantized model)
    quant_lab.keep_adapters_in_fp32(trainer.model)
    qlora = quant_lab.train_and_measure(trainer, tokenizer.pad_token_id, "QLoRA (4비트)")
    report("check_losses", steps.check_losses, qlora["losses"], recipe.max_steps, must_fall=False)
    data_path = quant_lab.save_training_data(trainer.train_dataset, out_dir / "train.jsonl")
    del trainer, model
    quant_lab.free_memory()
    # 4. the 16-bit original: the same layer, then LoRA on it
    with quant_lab.gpu_use() as load_16bit:
        model = load_unquantized(Path(recipe.model_16bit))
    error = report("check_quantization_error", quant_lab.check_quantization_error, layer_4bit,
                   model.get_submodule(layer_name).weight)
    report("check_weight_bytes (16-bit)", quant_lab.check_weight_bytes, model, config, False)
    model = attach_lora(model, recipe)
    report("describe_lora (16-bit)", steps.describe_lora, model, recipe)
    trainer = cpu_trainer(model, tokenizer, dataset, None, recipe, out_dir / "lora16")
    lora_16bit = quant_lab.train_and_measure(trainer, tokenizer.pad_token_id, "LoRA (16비트)")
    report("check_same_run", quant_lab.check_same_run, qlora, lora_16bit)
    del trainer, model
    quant_lab.free_memory()
    # 5. the plain stack in a fresh Python
    baseline = quant_lab.run_baseline(recipe, data_path, out_dir / "baseline", trainer=CPU_TRAINER)
    report("check_same_run (baseline)", quant_lab.check_same_run, qlora, baseline)
    # 6. predicted vs measured (no GPU here: the measured columns are empty)
    memory = quant_lab.memory_rows(recipe, config, {"load_4bit": load_4bit, "load_16bit": load_16bit,
                                                    "qlora": qlora, "lora_16bit": lora_16bit,
                                                    "baseline_qlora": baseline})
    return Lab3Run(recipe, report.printed, layer_name, storage, error, qlora, lora_16bit, baseline, memory, data_path)
