"""ftcourse.merge_lab (lab 4: two adapters, merged, evaluated, shipped) on the CPU: the tiny Qwen3 in
4 bit with PEFT's LoRA, lab 4's whole smoke run (tests/cpu_lab_4.py), PEFT's merges against our
own, and each report made to fail once."""
from __future__ import annotations

import copy
import json
import math
from collections import Counter
from pathlib import Path

import pytest
import torch

from ftcourse import merge_lab, merging as mg
from ftcourse.adapters import lora_layers
from ftcourse.errors import LabError

from .cpu_lab import attach_lora, load_4bit, smoke_recipe
from .cpu_lab_4 import A, B, LAB, MERGES, run_lab4_steps
from .test_nbval_sanitize import assert_same_after_sanitizing, sanitized_without_noise


@pytest.fixture(scope="module")
def lab4_second_run(tiny_model_dir, tmp_path_factory):
    return run_lab4_steps(tiny_model_dir, tmp_path_factory.mktemp("lab4-again"), seed=1234)


def two_adapters(model_dir):
    """The tiny Qwen3 in 4 bit with adapters "default" and "task_b", different A's (seeds) and B's
    filled in as if trained."""
    recipe = smoke_recipe(LAB, model_dir)
    model = attach_lora(load_4bit(model_dir)[0], recipe)
    torch.manual_seed(recipe.seed + 1)
    model.add_adapter(B, copy.deepcopy(model.peft_config[A]))
    torch.manual_seed(0)
    for layer in lora_layers(model).values():
        for name in (A, B):
            torch.nn.init.normal_(layer.lora_B[name].weight, std=0.05)
    return model, recipe


@pytest.fixture
def model_ab(tiny_model_dir):
    return two_adapters(tiny_model_dir)


# ----------------------------------------------------------------------------- the whole lab
def test_lab4_runs_on_the_cpu(lab4_cpu_run):
    run = lab4_cpu_run
    assert set(run.results) == {merge_lab.BASE, A, B, *MERGES}
    assert run.best in MERGES
    for task in merge_lab.TASKS:  # each adapter learned its own task: lower held-out loss than the base
        adapter = A if task == "a" else B
        assert run.results[adapter][task] < run.results[merge_lab.BASE][task]
    assert (run.merged_dir / "config.json").exists() and run.gguf_skipped == []
    # the reloaded merge is the 16-bit original plus ΔW: on the CPU (float32) the greedy answers match
    assert run.compared["reloaded_answers"] == run.compared["reference_answers"]
    assert run.compared["dtype"] == "float32"
    assert set(run.snapshot) == {A, B, "cat", "linear"}


def test_lab4_runs_read_the_same_after_sanitizing(lab4_cpu_run, lab4_second_run):
    assert_same_after_sanitizing(lab4_cpu_run.printed, lab4_second_run.printed)


def test_lab4_facts_survive_sanitizing(lab4_cpu_run):
    clean = sanitized_without_noise(lab4_cpu_run.printed)
    assert "작업 A = synthetic-math, 작업 B = synthetic-code (레시피가 정함)" in clean["describe_sources"]
    assert "  synthetic-code: 40행" in clean["describe_sources"]
    assert "작업 B (synthetic-code): 학습 30행, 평가 10행" in clean["describe_tasks"]
    assert "손실 20개(스텝마다 하나)" in clean["check_losses (b)"]
    assert "랭크와 가중치 그대로" in clean["check_pitfalls"] and "(3/3)" in clean["check_pitfalls"]
    assert "LoRA 층 14개 전체에서" in clean["check_merge_deltas"]
    assert "모델 8개 모두 두 작업에서 평가했고" in clean["describe_results"]
    assert "파라미터 688,896개" in clean["describe_saved_model"]
    assert "어댑터가 바꾼 가중치 행렬 14개" in clean["check_merged_weights"]
    assert "나머지 텐서 10개: 원본과 같은 값입니다." in clean["check_merged_weights"]


