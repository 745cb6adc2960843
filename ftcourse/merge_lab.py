"""Lab 4's steps: two adapters trained on two sources of the data, merged, evaluated, and shipped.

The merges are PEFT's `add_weighted_adapter` and one done by hand with chapter 4's code
(`ftcourse.merging`). PEFT leaves three things to you, and each has a helper or a report here:

- a merge whose name already exists is skipped without a word (peft 0.21.2,
  `LoraModel.add_weighted_adapter`: `if adapter_name in list(self.peft_config.keys()): return`);
- the new adapter is not activated: `set_adapter` is yours to call (`activate`);
- the pruning types (ties, dare_ties, ...) need `density`; without it PEFT fails only after it has
  registered the new adapter, which stays behind with ΔW = 0, so calling again with a density is
  skipped by the first rule (`add_merge` checks before PEFT runs and cleans up if PEFT fails).

Steps do something and return it; reports (`describe_*`, `check_*`) print facts in a fixed format
and assert what must hold (a lab calls each in a cell marked `# NBVAL_CHECK_OUTPUT`).
tests/test_merge_lab.py and tests/cpu_lab_4.py run all of it on the tiny Qwen3 in 4 bit on the CPU.

Like `ftcourse.steps`, nothing here imports Unsloth, TRL or transformers at module level. Run as
`python -m ftcourse.merge_lab '<json>'`, it reloads a saved model in a fresh Python (no Unsloth
patches), as a server would (`compare_in_fresh_python`).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from . import merging as mg
from .adapters import lora_delta, lora_layers
from .chat import validate_rows
from .errors import LabError
from .paths import REPO_ROOT
from .recipes import MergeRecipe, shown
from .steps import conversation_key, size_text, split_rows

TASKS = ("a", "b")  # the two tasks; trainer.evaluate() reports eval_a_loss and eval_b_loss
BASE = "base"  # the row of the base model (adapters switched off) in evaluation results
PRUNING_TYPES = ("ties", "ties_svd", "dare_ties", "dare_linear", "dare_ties_svd", "dare_linear_svd",
                 "magnitude_prune", "magnitude_prune_svd")
EXACT = 1e-2  # "equal" for ΔW rebuilt from LoRA factors that may be stored in 16 bit


# ----------------------------------------------------------------------------- data
@dataclass
class TaskData:
    """The rows of the two tasks, each split into training and held-out rows."""

    counts: Counter           # rows per source in the whole dataset
    sources: dict             # task -> source value
    auto: bool                # the sources were picked by size, not named in the recipe
    train: dict               # task -> datasets.Dataset
    held_out: dict            # task -> datasets.Dataset


def choose_sources(counts: Counter, source_a: str, source_b: str) -> tuple[str, str, bool]:
    """The two sources to train on: the recipe's names, or ("" = auto) the largest ones.

    A named source that is not in the data stops the lab with the list of sources there are.
    Taught in lab 4, section 1.
    """
    by_size = sorted(counts, key=lambda s: (-counts[s], s))
    listed = ", ".join(f"{s} ({counts[s]:,})" for s in by_size)
    for name in (source_a, source_b):
        if name and name not in counts:
            raise LabError(f"데이터에 source '{name}'이(가) 없습니다. 있는 source(행 수): {listed}. "
                           "SOURCE_A, SOURCE_B를 이 가운데서 고르거나 \"\"(자동)로 두세요.",
                           f"Source '{name}' is not in the data; sources there are: {listed}.")
    if len(counts) < 2:
        raise LabError(f"source가 {len(counts)}가지뿐이라 두 작업으로 나눌 수 없습니다.",
                       "The data has fewer than two sources.")
    a = source_a or next(s for s in by_size if s != source_b)
    b = source_b or next(s for s in by_size if s != a)
    if a == b:
        raise LabError(f"두 어댑터가 같은 source '{a}'로 학습하게 됩니다. 서로 다른 source를 고르세요.",
                       f"Both adapters would train on source '{a}'.")
    return a, b, not (source_a and source_b)


def load_task_rows(recipe: MergeRecipe) -> TaskData:
    """The whole dataset, cut by `source` into two tasks: for each, the rows of that source shuffled
    with the recipe's seed, the first `n_rows` kept, every row validated, and the last `eval_rows`
    held out (`steps.split_rows`). A held-out row whose conversation is also a training row of the
    other task is dropped too, so each held-out set is text no adapter trained on.
    Taught in lab 4, section 1.
    """
    from datasets import load_dataset

    if Path(recipe.dataset).is_absolute():
        rows = load_dataset("json", data_files=recipe.dataset, split="train")
    else:
        rows = load_dataset(recipe.dataset, split="train")
    if "source" not in rows.column_names:
        raise LabError(f"{shown(recipe.dataset)}에 source 열이 없어 작업을 나눌 수 없습니다.",
                       "The dataset has no `source` column.")
    column = rows["source"]
    counts = Counter(column)
    a, b, auto = choose_sources(counts, recipe.source_a, recipe.source_b)
    sources = dict(zip(TASKS, (a, b)))
    train, held_out = {}, {}
    for task, source in sources.items():
        subset = rows.select([i for i, s in enumerate(column) if s == source]).shuffle(seed=recipe.seed)
        subset = subset.select(range(min(recipe.n_rows, len(subset))))
        if len(subset) <= recipe.eval_rows + recipe.examples_per_step:
            raise LabError(f"source '{source}'의 행이 {len(subset)}개뿐이라 평가용 {recipe.eval_rows}행을 떼면 "
                           "학습할 행이 거의 없습니다. N_ROWS를 늘리거나 EVAL_ROWS를 줄이세요.",
                           f"Source '{source}' has too few rows ({len(subset)}) for EVAL_ROWS={recipe.eval_rows}.")
        validate_rows(subset)
        train[task], held_out[task] = split_rows(subset, recipe.eval_rows)
    for task, other in (("a", "b"), ("b", "a")):
        seen = {conversation_key(c) for c in train[other]["conversations"]}
        keep = [i for i, c in enumerate(held_out[task]["conversations"]) if conversation_key(c) not in seen]
        held_out[task] = held_out[task].select(keep)
    print(f"{shown(recipe.dataset)}: 전체 {len(rows):,}행, source {len(counts)}가지")
    return TaskData(counts=counts, sources=sources, auto=auto, train=train, held_out=held_out)


def describe_sources(data: TaskData) -> dict:
    """Report: the sources of the whole dataset with their row counts, and the two the lab trains
    on (named in the recipe or picked by size). Taught in lab 4, section 1."""
    total = sum(data.counts.values())
    print(f"전체 {total:,}행, source {len(data.counts)}가지 (행이 많은 순):")
    for source, n in sorted(data.counts.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {source}: {n:,}행")
    how = "행 수로 자동으로 고름" if data.auto else "레시피가 정함"
    print(f"작업 A = {data.sources['a']}, 작업 B = {data.sources['b']} ({how})")
    assert data.sources["a"] != data.sources["b"] and all(s in data.counts for s in data.sources.values())
    return dict(data.sources)


def describe_tasks(data: TaskData, eval_rows: int) -> dict:
    """Report: training and held-out rows of each task, and that no held-out conversation is a
    training conversation of either task. Taught in lab 4, section 1."""
    seen = {conversation_key(c) for task in TASKS for c in data.train[task]["conversations"]}
    sizes = {}
    for task in TASKS:
        shared = sum(conversation_key(c) in seen for c in data.held_out[task]["conversations"])
        print(f"작업 {task.upper()} ({data.sources[task]}): 학습 {len(data.train[task]):,}행, 평가 "
              f"{len(data.held_out[task]):,}행 (떼어 둔 {eval_rows:,}행 가운데 학습 행과 같은 대화 "
              f"{eval_rows - len(data.held_out[task])}개는 뺌)")
        assert shared == 0, f"a held-out conversation of task {task} is also a training conversation"
        assert len(data.held_out[task]) > 0, f"task {task} has no held-out rows left"
        sizes[task] = (len(data.train[task]), len(data.held_out[task]))
    print("평가 행의 대화는 어느 작업의 학습 행에도 없습니다.")
    return sizes


# ----------------------------------------------------------------------------- merging
def factors(layer, adapter: str) -> tuple[torch.Tensor, torch.Tensor, float]:
    """A (r × k), B (d × r) in float32 and the scale of one adapter in one LoRA layer."""
    return (layer.lora_A[adapter].weight.detach().float(), layer.lora_B[adapter].weight.detach().float(),
            float(layer.scaling[adapter]))


def adapter_delta(layer, adapter: str) -> torch.Tensor:
    """ΔW = scaling · B·A of one adapter in one LoRA layer, computed in float32 (a product of 16-bit
    factors computed in 16 bit would add rounding noise above rank r)."""
    a, b, s = factors(layer, adapter)
    return lora_delta(a, b, s)


def add_merge(model, name: str, sources: list[str], weights: list[float], combination: str,
              density: float | None = None) -> str:
    """PEFT's `add_weighted_adapter`, with the checks it leaves to you. Returns the new name.

    Refuses a name that exists (PEFT would skip the call silently), a pruning type without
    `density` and a `density` that a non-pruning type would ignore (PEFT would fail half-way or
    ignore it), and removes the adapter PEFT leaves behind if it fails half-way. It does not
    activate the new adapter: call `activate`. Taught in lab 4, section 3.
    """
    if name in model.peft_config:
        raise ValueError(f"an adapter called {name!r} exists; PEFT would skip this merge without a word")
    if combination in PRUNING_TYPES and density is None:
        raise ValueError(f"combination_type={combination!r} prunes: it needs density (0 < density <= 1)")
    if combination not in PRUNING_TYPES and density is not None:
        raise ValueError(f"combination_type={combination!r} does not prune: density would be ignored")
    try:
        model.add_weighted_adapter(list(sources), list(weights), name, combination_type=combination, density=density)
    except Exception:
        if name in model.peft_config:  # PEFT registers the adapter before it merges the weights
            model.delete_adapter(name)
        raise
    assert name in model.peft_config, f"PEFT did not add {name!r}"
    return name


def activate(model, name: str) -> None:
    """`set_adapter(name)` and check that every LoRA layer now uses that adapter and no other.
    Taught in lab 4, section 3."""
    model.set_adapter(name)
    wrong = [n for n, layer in lora_layers(model).items() if list(layer.active_adapters) != [name]]
    assert not wrong, f"{len(wrong)} LoRA layers do not use {name!r} after set_adapter"


def add_hand_merge(model, name: str, sources: list[str], lambdas: list[float]) -> str:
    """Task arithmetic on ΔW by hand, ΔW = Σ λ_i ΔW_i, written exactly as one LoRA adapter.

    A sum of low-rank products is itself a product: stacking the A's (each times λ_i·s_i) and
    putting the B's side by side (chapter 4's `merging.lora_cat`) gives B·A = Σ λ_i s_i B_i A_i with
    rank Σ r_i. The adapter is added with the first source's settings and r = α = Σ r_i, so its
    scale is 1, as PEFT does for its own merges. Not activated. Taught in lab 4, section 4.
    """
    if name in model.peft_config:
        raise ValueError(f"an adapter called {name!r} exists")
    rank = sum(model.peft_config[s].r for s in sources)
    config = dataclasses.replace(model.peft_config[sources[0]], r=rank, lora_alpha=rank,
                                 rank_pattern={}, alpha_pattern={})
    model.add_adapter(name, config)
    with torch.no_grad():
        for layer in lora_layers(model).values():
            parts = [factors(layer, s) for s in sources]
            a, b = mg.lora_cat([p[0] for p in parts], [p[1] for p in parts], lambdas, [p[2] for p in parts])
            layer.lora_A[name].weight.copy_(a)
            layer.lora_B[name].weight.copy_(b)
            assert math.isclose(float(layer.scaling[name]), 1.0), "the hand merge's scale must be 1"
    return name


def check_pitfalls(model, sources: list[str], weight: float, density: float) -> dict:
    """Report: the three things `add_weighted_adapter` leaves to you, shown on the loaded model with
    throw-away adapters (removed at the end), and `add_merge` refusing each one. Asserts PEFT still
    behaves as taught. Taught in lab 4, section 3."""
    active = model.active_adapter
    first = next(iter(lora_layers(model).values()))
    weights = [weight] * len(sources)
    model.add_weighted_adapter(sources, weights, "probe", combination_type="linear")
    r, before = first.r["probe"], [t.clone() for t in factors(first, "probe")[:2]]
    # 1. the same name again, another method: nothing happens, no error
    returned = model.add_weighted_adapter(sources, weights, "probe", combination_type="cat")
    same = first.r["probe"] == r and all(torch.equal(x, y) for x, y in zip(before, factors(first, "probe")[:2]))
    print("(1) 이미 있는 이름 'probe'로 cat 병합을 다시 부르면: 오류 없음, 반환값 "
          f"{returned}, 랭크와 가중치 {'그대로' if same else '바뀜'}")
    assert returned is None and same, "PEFT no longer skips a merge whose name exists: update lab 4"
    # 2. the new adapter is not the active one
    print(f"(2) 병합을 추가한 뒤 활성 어댑터: '{model.active_adapter}' (새 어댑터 'probe'가 아님)")
    assert model.active_adapter == active, "add_weighted_adapter now activates the merge: update lab 4"
    # 3. a pruning type without density: fails after registering the adapter, which stays, empty
    try:
        model.add_weighted_adapter(sources, weights, "probe_ties", combination_type="ties")
        error = None
    except Exception as e:  # noqa: BLE001  (PEFT 0.21.2: TypeError from `density >= 1`)
        error = type(e).__name__
    left = "probe_ties" in model.peft_config
    empty = left and all(float(adapter_delta(layer, "probe_ties").abs().max()) == 0
                         for layer in lora_layers(model).values())
    print(f"(3) density 없이 ties: {error}; 그런데 'probe_ties'가 "
          f"{'등록되어 남음(모든 층에서 ΔW = 0)' if empty else '남지 않음'}")
    assert error is not None and left and empty, "PEFT's ties without density behaves differently: update lab 4"
    # add_merge refuses all three before PEFT runs
    names = set(model.peft_config)
    refused = 0
    for name, combination, given in (("probe", "linear", None), ("probe_new", "ties", None),
                                     ("probe_new", "linear", density)):
        try:
            add_merge(model, name, sources, weights, combination, density=given)
        except ValueError:
            refused += 1
    print(f"add_merge는 세 경우를 모두 PEFT를 부르기 전에 거절합니다 ({refused}/3)")
    assert refused == 3 and set(model.peft_config) == names
    for probe in ("probe", "probe_ties"):
        model.delete_adapter(probe)
    if model.active_adapter != active:
        model.set_adapter(active)
    assert "probe" not in model.peft_config and "probe_ties" not in model.peft_config
    return {"skipped_silently": same, "activated": False, "left_empty": empty}


def check_merge_deltas(model, sources: list[str], weights: list[float], cat: str, linear: str) -> dict:
    """Report: over every LoRA layer, PEFT's `cat` merge is exactly Σ w_i ΔW_i, and its `linear` merge
    is that plus the cross-terms √(w_a s_a w_b s_b)·(B_a A_b + B_b A_a), whose size next to the wanted
    sum is printed. Norms are summed over all layers. Taught in lab 4, section 4."""
    sq = dict(cat=0.0, wanted=0.0, identity=0.0, cross=0.0)
    layers = lora_layers(model)
    for layer in layers.values():
        (a1, b1, s1), (a2, b2, s2) = (factors(layer, s) for s in sources)
        wanted = mg.task_arithmetic([lora_delta(a1, b1, s1), lora_delta(a2, b2, s2)], weights)
        cross = math.sqrt(weights[0] * s1 * weights[1] * s2) * (b1 @ a2 + b2 @ a1)
        sq["cat"] += float((adapter_delta(layer, cat) - wanted).pow(2).sum())
        sq["identity"] += float((adapter_delta(layer, linear) - wanted - cross).pow(2).sum())
        sq["wanted"] += float(wanted.pow(2).sum())
        sq["cross"] += float(cross.pow(2).sum())
    cat_error = math.sqrt(sq["cat"] / sq["wanted"])
    identity_error = math.sqrt(sq["identity"] / sq["cross"])
    cross_share = math.sqrt(sq["cross"] / sq["wanted"])
    print(f"LoRA 층 {len(layers)}개 전체에서, 원하는 값 Σ w·ΔW와 견주어:")
    print(f"  {cat}: 상대 오차 {cat_error:.1e} (같음)")
    print(f"  {linear}: 차이가 교차항 √(w_a s_a w_b s_b)(B_a A_b + B_b A_a)와 같음 (상대 오차 {identity_error:.1e}),"
          f" 교차항의 크기는 원하는 값의 {cross_share:.2f}배")
    assert cat_error < EXACT, "the cat merge is not the weighted sum of the adapters' ΔW"
    assert identity_error < EXACT, "the linear merge differs from the sum by something else than the cross-terms"
    assert cross_share > 0.05, "the cross-terms are negligible: were both adapters trained?"
    return {"cat_error": cat_error, "identity_error": identity_error, "cross_share": cross_share}


def check_hand_merge(model, hand: str, sources: list[str], lambdas: list[float], cat: str,
                     cat_weights: list[float]) -> dict:
    """Report: over every LoRA layer, the hand-made adapter's ΔW equals task arithmetic on the dense
    ΔW's (`merging.task_arithmetic`), and, with equal weights, PEFT's cat merge scaled by λ/w.
    Taught in lab 4, section 4."""
    scale = lambdas[0] / cat_weights[0]
    comparable = all(math.isclose(lam / w, scale) for lam, w in zip(lambdas, cat_weights))
    sq = dict(hand=0.0, cat=0.0, wanted=0.0)
    layers = lora_layers(model)
    for layer in layers.values():
        wanted = mg.task_arithmetic([adapter_delta(layer, s) for s in sources], lambdas)
        mine = adapter_delta(layer, hand)
        sq["hand"] += float((mine - wanted).pow(2).sum())
        sq["wanted"] += float(wanted.pow(2).sum())
        if comparable:
            sq["cat"] += float((mine - scale * adapter_delta(layer, cat)).pow(2).sum())
    hand_error = math.sqrt(sq["hand"] / sq["wanted"])
    print(f"손으로 만든 '{hand}': LoRA 층 {len(layers)}개 전체에서 ΔW = Σ λ·ΔW_i (λ = {lambdas}), "
          f"상대 오차 {hand_error:.1e}")
    assert hand_error < EXACT, "the hand-made adapter is not the task-arithmetic sum"
    cat_error = None
    if comparable:
        cat_error = math.sqrt(sq["cat"] / sq["wanted"])
        print(f"  = PEFT '{cat}'의 ΔW × {scale:g} (상대 오차 {cat_error:.1e})")
        assert cat_error < EXACT, "the hand merge is not the cat merge rescaled"
    return {"hand_error": hand_error, "cat_error": cat_error}


def layer_snapshot(model, layer_name: str, names: list[str]) -> dict:
    """A, B (float32, on the CPU) and the scale of each named adapter in one layer, kept for later."""
    layer = lora_layers(model)[layer_name]
    return {name: tuple(t.cpu() if torch.is_tensor(t) else t for t in factors(layer, name)) for name in names}


# ----------------------------------------------------------------------------- evaluation
def eval_losses(metrics: dict, tasks=TASKS) -> dict:
    """{task: loss} from `trainer.evaluate()` on a dict of evaluation sets keyed by task."""
    return {task: float(metrics[f"eval_{task}_loss"]) for task in tasks}


def evaluate_adapters(trainer, model, names: list[str]) -> dict:
    """Held-out loss of the base model (every adapter off) and of each named adapter, on every
    evaluation set of the trainer. The adapter is activated with `activate` before each run.
    Taught in lab 4, section 5."""
    tasks = tuple(trainer.eval_dataset)
    with model.disable_adapter():
        results = {BASE: eval_losses(trainer.evaluate(), tasks)}
    for name in names:
        activate(model, name)
        results[name] = eval_losses(trainer.evaluate(), tasks)
    return results


def describe_results(results: dict, labels: dict) -> None:
    """Report: the held-out loss of every model on both tasks (`labels`: name -> what to print),
    and that every loss is finite. Taught in lab 4, section 5."""
    for name, label in labels.items():
        losses = results[name]
        print(f"{label}: A {losses['a']:.3f}, B {losses['b']:.3f}, 평균 {(losses['a'] + losses['b']) / 2:.3f}")
        assert all(math.isfinite(v) for v in losses.values()), f"{name}: a loss is not finite"
    assert set(labels) == set(results), "a model was not evaluated"
    print(f"모델 {len(results)}개 모두 두 작업에서 평가했고 손실이 모두 유한합니다.")


def best_merge(results: dict, merges: list[str]) -> str:
    """The merge with the lowest mean held-out loss over the two tasks."""
    return min(merges, key=lambda m: (sum(results[m].values()) / len(results[m]), m))


# ----------------------------------------------------------------------------- deploying
def save_adapter(model, name: str, directory: Path) -> Path:
    """Save one adapter of a multi-adapter model; returns the folder that holds it (PEFT puts an
    adapter not called "default" in a subfolder of that name)."""
    model.save_pretrained(str(directory), selected_adapters=[name])
    folder = Path(directory) if name == "default" else Path(directory) / name
    assert (folder / "adapter_config.json").exists(), f"no adapter_config.json in {folder}"
    return folder


def fetch_base_16bit(recipe: MergeRecipe) -> Path:
    """The folder of the model's 16-bit original: the recipe's folder as it is (smoke), or the hub
    repository downloaded into the Hugging Face cache (full). Unsloth's `save_pretrained_merged`
    then copies its shards from the cache instead of downloading them again, and the comparison in
    a fresh Python loads it from there. Taught in lab 4, section 6."""
    if Path(recipe.model_16bit).is_absolute():
        return Path(recipe.model_16bit)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(recipe.model_16bit, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.jinja"]))


def compare_in_fresh_python(base_dir: Path, adapter_dir: Path, merged_dir: Path, text: str, prompts: list[str],
                            out_file: Path, max_new_tokens: int = 64, n_tokens: int = 128) -> dict:
    """Load the saved model with plain transformers in a new Python process (no Unsloth patches, as
    a server would), and, in the same process before it, the 16-bit original with the adapter on top
    (PEFT, not merged): the model the merge should equal. Returns both models' logits on `text` (its
    first `n_tokens` tokens), the base's logits (adapter off), their greedy answers to `prompts`, and
    the reloaded model's parameter count. Taught in lab 4, section 7."""
    check_room_for_the_fresh_python(merged_dir)
    args = dict(base_dir=str(base_dir), adapter_dir=str(adapter_dir), merged_dir=str(merged_dir), text=text,
                prompts=list(prompts), out_file=str(out_file), max_new_tokens=max_new_tokens, n_tokens=n_tokens)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "ftcourse.merge_lab", json.dumps(args)], env=env, cwd=str(REPO_ROOT),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the fresh Python failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return torch.load(out_file, weights_only=False)


