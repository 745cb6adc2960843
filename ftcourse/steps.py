"""Lab steps that more than one lab uses, written once and tested on the CPU.

A lab shows the call and says in a sentence what it does; the code is here, where a test runs it on
the tiny Qwen3 loaded in 4 bit with bitsandbytes and wrapped by PEFT: the same stack that Unsloth
drives on the GPU (tests/test_steps.py). Read any of them in a lab with `steps.load_rows??`.

Two kinds of function:
- steps (`load_rows`, `chat_texts`, `lora_arguments`, `sft_config`, `answer`, ...) do something and
  return it;
- reports (`describe_*`, `check_*`) print facts in a fixed format and assert what must hold. A lab
  calls each report in a cell of its own marked `# NBVAL_CHECK_OUTPUT`, so that nbval compares
  those facts from run to run (scripts/nbval-sanitize.cfg blanks only what varies: times, memory,
  losses, paths).

Nothing here imports Unsloth, TRL, transformers or datasets at module level: a lab imports this
module after `start_lab` has imported Unsloth, which must come first.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from .chat import (
    QWEN3_INSTRUCTION_PART,
    QWEN3_RESPONSE_PART,
    ResponseMarkers,
    fully_masked_rows,
    masked_share,
    response_only_labels,
    standardize,
    validate_rows,
)
from .peft_counts import PROJECTIONS, lora_param_count
from .recipes import Recipe, shown

GiB = 1024**3


def size_text(n_bytes: float) -> str:
    """Bytes in the binary unit that reads best: 812.3 KiB, 63.1 MiB, 7.52 GiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.{2 if unit == 'GiB' else 1}f} {unit}"
    return f"{n_bytes:.0f} B"


# ----------------------------------------------------------------------------- data
def load_rows(recipe: Recipe):
    """The recipe's dataset, shuffled with its seed, cut to `n_rows`, every row validated.

    A local file (the smoke profile's synthetic sample) is read as JSON Lines; anything else is a
    hub id. Taught in lab 1, section 3.
    """
    from datasets import load_dataset

    if Path(recipe.dataset).is_absolute():
        rows = load_dataset("json", data_files=recipe.dataset, split="train")
    else:
        rows = load_dataset(recipe.dataset, split="train")
    print(f"{shown(recipe.dataset)}: 전체 {len(rows):,}행 가운데 섞어서 {min(recipe.n_rows, len(rows)):,}행을 씁니다.")
    rows = rows.shuffle(seed=recipe.seed).select(range(min(recipe.n_rows, len(rows))))
    validate_rows(rows)
    return rows


def describe_rows(rows) -> None:
    """Report: how many rows, which columns, how many sources (FineTome's subsets, or the synthetic
    sample's topics). Taught in lab 1, section 3."""
    print(f"{len(rows):,}행, 열(columns) {rows.column_names}; 모든 행이 대화 형식 검사를 통과했습니다.")
    if "source" in rows.column_names:
        print(f"출처(source) {len(set(rows['source']))}가지")


def split_rows(rows, eval_rows: int):
    """(train, held_out): the last `eval_rows` of the shuffled rows are kept aside for evaluation.

    A held-out row whose conversation also appears among the training rows (datasets do repeat
    conversations) is dropped from the held-out set, so that it measures text the model never
    trained on. Taught in lab 1, section 3 (and used again in lab 2).
    """
    if not 0 < eval_rows < len(rows):
        raise ValueError(f"eval_rows must be between 1 and {len(rows) - 1}, got {eval_rows}")
    train = rows.select(range(len(rows) - eval_rows))
    seen = {conversation_key(c) for c in train["conversations"]}
    tail = range(len(rows) - eval_rows, len(rows))
    held_out = rows.select([i for i in tail if conversation_key(rows[i]["conversations"]) not in seen])
    return train, held_out


def conversation_key(conversation) -> str:
    """The text of a conversation, turn by turn: two rows with the same key are the same example."""
    return "\n".join(f"{turn['from']}: {turn['value']}" for turn in conversation)