# ----------------------------------------------------------------------------- data
def test_choose_sources_takes_the_named_ones_or_the_largest():
    counts = Counter({"code": 40, "math": 75, "chat": 75, "misc": 3})
    assert merge_lab.choose_sources(counts, "code", "math") == ("code", "math", False)
    assert merge_lab.choose_sources(counts, "", "") == ("chat", "math", True)  # ties broken by name
    assert merge_lab.choose_sources(counts, "code", "") == ("code", "chat", True)
    assert merge_lab.choose_sources(counts, "", "chat") == ("math", "chat", True)
    with pytest.raises(LabError, match="poetry") as error:
        merge_lab.choose_sources(counts, "poetry", "math")
    assert "math (75)" in error.value.ko  # the message lists the sources there are
    with pytest.raises(LabError):
        merge_lab.choose_sources(counts, "math", "math")
    with pytest.raises(LabError):
        merge_lab.choose_sources(Counter({"only": 10}), "", "")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def chat(i: int, source: str | None) -> dict:
    row = {"conversations": [{"from": "human", "value": f"question {i}"}, {"from": "gpt", "value": f"answer {i}"}]}
    return row if source is None else {**row, "source": source}


def test_load_task_rows_splits_each_source_and_stops_on_too_few_rows(tmp_path, tiny_model_dir):
    import dataclasses

    rows = [chat(i, "x") for i in range(30)] + [chat(100 + i, "y") for i in range(12)]
    rows.append(chat(3, "y"))  # the same conversation as a "x" row: may not be held out for y if x trains on it
    recipe = dataclasses.replace(smoke_recipe(LAB, tiny_model_dir), dataset=str(write_jsonl(tmp_path / "d.jsonl", rows)),
                                 source_a="x", source_b="y", n_rows=20, eval_rows=5)
    data = merge_lab.load_task_rows(recipe)
    assert len(data.train["a"]) == 15 and len(data.train["b"]) == 8
    assert merge_lab.describe_tasks(data, 5) == {"a": (15, len(data.held_out["a"])), "b": (8, len(data.held_out["b"]))}
    with pytest.raises(LabError, match="EVAL_ROWS"):
        merge_lab.load_task_rows(dataclasses.replace(recipe, eval_rows=11))
    no_source = write_jsonl(tmp_path / "n.jsonl", [chat(i, None) for i in range(10)])
    with pytest.raises(LabError, match="source"):
        merge_lab.load_task_rows(dataclasses.replace(recipe, dataset=str(no_source)))


def test_describe_tasks_catches_a_held_out_row_that_trains(lab4_cpu_run):
    data = lab4_cpu_run.data
    leaky = merge_lab.TaskData(data.counts, data.sources, data.auto, dict(data.train),
                               {"a": data.train["b"].select([0]), "b": data.held_out["b"]})
    with pytest.raises(AssertionError, match="held-out conversation of task a"):
        merge_lab.describe_tasks(leaky, 10)


def test_describe_sources_catches_the_same_source_twice(lab4_cpu_run):
    data = lab4_cpu_run.data
    merge_lab.describe_sources(data)
    same = merge_lab.TaskData(data.counts, {"a": "synthetic-math", "b": "synthetic-math"}, False, data.train,
                              data.held_out)
    with pytest.raises(AssertionError):
        merge_lab.describe_sources(same)


# ----------------------------------------------------------------------------- merging, against PEFT
def test_add_merge_refuses_what_peft_would_skip_or_break(model_ab):
    model, recipe = model_ab
    merge_lab.add_merge(model, "cat", [A, B], [1.0, 1.0], "cat")
    with pytest.raises(ValueError, match="exists"):
        merge_lab.add_merge(model, "cat", [A, B], [1.0, 1.0], "linear")
    with pytest.raises(ValueError, match="needs density"):
        merge_lab.add_merge(model, "t", [A, B], [1.0, 1.0], "ties")
    with pytest.raises(ValueError, match="ignored"):
        merge_lab.add_merge(model, "l", [A, B], [1.0, 1.0], "linear", density=0.5)
    # PEFT fails half-way on a negative density (prune raises) after registering the adapter: removed again
    with pytest.raises(ValueError, match="Density"):
        merge_lab.add_merge(model, "bad", [A, B], [1.0, 1.0], "ties", density=-0.5)
    assert "bad" not in model.peft_config and all("bad" not in l.lora_A for l in lora_layers(model).values())
    assert model.active_adapter == A  # never activated
    merge_lab.activate(model, "cat")
    assert all(list(layer.active_adapters) == ["cat"] for layer in lora_layers(model).values())


def test_check_pitfalls_shows_the_three_and_leaves_the_model_as_it_was(model_ab, capsys):
    model, recipe = model_ab
    before = set(model.peft_config)
    found = merge_lab.check_pitfalls(model, [A, B], 1.0, recipe.merge_density)
    assert found == {"skipped_silently": True, "activated": False, "left_empty": True}
    assert set(model.peft_config) == before and model.active_adapter == A
    assert "TypeError" in capsys.readouterr().out