FRESH_PYTHON_MARGIN = 1.5 * 2**30  # CUDA context, activations and logits of the fresh Python, beyond its weights


def fresh_python_need_bytes(merged_dir: Path) -> int:
    """GPU memory the fresh Python needs: one model at a time in 16 bit (2 bytes per saved parameter,
    whatever the saved dtype) plus FRESH_PYTHON_MARGIN."""
    n_params = sum(math.prod(shape) for shape in saved_tensors(merged_dir).values())
    return int(2 * n_params + FRESH_PYTHON_MARGIN)


def check_room_for_the_fresh_python(merged_dir: Path, free_bytes: int | None = None) -> None:
    """Stop with a clear message when the GPU cannot hold the 16-bit model next to what this notebook
    still holds (free_bytes: measured with torch.cuda.mem_get_info when None; nothing to check
    without CUDA). Taught in lab 4, section 7."""
    if free_bytes is None:
        if not torch.cuda.is_available():
            return
        free_bytes = torch.cuda.mem_get_info()[0]
    need = fresh_python_need_bytes(merged_dir)
    if free_bytes < need:
        raise LabError(f"새 파이썬에서 16비트 모델을 올릴 GPU 메모리가 모자랍니다: 약 {size_text(need)}가 필요한데 "
                       f"{size_text(free_bytes)}만 비어 있습니다. 이 노트북이 아직 모델을 붙들고 있는지 보세요"
                       "(del, gc.collect(), torch.cuda.empty_cache()). 그래도 모자라면 런타임을 다시 시작하세요.",
                       f"Not enough GPU memory for the fresh Python: about {size_text(need)} needed, "
                       f"{size_text(free_bytes)} free.")