def describe_split(train, held_out, eval_rows: int) -> dict:
    """Report: how many rows train and how many are held out, and that no held-out conversation
    is also a training one. Taught in lab 1, section 3."""
    seen = {conversation_key(c) for c in train["conversations"]}
    shared = sum(conversation_key(c) in seen for c in held_out["conversations"])
    print(f"학습 {len(train):,}행, 평가(held-out) {len(held_out):,}행 "
          f"(떼어 둔 {eval_rows:,}행 가운데 학습 행과 똑같은 대화 {eval_rows - len(held_out)}개는 뺌)")
    assert shared == 0, "a held-out conversation is also in the training rows"
    print("평가 행의 대화는 어느 것도 학습 행에 없습니다.")
    return {"train": len(train), "held_out": len(held_out)}


def check_heldout(before: float, after: float) -> None:
    """Report: the held-out loss was measured before and after training, both finite, and training
    changed it (an evaluation that ignores the adapter would give the same number twice).
    Taught in lab 1, sections 5 and 6."""
    print(f"평가 손실: 학습 전 {before:.3f}, 학습 후 {after:.3f}")
    assert math.isfinite(before) and math.isfinite(after), "a held-out loss is not finite"
    assert before != after, "the held-out loss did not change: did the evaluation use the trained adapter?"
    print("두 평가 손실이 모두 유한하고, 학습이 평가 손실을 바꾸었습니다.")


FAULTS = {
    "unknown role": lambda row: row["conversations"][1].update({"from": "bot"}),
    "empty answer": lambda row: row["conversations"][-1].update({"value": "  "}),
    "no answer": lambda row: row.update({"conversations": row["conversations"][:1]}),
    "missing value": lambda row: row["conversations"][0].pop("value"),
}


class AnswerKey:
    """The index of the broken row, kept out of sight: calling it gives the index (the exercise's
    check does, once the student has answered); printing it does not."""

    def __init__(self, index: int):
        self._index = index

    def __call__(self) -> int:
        return self._index

    def __repr__(self) -> str:
        return "AnswerKey(…)"


def rows_with_one_fault(rows, n: int, seed: int) -> tuple[list[dict], AnswerKey]:
    """`n` copies of rows whose conversation starts with a human turn, one of them broken in one of
    the FAULTS ways, and the key to which one. For the lab exercise "which row is broken?": the index
    and the fault are drawn with `seed`, so reading the code does not give them away; the validator's
    message does. Taught in lab 0, section 6."""
    import copy
    import random

    picked = [copy.deepcopy(row) for row in rows if row["conversations"][0]["from"] == "human"][:n]
    rng = random.Random(seed)
    index, fault = rng.randrange(n), rng.choice(sorted(FAULTS))
    FAULTS[fault](picked[index])
    return picked, AnswerKey(index)


def chat_texts(rows, tokenizer):
    """A dataset with one column, `text`: each conversation standardized to role/content and
    rendered with the tokenizer's chat template (Qwen3's, in the labs). Taught in lab 1, section 3."""
    def render(batch):
        return {"text": [tokenizer.apply_chat_template(standardize(c), tokenize=False, add_generation_prompt=False)
                         for c in batch["conversations"]]}

    return rows.map(render, batched=True, remove_columns=rows.column_names)


def token_lengths(texts, tokenizer) -> list[int]:
    """The number of tokens of each text, without adding special tokens (the chat template has put them
    in already): the length that `SFTConfig(max_length=...)` cuts. Taught in lab 0, section 6 (exercise 2)."""
    texts = list(texts)
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []


def count_longer(texts, tokenizer, limit: int) -> int:
    """How many texts are longer than `limit` tokens: the examples a `max_length` of `limit` cuts."""
    return sum(n > limit for n in token_lengths(texts, tokenizer))