def test_check_pitfalls_fails_if_peft_starts_activating_merges(model_ab, monkeypatch):
    model, recipe = model_ab
    original = model.add_weighted_adapter

    def activating(adapters, weights, adapter_name, **kwargs):
        original(adapters, weights, adapter_name, **kwargs)
        model.set_adapter(adapter_name)

    monkeypatch.setattr(model, "add_weighted_adapter", activating)
    with pytest.raises(AssertionError, match="activates the merge"):
        merge_lab.check_pitfalls(model, [A, B], 1.0, recipe.merge_density)


def test_merge_deltas_cat_is_exact_and_linear_carries_the_cross_terms(model_ab):
    model, _ = model_ab
    weights = [0.7, 1.3]
    merge_lab.add_merge(model, "cat", [A, B], weights, "cat")
    merge_lab.add_merge(model, "linear", [A, B], weights, "linear")
    found = merge_lab.check_merge_deltas(model, [A, B], weights, "cat", "linear")
    assert found["cat_error"] < 1e-6 and found["identity_error"] < 1e-5 and found["cross_share"] > 0.1
    # the cross-term of one layer, written out, against PEFT's own get_delta_weight
    layer = next(iter(lora_layers(model).values()))
    (a1, b1, s1), (a2, b2, s2) = merge_lab.factors(layer, A), merge_lab.factors(layer, B)
    wanted = weights[0] * s1 * b1 @ a1 + weights[1] * s2 * b2 @ a2
    cross = math.sqrt(weights[0] * s1 * weights[1] * s2) * (b1 @ a2 + b2 @ a1)
    assert torch.allclose(layer.get_delta_weight("linear").float(), wanted + cross, atol=1e-6)
    # a "cat" that is not one: caught
    with pytest.raises(AssertionError, match="cat merge"):
        merge_lab.check_merge_deltas(model, [A, B], weights, "linear", "linear")


def test_hand_merge_equals_peft_cat_with_the_same_weights(model_ab):
    model, _ = model_ab
    lambdas = [0.5, 0.5]
    merge_lab.add_hand_merge(model, "hand", [A, B], lambdas)
    merge_lab.add_merge(model, "cat_half", [A, B], lambdas, "cat")
    assert model.active_adapter == A  # not activated
    for layer in lora_layers(model).values():
        assert layer.r["hand"] == layer.r[A] + layer.r[B] and layer.scaling["hand"] == 1.0
        assert torch.allclose(layer.get_delta_weight("hand"), layer.get_delta_weight("cat_half"), atol=1e-6)
        dense = mg.task_arithmetic([layer.get_delta_weight(A), layer.get_delta_weight(B)], lambdas)
        assert torch.allclose(layer.get_delta_weight("hand"), dense, atol=1e-6)
    merge_lab.add_merge(model, "cat", [A, B], [1.0, 1.0], "cat")
    assert merge_lab.check_hand_merge(model, "hand", [A, B], lambdas, "cat", [1.0, 1.0])["cat_error"] < 1e-6
    with pytest.raises(AssertionError, match="task-arithmetic"):
        merge_lab.check_hand_merge(model, "hand", [A, B], [0.5, 0.6], "cat", [1.0, 1.0])
    with pytest.raises(ValueError):
        merge_lab.add_hand_merge(model, "hand", [A, B], lambdas)


def test_adapter_delta_is_peft_delta_in_float32(model_ab):
    model, _ = model_ab
    layer = next(iter(lora_layers(model).values()))
    assert torch.allclose(merge_lab.adapter_delta(layer, A), layer.get_delta_weight(A).float(), atol=1e-7)


# ----------------------------------------------------------------------------- evaluation reports
def test_describe_results_needs_every_model_and_finite_losses():
    results = {"base": {"a": 2.0, "b": 2.5}, "m": {"a": 1.5, "b": 2.0}}
    labels = {"base": "본체", "m": "병합"}
    merge_lab.describe_results(results, labels)
    with pytest.raises(AssertionError, match="finite"):
        merge_lab.describe_results({**results, "m": {"a": float("nan"), "b": 1.0}}, labels)
    with pytest.raises(AssertionError, match="not evaluated"):
        merge_lab.describe_results({**results, "n": {"a": 1.0, "b": 1.0}}, labels)
    assert merge_lab.best_merge({**results, "n": {"a": 1.0, "b": 1.9}}, ["m", "n"]) == "n"
    assert merge_lab.eval_losses({"eval_a_loss": 1.5, "eval_b_loss": 2, "epoch": 0}) == {"a": 1.5, "b": 2.0}