def _reload_and_answer(args: dict) -> None:
    """The fresh Python's work (see `compare_in_fresh_python`)."""
    import gc

    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .steps import answer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    # bf16 where the GPU computes in it (Ampere and newer), fp16 on a T4; float32 on the CPU
    dtype = ((torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16)
             if device == "cuda" else torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(args["merged_dir"], local_files_only=True)
    ids = tokenizer(args["text"], return_tensors="pt").input_ids[:, : args["n_tokens"]].to(device)

    def logits(model):
        with torch.no_grad():
            return model(input_ids=ids).logits.float().cpu()

    def load(path):
        # straight onto the device, shard by shard: no whole copy in CPU memory (Colab's RAM is small)
        return AutoModelForCausalLM.from_pretrained(path, dtype=dtype, device_map=device, local_files_only=True).eval()

    reference = PeftModel.from_pretrained(load(args["base_dir"]), args["adapter_dir"]).eval()
    out = {"reference_logits": logits(reference),
           "reference_answers": answer(reference, tokenizer, args["prompts"], max_new_tokens=args["max_new_tokens"])}
    with reference.disable_adapter():
        out["base_logits"] = logits(reference)
    del reference
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    reloaded = load(args["merged_dir"])
    out["reloaded_logits"] = logits(reloaded)
    out["reloaded_answers"] = answer(reloaded, tokenizer, args["prompts"], max_new_tokens=args["max_new_tokens"])
    out["reloaded_parameters"] = sum(p.numel() for p in reloaded.parameters())
    out["dtype"] = str(dtype).removeprefix("torch.")
    torch.save(out, args["out_file"])


def saved_tensors(folder: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape, from the headers of the safetensors files in a folder."""
    from safetensors import safe_open

    shapes = {}
    for path in sorted(Path(folder).glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as f:
            shapes.update({name: tuple(f.get_slice(name).get_shape()) for name in f.keys()})
    return shapes


def describe_saved_model(folder: Path, reloaded_parameters: int) -> dict:
    """Report: what the merged save holds: tensors and parameters (the tied output layer counted
    once, as the model counts it), no LoRA tensor and no quantization settings, the size on disk;
    asserts it is the whole model in 16 (or 32) bit, with as many parameters as the model that was
    loaded back from it. Taught in lab 4, section 7."""
    config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    shapes = saved_tensors(folder)
    assert shapes, f"no safetensors files in {folder}"
    tied = bool(config.get("tie_word_embeddings"))
    n_params = sum(math.prod(s) for name, s in shapes.items() if not (tied and name == "lm_head.weight"))
    lora = [name for name in shapes if "lora_" in name]
    size = sum(p.stat().st_size for p in Path(folder).glob("*.safetensors"))
    print(f"저장된 텐서 {len(shapes):,}개, 파라미터 {n_params:,}개, safetensors {size_text(size)}")
    print(f"LoRA 텐서 {len(lora)}개, 양자화 설정(quantization_config) {'있음' if 'quantization_config' in config else '없음'}")
    assert not lora, "the saved model still holds LoRA tensors: the adapter was not merged"
    assert "quantization_config" not in config, "the saved model is quantized, not a 16-bit merge"
    assert n_params == reloaded_parameters, "the saved parameters differ from the model loaded back"
    print(f"다시 불러온 모델의 파라미터 {reloaded_parameters:,}개와 같습니다: 어댑터 없는 모델 하나입니다.")
    return {"tensors": len(shapes), "parameters": n_params, "bytes": size}


def _tensor_files(folder: Path) -> dict[str, Path]:
    """Tensor name -> the safetensors file of a folder that holds it."""
    from safetensors import safe_open

    where = {}
    for path in sorted(Path(folder).glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as f:
            where.update({name: path for name in f.keys()})
    return where


def _read(where: dict[str, Path], name: str) -> torch.Tensor:
    from safetensors import safe_open

    with safe_open(str(where[name]), framework="pt") as f:
        return f.get_tensor(name)


def ulp(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The spacing of `dtype`'s numbers around each value of x (float32): 2^(e-1)·eps for |x| in
    [2^(e-1), 2^e), and the smallest subnormal spacing near zero."""
    info = torch.finfo(dtype)
    x = x.float()
    _, exponent = torch.frexp(x)
    spacing = torch.ldexp(torch.full_like(x, info.eps), exponent - 1)
    smallest = info.tiny * info.eps
    return torch.where(x == 0, torch.full_like(x, smallest), spacing.clamp_min(smallest))


def adapter_deltas(adapter_dir: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor, float]]:
    """{weight name in the model's checkpoint: (A, B, scale)} of a saved PEFT LoRA adapter."""
    from safetensors.torch import load_file

    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text(encoding="utf-8"))
    assert not config.get("rank_pattern") and not config.get("alpha_pattern"), "per-layer ranks are not handled here"
    r, alpha = config["r"], config["lora_alpha"]
    scale = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
    tensors = load_file(str(Path(adapter_dir) / "adapter_model.safetensors"))
    deltas = {}
    for key, a in tensors.items():
        if key.endswith(".lora_A.weight"):
            module = key.removesuffix(".lora_A.weight").removeprefix("base_model.model.")
            deltas[module + ".weight"] = (a, tensors[key.replace(".lora_A.", ".lora_B.")], scale)
    return deltas