def print_truncation(texts, tokenizer, limits) -> dict[int, tuple[int, int]]:
    """For each `max_length` in `limits`: how many examples it cuts and how many of all tokens they lose.

    Prints the shortest, median and longest example first. Returns {limit: (examples cut, tokens lost)}.
    Taught in lab 0, section 6 (exercise 2)."""
    import statistics

    lengths = token_lengths(texts, tokenizer)
    if not lengths:
        raise ValueError("no texts to measure")
    total = sum(lengths)
    print(f"예제 {len(lengths):,}개의 토큰 수: 가장 짧은 것 {min(lengths):,}, 중앙값 {statistics.median(lengths):,.0f}, "
          f"가장 긴 것 {max(lengths):,} (모두 합쳐 {total:,}토큰)")
    cut = {}
    for limit in sorted(set(limits)):
        cut[limit] = (sum(n > limit for n in lengths), sum(max(0, n - limit) for n in lengths))
        print(f"max_length {limit:,}: 예제 {cut[limit][0]:,}개가 잘려 {cut[limit][1]:,}토큰({cut[limit][1] / total:.1%})을 잃습니다.")
    print("잘린 예제는 뒷부분(마지막 답의 끝과 <|im_end|>)을 잃어 그 답을 끝맺는 법을 배우지 못하고, "
          "답이 시작되기 전에 잘린 예제는 라벨이 모두 가려져 학습에서 빠집니다.")
    return cut


# ----------------------------------------------------------------------------- model and LoRA
def lora_arguments(recipe: Recipe) -> dict:
    """Keyword arguments for `FastLanguageModel.get_peft_model(model, **lora_arguments(recipe))`.

    LoRA of rank r and scale alpha on all seven projections, no dropout, no bias, Unsloth's gradient
    checkpointing, and the recipe's seed for the random A matrices. Taught in lab 1, section 2.
    """
    return dict(r=recipe.lora_r, lora_alpha=recipe.lora_alpha, lora_dropout=0, bias="none",
                target_modules=list(PROJECTIONS), use_gradient_checkpointing="unsloth",
                random_state=recipe.seed)


def _is_4bit(module) -> bool:
    weight = getattr(getattr(module, "base_layer", module), "weight", None)
    return type(weight).__name__ == "Params4bit"  # bitsandbytes' 4-bit weight, wrapped by PEFT or not


def describe_projections(model) -> dict:
    """Report: the decoder's projections, and how many are stored in 4 bit.

    Qwen3 has seven per layer (q, k, v, o, gate, up, down). Unsloth's "dynamic" 4-bit checkpoints may
    keep a few sensitive ones in 16 bit, so both counts are printed. Taught in lab 0, section 2.
    """
    config = model.config
    projections = {name: m for name, m in model.named_modules() if name.split(".")[-1] in PROJECTIONS}
    n_4bit = sum(map(_is_4bit, projections.values()))
    print(f"층 {config.num_hidden_layers}개, 어휘 {config.vocab_size:,}개, 은닉 차원 {config.hidden_size:,}")
    print(f"투영 {len(projections)}개(층마다 {len(PROJECTIONS)}개) 가운데 4비트 {n_4bit}개, "
          f"16비트로 남은 것 {len(projections) - n_4bit}개")
    assert len(projections) == config.num_hidden_layers * len(PROJECTIONS), "a projection is missing"
    return {"projections": len(projections), "in_4bit": n_4bit}


def describe_lora(model, recipe: Recipe) -> tuple[int, int]:
    """Report: trainable and total parameters right after LoRA is attached, checked against the
    closed form of chapter 1 (L * sum_m r * (d_in + d_out)), and B = 0 in every adapter (so the
    model still answers exactly as before). Returns (trainable, total). Taught in lab 1, section 2."""
    trainable, total = model.get_nb_trainable_parameters()
    expected = lora_param_count(model.config, recipe.lora_r, PROJECTIONS)
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    print(f"학습 파라미터 {trainable:,} / 전체 {total:,} ({trainable / total:.2%})")
    print(f"1장의 공식 L·Σ r(d_in + d_out), r = {recipe.lora_r}: {expected:,}")
    assert trainable == expected, "the LoRA attached differs from the closed form"
    assert lora_b and all(bool((p == 0).all()) for p in lora_b), "a lora_B matrix is not zero"
    print(f"lora_B 행렬 {len(lora_b)}개가 모두 0입니다: 지금은 ΔW = BA = 0")
    return trainable, total