# ----------------------------------------------------------------------------- deploying
def test_save_adapter_finds_peft_subfolder(model_ab, tmp_path):
    model, _ = model_ab
    assert merge_lab.save_adapter(model, B, tmp_path / "one") == tmp_path / "one" / B
    assert merge_lab.save_adapter(model, A, tmp_path / "two") == tmp_path / "two"


def test_fetch_base_16bit_keeps_a_local_folder(tiny_model_dir):
    recipe = smoke_recipe(LAB, tiny_model_dir)
    assert merge_lab.fetch_base_16bit(recipe) == Path(recipe.model_16bit)


def test_describe_saved_model_catches_lora_tensors_quantization_and_a_wrong_count(lab4_cpu_run, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    good = lab4_cpu_run.merged_dir
    n = lab4_cpu_run.compared["reloaded_parameters"]
    assert merge_lab.describe_saved_model(good, n)["parameters"] == n
    with pytest.raises(AssertionError, match="differ"):
        merge_lab.describe_saved_model(good, n + 1)
    quantized = Path(shutil.copytree(good, tmp_path / "q"))
    config = json.loads((quantized / "config.json").read_text())
    (quantized / "config.json").write_text(json.dumps({**config, "quantization_config": {"load_in_4bit": True}}))
    with pytest.raises(AssertionError, match="quantized"):
        merge_lab.describe_saved_model(quantized, n)
    with_lora = Path(shutil.copytree(good, tmp_path / "l"))
    path = next(with_lora.glob("*.safetensors"))
    tensors = load_file(path)
    save_file({**tensors, "model.layers.0.self_attn.q_proj.lora_A.weight": torch.zeros(8, 128)}, path)
    with pytest.raises(AssertionError, match="LoRA"):
        merge_lab.describe_saved_model(with_lora, n)


def write_checkpoint(folder: Path, tensors: dict) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / "model.safetensors"))
    return folder


def small_merge(tmp_path, saved_dtype=torch.bfloat16, delta_size=3e-4, offset=0.0):
    """A bf16 'original' with one LoRA-targeted weight and one other tensor, an adapter whose ΔW is small
    next to bf16's grid, and the merge as Unsloth writes it: W0 + ΔW in float32, cast once to the
    saved format."""
    torch.manual_seed(0)
    name = "model.layers.0.self_attn.q_proj.weight"
    w0 = (torch.randn(64, 48) * 0.02 + offset).to(torch.bfloat16)
    norm = torch.ones(48, dtype=torch.bfloat16)
    a, b = torch.randn(4, 48) / 48**0.5, torch.randn(64, 4) * delta_size
    base = write_checkpoint(tmp_path / "base", {name: w0, "model.norm.weight": norm})
    adapter = write_checkpoint(tmp_path / "adapter", {
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": a,
        "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": b})
    (adapter / "model.safetensors").rename(adapter / "adapter_model.safetensors")
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 4, "lora_alpha": 8}))
    delta = 2.0 * (b @ a)
    merged = {name: (w0.float() + delta).to(saved_dtype), "model.norm.weight": norm.to(saved_dtype)}
    return base, adapter, merged, name, delta