def check_merged_weights(base_dir: Path, adapter_dir: Path, merged_dir: Path, device: str | None = None) -> dict:
    """Report: the saved merge read back tensor by tensor, next to the 16-bit original and the adapter.

    Every weight the adapter changes must be W0 + ΔW rounded once to the saved format (the saved
    value within one unit in the last place, ulp, of the exact sum, the ulp taken at the size of
    |W0| + |ΔW|); every other tensor must equal the
    original in that format. How much of ΔW the saved weights keep is measured as the share of ΔW
    along its own direction, ⟨W_saved − W0, ΔW⟩ / ‖ΔW‖² over all changed weights, and must equal what
    an exact rounding keeps: a merge that lost ΔW, or added it twice, would not. A format whose grid
    is coarse next to a small ΔW (bf16) keeps less of it. Returns the counts, both shares and the
    saved format. Taught in lab 4, section 7.
    """
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    base, merged = _tensor_files(base_dir), _tensor_files(merged_dir)
    assert base.keys() == merged.keys(), (f"the saved tensors differ from the original's: "
                                          f"{sorted(base.keys() ^ merged.keys())[:4]}")
    deltas = adapter_deltas(adapter_dir)
    missing = set(deltas) - set(merged)
    assert not missing, f"the adapter changes weights the saved model does not have: {sorted(missing)[:4]}"
    kept, ideal, squared, worst, dtypes, same_shape = 0.0, 0.0, 0.0, 0.0, set(), True
    changed_elsewhere = []
    with torch.no_grad():
        for name in sorted(merged):
            saved, original = _read(merged, name), _read(base, name)
            dtypes.add(saved.dtype)
            same_shape &= saved.shape == original.shape
            if name not in deltas:
                if not torch.equal(saved, original.to(saved.dtype)):
                    changed_elsewhere.append(name)
                continue
            a, b, scale = deltas[name]
            w0 = original.to(device, torch.float32)
            delta = lora_delta(a.to(device, torch.float32), b.to(device, torch.float32), scale)
            exact = w0 + delta
            rounded = exact.to(saved.dtype).float()
            got = saved.to(device).float()
            # the step of the saved format at the operands' size: where W0 and ΔW nearly cancel, float32
            # rounding in the sum (ours or Unsloth's) can exceed the tiny step of the tiny result
            step = ulp(w0.abs() + delta.abs(), saved.dtype)
            worst = max(worst, float(((got - exact).abs() / step).max()))
            kept += float(((got - w0) * delta).sum())
            ideal += float(((rounded - w0) * delta).sum())
            squared += float(delta.pow(2).sum())
    if device == "cuda":
        torch.cuda.empty_cache()  # leave the room to the fresh Python that may come next
    assert squared > 0, "the adapter's ΔW is zero everywhere: nothing was trained"
    kept_share, ideal_share = kept / squared, ideal / squared
    n_changed = len(deltas)
    print(f"저장된 텐서 {len(merged):,}개: 원본과 이름과 모양이 모두 같습니다.")
    print(f"어댑터가 바꾼 가중치 행렬 {n_changed}개: 저장된 값과 W0 + ΔW의 차이는 가장 큰 곳에서도 "
          f"{worst:.2f} ulp(저장 형식의 눈금 한 칸)입니다.")
    print(f"나머지 텐서 {len(merged) - n_changed}개: 원본과 같은 값입니다.")
    print(f"저장된 가중치가 ΔW를 담은 몫 {kept_share:.1%} (ΔW를 저장 형식에 정확히 반올림하면 {ideal_share:.1%})")
    assert same_shape, "a saved tensor has another shape than the original's"
    assert not changed_elsewhere, f"tensors without LoRA changed: {changed_elsewhere[:4]}"
    assert worst <= 1.0, "a saved weight is further than one rounding from W0 + ΔW"
    assert abs(kept_share - ideal_share) <= 0.02, "the saved weights do not hold ΔW once (lost, or added twice?)"
    print("병합은 ΔW를 정확히 한 번 더해 저장 형식으로 반올림했습니다.")
    dtype = str(next(iter(dtypes))).removeprefix("torch.") if len(dtypes) == 1 else "mixed"
    return {"tensors": len(merged), "changed": n_changed, "worst_ulp": worst, "kept": kept_share,
            "ideal": ideal_share, "dtype": dtype}