# ----------------------------------------------------------------------------- training
def sft_config(recipe: Recipe, output_dir: str, **changes):
    """TRL's `SFTConfig` for the recipe: every training knob in one place. `changes` override a field.

    TRL 1.x calls the sequence length `max_length` (it was `max_seq_length`); it is set explicitly,
    so examples are cut exactly where the recipe says. Taught in lab 1, section 4.
    """
    from trl import SFTConfig

    args = dict(
        output_dir=output_dir, dataset_text_field="text", max_length=recipe.max_seq_length, packing=False,
        per_device_train_batch_size=recipe.batch_size, gradient_accumulation_steps=recipe.grad_accum,
        max_steps=recipe.max_steps, warmup_steps=recipe.warmup_steps, learning_rate=recipe.learning_rate,
        lr_scheduler_type="linear", optim="adamw_8bit", weight_decay=recipe.weight_decay,
        logging_steps=1, seed=recipe.seed, save_strategy="no", report_to="none",
        # evaluation (trainer.evaluate() on held-out rows): the training batch size, and the loss
        # only, since keeping every example's logits (length x vocabulary) would fill the memory
        per_device_eval_batch_size=recipe.batch_size, prediction_loss_only=True,
    )
    args.update(changes)
    return SFTConfig(**args)


def predict_response_masking(input_ids, tokenizer) -> list[list[int]]:
    """The labels that a response-only loss gives each tokenized example, computed with the
    course's rule (ftcourse.chat.response_only_labels) before Unsloth's `train_on_responses_only`
    runs, so that its result can be checked. Taught in lab 1, section 4."""
    markers = ResponseMarkers.from_tokenizer(tokenizer, QWEN3_INSTRUCTION_PART, QWEN3_RESPONSE_PART)
    return [response_only_labels(ids, markers) for ids in input_ids]


def check_response_masking(predicted: list[list[int]], labels, max_dropped_share: float = 0.05) -> dict:
    """Report: the examples whose answer was cut away (all labels -100) and the masked share.

    `labels` are the training set's labels after Unsloth's `train_on_responses_only`, which drops
    fully masked examples. Asserts that it dropped exactly the predicted ones, that the kept labels
    equal the prediction, and that at most `max_dropped_share` of the examples lost their answer
    to `max_length`. Taught in lab 1, section 4.
    """
    dropped = set(fully_masked_rows(predicted))
    kept = [row for i, row in enumerate(predicted) if i not in dropped]
    labels = [list(row) for row in labels]
    share = masked_share(labels)
    print(f"예제 {len(predicted):,}개 가운데 응답이 잘려 통째로 가려진 예제 {len(dropped)}개 "
          f"(라이브러리가 뺀 수 {len(predicted) - len(labels)}개)")
    print(f"남은 {len(labels):,}개 예제에서 손실에서 제외된 토큰 비율: {share:.1%}")
    assert len(predicted) - len(labels) == len(dropped), "other examples were dropped than predicted"
    assert labels == kept, "the response mask differs from ftcourse.chat.response_only_labels"
    assert not fully_masked_rows(labels) and 0.0 < share < 1.0
    assert len(dropped) <= max_dropped_share * len(predicted), "too many answers were cut: raise MAX_SEQ_LENGTH"
    return {"examples": len(predicted), "dropped": len(dropped), "masked_share": share}