def test_check_merged_weights_passes_a_true_merge_and_catches_lost_doubled_or_stray_changes(tmp_path, capsys):
    base, adapter, merged, name, delta = small_merge(tmp_path)
    good = write_checkpoint(tmp_path / "good", merged)
    found = merge_lab.check_merged_weights(base, adapter, good, device="cpu")
    assert found["changed"] == 1 and found["tensors"] == 2 and found["dtype"] == "bfloat16"
    assert found["worst_ulp"] <= 0.5 + 1e-6  # one exact rounding is at most half a step away
    assert found["kept"] > 0.9 and abs(found["kept"] - found["ideal"]) < 1e-6
    assert "ΔW를 정확히 한 번 더해" in capsys.readouterr().out
    for label, tampered, message in (
            ("lost", {**merged, name: _read(base, name)}, "rounding"),
            ("twice", {**merged, name: (_read(base, name).float() + 2 * delta).to(torch.bfloat16)}, "rounding"),
            ("norm", {**merged, "model.norm.weight": merged["model.norm.weight"] * 2}, "without LoRA"),
            ("extra", {**merged, "lm_head.weight": torch.zeros(2, 2, dtype=torch.bfloat16)}, "differ")):
        with pytest.raises(AssertionError, match=message):
            merge_lab.check_merged_weights(base, adapter, write_checkpoint(tmp_path / label, tampered), device="cpu")
    # a ΔW smaller than half a step almost everywhere: losing it stays within one rounding, the shares catch it
    base, adapter, merged, name, delta = small_merge(tmp_path / "tiny", delta_size=6e-5)
    bf16 = merge_lab.check_merged_weights(base, adapter, write_checkpoint(tmp_path / "tiny" / "good", merged),
                                          device="cpu")
    assert 0.05 < bf16["kept"] < 0.9  # bf16's grid drops a good part of a ΔW this small
    fp16 = merge_lab.check_merged_weights(base, adapter, write_checkpoint(tmp_path / "tiny" / "fp16", {
        name: (_read(base, name).float() + delta).half(), "model.norm.weight": merged["model.norm.weight"].half()}),
        device="cpu")
    assert fp16["kept"] > bf16["kept"] + 0.05  # three more mantissa bits keep more of it
    lost = write_checkpoint(tmp_path / "tiny" / "lost", {**merged, name: _read(base, name)})
    with pytest.raises(AssertionError, match="rounding|once"):
        merge_lab.check_merged_weights(base, adapter, lost, device="cpu")
    # weights far from zero, so that even a lost ΔW stays within one step: only the shares can tell
    base, adapter, merged, name, delta = small_merge(tmp_path / "far", delta_size=2e-3, offset=1.5)
    assert merge_lab.check_merged_weights(base, adapter, write_checkpoint(tmp_path / "far" / "good", merged),
                                          device="cpu")["ideal"] > 0.05
    with pytest.raises(AssertionError, match="once"):
        merge_lab.check_merged_weights(base, adapter, write_checkpoint(tmp_path / "far" / "lost", {
            **merged, name: _read(base, name)}), device="cpu")


def _read(folder: Path, name: str) -> torch.Tensor:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))[name]


def test_ulp_is_the_spacing_of_the_format():
    x = torch.tensor([1.0, 1.5, 0.03, 0.0])
    assert torch.equal(merge_lab.ulp(x, torch.bfloat16)[:2], torch.tensor([2.0**-7, 2.0**-7]))
    assert merge_lab.ulp(x, torch.float16)[2] == 2.0**-6 * 2.0**-10  # 0.03 is in [2^-6, 2^-5)
    assert 0 < merge_lab.ulp(x, torch.float32)[3] < 1e-40  # at zero: the smallest subnormal step
    assert float(torch.tensor(0.03).half()) - 0.03 <= merge_lab.ulp(x, torch.float16)[2] / 2


def test_the_fresh_python_needs_room_for_one_16bit_model(lab4_cpu_run):
    merged = lab4_cpu_run.merged_dir
    need = merge_lab.fresh_python_need_bytes(merged)
    assert need == 2 * sum(math.prod(s) for s in merge_lab.saved_tensors(merged).values()) + merge_lab.FRESH_PYTHON_MARGIN
    merge_lab.check_room_for_the_fresh_python(merged, free_bytes=need)
    with pytest.raises(LabError, match="GPU 메모리가 모자랍니다") as error:
        merge_lab.check_room_for_the_fresh_python(merged, free_bytes=need - 1)
    assert "empty_cache" in error.value.ko


def test_gguf_needs_llama_cpp_or_the_network_and_disk(tmp_path, capsys):
    missing = tmp_path / "no-llama"
    offline = merge_lab.gguf_problems(tmp_path, 1_000, online=False, llama_cpp=missing)
    assert len(offline) == 1 and "llama.cpp" in offline[0][0]
    built = tmp_path / "llama.cpp"
    built.mkdir()
    (built / "llama-quantize").write_text("")
    assert merge_lab.gguf_problems(tmp_path, 1_000, online=False, llama_cpp=built) == []
    huge = merge_lab.gguf_problems(tmp_path / "not" / "yet", 10**15, online=False, llama_cpp=built)
    assert len(huge) == 1 and "디스크" in huge[0][0]
    assert merge_lab.export_gguf(None, None, tmp_path, "", 1, online=False) == []
    assert "건너뜁니다" in capsys.readouterr().out
    with pytest.raises(LabError, match="GGUF") as error:
        merge_lab.export_gguf(None, None, tmp_path, "q4_k_m", 10**15, online=False)
    assert "디스크" in error.value.ko and "GGUF_QUANT" in error.value.ko