# GGUF: Unsloth's save_pretrained_gguf merges again into 16 bit, converts that to a 16-bit GGUF with
# llama.cpp's converter, then quantizes it with llama-quantize; the files of every stage stay on disk
# unless the disk runs short (then Unsloth may delete the 16-bit merge once the 16-bit GGUF exists).
GGUF_BYTES_PER_PARAMETER = 5  # 16-bit merge (2) + 16-bit GGUF (2) + the quantized file (about 1 for q8_0, less below)


def llama_cpp_folder() -> Path:
    """Where Unsloth looks for (and otherwise installs) llama.cpp: $UNSLOTH_LLAMA_CPP_PATH or
    ~/.unsloth/llama.cpp (unsloth_zoo.llama_cpp.LLAMA_CPP_DEFAULT_DIR)."""
    return Path(os.environ.get("UNSLOTH_LLAMA_CPP_PATH", Path.home() / ".unsloth" / "llama.cpp"))


def gguf_problems(directory: Path, n_params: int, online: bool, llama_cpp: Path | None = None) -> list[tuple[str, str]]:
    """What stands in the way of a GGUF export here, as (Korean, English) pairs; empty if nothing.

    llama.cpp must be installed already, or the network reachable: unsloth_zoo 2026.10.7's
    `install_llama_cpp` first downloads a prebuilt llama.cpp (unslothai/llama.cpp releases) and only
    if that fails clones and compiles it, installing missing build tools itself where it can. The
    disk must hold about GGUF_BYTES_PER_PARAMETER bytes per parameter. Taught in lab 4, section 6.
    """
    problems = []
    llama_cpp = Path(llama_cpp) if llama_cpp else llama_cpp_folder()
    built = any((llama_cpp / tool).exists() for tool in ("llama-quantize", "quantize"))
    if not built and not online:
        problems.append((f"llama.cpp가 {llama_cpp}에 없고, 인터넷에 닿지 않아 내려받을 수도 없습니다.",
                         f"llama.cpp is not installed at {llama_cpp} and the network is unreachable."))
    need = GGUF_BYTES_PER_PARAMETER * n_params
    probe = Path(directory).resolve()
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < need:
        problems.append((f"디스크가 모자랍니다: 약 {size_text(need)}가 필요한데 {size_text(free)}만 비어 있습니다.",
                         f"Not enough disk: about {size_text(need)} needed, {size_text(free)} free."))
    return problems


def export_gguf(model, tokenizer, directory: Path, method: str, n_params: int, online: bool) -> list[Path]:
    """The optional GGUF export: skipped when `method` is "", else Unsloth's `save_pretrained_gguf`
    after checking what it needs (`gguf_problems`); stops with a Korean message if something is
    missing. Returns the GGUF files written. Taught in lab 4, section 6."""
    if not method:
        print("GGUF_QUANT가 비어 있어 GGUF 내보내기를 건너뜁니다. (GGUF export skipped)")
        return []
    problems = gguf_problems(directory, n_params, online)
    if problems:
        raise LabError("GGUF로 내보낼 수 없습니다:\n- " + "\n- ".join(ko for ko, _ in problems)
                       + "\nGGUF_QUANT를 \"\"로 두면 이 단계를 건너뜁니다.",
                       "Cannot export GGUF: " + "; ".join(en for _, en in problems))
    model.save_pretrained_gguf(str(directory), tokenizer, quantization_method=method)
    return sorted(Path(f"{directory}_gguf").glob("*.gguf")) + sorted(Path(directory).glob("*.gguf"))


if __name__ == "__main__":
    _reload_and_answer(json.loads(sys.argv[1]))