def real_tokens(batch, pad_id: int) -> int:
    """The tokens of a training batch that are not padding.

    A padded batch marks them in `attention_mask`. A padding-free batch (Unsloth switches it on: the
    examples are joined into one row and `position_ids` restart at each example) has no mask and no
    padding, so every `input_ids` entry that is not the pad token counts. Taught in lab 1, section 6.
    """
    mask = batch.get("attention_mask")
    return int(mask.sum()) if mask is not None else int((batch["input_ids"] != pad_id).sum())


def loss_token_share(batch, pad_id: int) -> float:
    """The share of a batch's real tokens whose label counts in the loss (label != -100)."""
    return int((batch["labels"] != -100).sum()) / real_tokens(batch, pad_id)


class TokenCounter:
    """Wraps a trainer's data collator and counts the tokens it hands to the model (padding excluded).

    Install with `trainer.data_collator = TokenCounter(trainer.data_collator, tokenizer.pad_token_id)`.
    Taught in lab 1, section 6.
    """

    def __init__(self, collator, pad_id: int):
        self.collator, self.pad_id, self.tokens = collator, pad_id, 0

    def __call__(self, features):
        batch = self.collator(features)
        self.tokens += real_tokens(batch, self.pad_id)
        return batch


@dataclass
class Measurement:
    """Wall time and CUDA memory of a block: `with steps.measure() as run: trainer.train()`.

    Memory is what PyTorch's caching allocator has reserved (`torch.cuda.max_memory_reserved`), the
    figure Unsloth's logs print; None on a machine without CUDA. Taught in lab 1, section 6.
    """

    seconds: float = 0.0
    reserved_before: int | None = None
    peak_reserved: int | None = None
    _start: float = field(default=0.0, repr=False)

    def __enter__(self) -> "Measurement":
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
            self.reserved_before = torch.cuda.max_memory_reserved()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
            self.peak_reserved = torch.cuda.max_memory_reserved()
        self.seconds = time.perf_counter() - self._start


def measure() -> Measurement:
    return Measurement()


def logged_losses(trainer) -> list[float]:
    """The training losses the trainer logged, one per logging step."""
    return [h["loss"] for h in trainer.state.log_history if "loss" in h]


def check_losses(losses: list[float], steps: int, must_fall: bool = True) -> tuple[float, float]:
    """Report: one finite loss per step, and (if `must_fall`) the mean of the last fifth of the
    steps below the mean of the first fifth. Returns both means. Taught in lab 1, section 6."""
    k = max(1, len(losses) // 5)
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    print(f"손실 {len(losses)}개(스텝마다 하나): 처음 {k}스텝 평균 {first:.3f} → 마지막 {k}스텝 평균 {last:.3f}")
    assert len(losses) == steps, f"expected {steps} logged losses, got {len(losses)}"
    assert all(math.isfinite(x) for x in losses), "a loss is not finite"
    if must_fall:
        assert last < first, "the loss did not go down"
        print("모든 손실이 유한하고, 학습이 진행되며 손실이 줄었습니다.")
    else:
        print("모든 손실이 유한합니다.")
    return first, last


# ----------------------------------------------------------------------------- using the model
def answer(model, tokenizer, prompts: list[str], *, system: str | None = None, max_new_tokens: int = 96,
           fast=None) -> list[str]:
    """Greedy answers to each prompt, with thinking off (Qwen3's `enable_thinking=False`).

    `fast`: Unsloth's `FastLanguageModel`, whose inference mode is switched on for the answers and
    back to training mode afterwards. Taught in lab 1, section 5.
    """
    if fast is not None:
        fast.for_inference(model)
    replies = []
    try:
        for prompt in prompts:
            messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
            replies.append(_greedy_reply(model, tokenizer, messages, max_new_tokens))
    finally:
        if fast is not None:
            fast.for_training(model)
    return replies


def _greedy_reply(model, tokenizer, messages: list[dict], max_new_tokens: int) -> str:
    """The model's greedy reply to a conversation that ends with a user turn, thinking off."""
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, enable_thinking=False,
                                           return_tensors="pt", return_dict=True).to(model.device)
    output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                            pad_token_id=tokenizer.pad_token_id)
    new_tokens = output[0, inputs["input_ids"].shape[1]:]
    return tokenizer.decode(new_tokens, skip_special_tokens=True).strip()


def continue_chat(model, tokenizer, messages: list[dict], prompt: str, *, max_new_tokens: int = 96,
                  fast=None) -> list[dict]:
    """The conversation `messages` with a user turn `prompt` and the model's greedy reply appended.

    The model keeps nothing between calls: at every turn the whole conversation so far is rendered
    with the chat template and read again, so an answer can refer back only to what `messages`
    holds. Thinking is off, as in `answer`; `fast` as in `answer`. Taught in lab 1, section 8.
    """
    conversation = [*messages, {"role": "user", "content": prompt}]
    if fast is not None:
        fast.for_inference(model)
    try:
        reply = _greedy_reply(model, tokenizer, conversation, max_new_tokens)
    finally:
        if fast is not None:
            fast.for_training(model)
    return [*conversation, {"role": "assistant", "content": reply}]


def check_chat_prompt(tokenizer, messages: list[dict]) -> str:
    """Report: the prompt a conversation becomes before the model answers its last user turn.

    Prints the turns' roles and how many `<|im_start|>` blocks of each role the prompt holds (every
    earlier turn is there: that is the model's only memory), and asserts that the tokenizer's
    template renders it exactly as the course's Qwen3 template does (`ftcourse.chat`), ending with
    the generation prompt and its empty think block (thinking off). Nothing printed depends on what
    the model answered. Returns the prompt text. Taught in lab 1, section 8.
    """
    from .chat import QWEN3_CHAT_TEMPLATE, QWEN3_EMPTY_THINK

    kwargs = dict(tokenize=False, add_generation_prompt=True, enable_thinking=False)
    prompt = tokenizer.apply_chat_template(messages, **kwargs)
    roles = [m["role"] for m in messages]
    assert roles and roles[-1] == "user", "the conversation must end with a user turn"
    blocks = {role: prompt.count(f"<|im_start|>{role}\n") for role in ("system", "user", "assistant")}
    print(f"대화 {len(roles)}턴({' → '.join(roles)})을 대화 템플릿에 넣었습니다.")
    print(f"프롬프트의 블록: user {blocks['user']}개, assistant {blocks['assistant']}개"
          f"(앞선 답 {roles.count('assistant')}개 + 모델이 답할 자리 1개), system {blocks['system']}개")
    assert blocks["user"] == roles.count("user") and blocks["system"] == roles.count("system")
    assert blocks["assistant"] == roles.count("assistant") + 1, "an earlier answer is missing from the prompt"
    assert prompt.endswith(QWEN3_RESPONSE_PART + QWEN3_EMPTY_THINK), "the prompt does not end with the generation prompt"
    assert prompt == tokenizer.apply_chat_template(messages, chat_template=QWEN3_CHAT_TEMPLATE, **kwargs), (
        "the tokenizer's chat template renders this conversation differently from Qwen3's")
    print("프롬프트는 답할 자리와 빈 <think> 블록(생각 끔)으로 끝나고, 강의의 Qwen3 템플릿으로 만든 것과 같습니다.")
    return prompt


def describe_adapter(adapter_dir: Path, trainable: int, base_params: int) -> int:
    """Report: the saved adapter holds exactly the trained parameters, and how small it is next to
    the base model in 16 bit. Returns the file's size in bytes. Taught in lab 1, section 7."""
    from safetensors import safe_open

    path = Path(adapter_dir) / "adapter_model.safetensors"
    with safe_open(path, framework="pt") as f:
        saved = sum(math.prod(f.get_slice(name).get_shape()) for name in f.keys())
    size, base_16bit = path.stat().st_size, base_params * 2
    print(f"어댑터 파라미터 {saved:,}개 = 학습한 파라미터 {trainable:,}개")
    print(f"파일 {size_text(size)} ({size / 1e6:.1f} MB): "
          f"16비트 원본 {size_text(base_16bit)}의 {size / base_16bit:.2%}")
    assert saved == trainable, "the saved adapter does not hold exactly the trained parameters"
    return size


def describe_special_tokens(tokenizer) -> dict:
    """Report: the tokenizer's end-of-sequence (EOS) and padding tokens, which must differ.

    A rule that drops padding from the loss by its id (transformers' `DataCollatorForLanguageModeling`)
    or from a token count (`real_tokens`) would drop every EOS too if the two were the same token: the
    model would never learn to end its answer. Unsloth repairs a missing pad or one equal to EOS when
    it loads the tokenizer (unsloth_zoo 2026.10.7, `pad_token.fix_pad_token`). Taught in lab 1, section 1.
    """
    pad, eos = tokenizer.pad_token, tokenizer.eos_token
    print(f"EOS 토큰 {eos} (id {tokenizer.eos_token_id}), 패딩 토큰 {pad} (id {tokenizer.pad_token_id})")
    assert pad is not None and tokenizer.pad_token_id is not None, "the tokenizer has no padding token"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id, "the padding token is the EOS token"
    print("패딩 토큰이 EOS와 다릅니다: 패딩을 빼는 규칙이 답의 끝(EOS)까지 빼지는 않습니다.")
    return {"eos": eos, "pad": pad}


# ----------------------------------------------------------------------------- memory: predict, then measure
PEAK_TERMS_KO = {
    "weights": "가중치(4비트 본체와 16비트 임베딩)",
    "trainable_states": "LoRA 가중치·기울기·옵티마이저 상태",
    "activations": "체크포인트로 남긴 층 입력",
    "transient": "손실 계산 때의 로짓(잠깐)",
    "workspace": "층 하나의 작업 공간",
}


def peak_estimate_terms(recipe: Recipe, config) -> dict[str, int]:
    """The start check's estimated peak (`ftcourse.labs.peak_estimate_bytes`), term by term, in bytes:
    `ftcourse.memory.lora_peak_breakdown` for the recipe's largest rank, batch and `max_seq_length`.
    Keys as in `PEAK_TERMS_KO`. Taught in lab 1, section 9 (exercise 5)."""
    from .memory import lora_peak_breakdown

    terms = lora_peak_breakdown(config, lora_param_count(config, recipe.largest_rank, PROJECTIONS),
                                recipe.batch_size, recipe.max_seq_length, not recipe.trains_16bit_base).as_dict()
    return {name: terms[name] for name in PEAK_TERMS_KO}


def print_peak_estimates(config, recipes: dict[str, Recipe]) -> None:
    """A table of `peak_estimate_terms` for several recipes side by side, in GiB, headed by the
    dictionary's keys (e.g. "이 실습", "r × 2")."""
    terms = {label: peak_estimate_terms(r, config) for label, r in recipes.items()}
    # one unit for the whole table: GiB for Qwen3-4B, MiB for the smoke profile's tiny model
    unit, scale = ("GiB", GiB) if max(sum(t.values()) for t in terms.values()) >= GiB else ("MiB", 2**20)
    rows = [("항목", [str(label) for label in recipes])]
    rows += [(ko, [f"{terms[label][name] / scale:.3f} {unit}" for label in recipes]) for name, ko in PEAK_TERMS_KO.items()]
    rows += [("합계(예상 최대)", [f"{sum(t.values()) / scale:.3f} {unit}" for t in terms.values()])]
    first = max(_width(r[0]) for r in rows)
    cells = [max(_width(r[1][i]) for r in rows) for i in range(len(recipes))]
    for head, values in rows:
        print(_pad(head, first) + " | " + " | ".join(_pad(v, w, right=True) for v, w in zip(values, cells)))


def _width(text: str) -> int:
    """Columns a string takes in a monospace font: Hangul and other wide characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill
