"""ftcourse.steps on the CPU: lab 1's steps with the smoke recipe, the tiny Qwen3 in 4 bit, PEFT and TRL.

The run trains with exactly the smoke profile's values (learning rate, batch, steps, rank, length), so
the claim in ftcourse.recipes that they make the loss fall within the smoke run is tested here.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math

import pytest

from ftcourse import steps
from ftcourse.chat import IGNORE_INDEX
from ftcourse.errors import LabError
from ftcourse.peft_counts import PROJECTIONS, lora_param_count
from ftcourse.recipes import LABS

from .cpu_lab import load_4bit, smoke_recipe


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir


@pytest.fixture(scope="module")
def run(lab1_cpu_run):
    return lab1_cpu_run


def test_the_smoke_recipe_trains_on_the_cpu(run):
    recipe = run.recipe
    assert (recipe.learning_rate, recipe.max_steps, recipe.lora_r) == (1e-2, 30, 8)
    assert len(run.losses) == recipe.max_steps and all(math.isfinite(x) for x in run.losses)
    first, last = run.losses[:6], run.losses[-6:]
    assert sum(last) < sum(first), run.losses


def test_the_trainer_uses_every_recipe_field(run):
    args, recipe = run.trainer.args, run.recipe
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps, args.max_steps) == (
        recipe.batch_size, recipe.grad_accum, recipe.max_steps)
    assert (args.learning_rate, args.warmup_steps, args.weight_decay, args.seed, args.max_length) == (
        recipe.learning_rate, recipe.warmup_steps, recipe.weight_decay, recipe.seed, recipe.max_seq_length)
    assert args.optim == "adamw_8bit" and args.lr_scheduler_type == "linear"
    assert steps.sft_config(recipe, "x", max_steps=3, use_cpu=True).max_steps == 3  # a lab may change a field


def test_reports_print_the_facts(run, model_dir):
    printed = run.printed
    trainable = lora_param_count(run.trainer.model.config, 8, PROJECTIONS)
    assert "투영 14개(층마다 7개) 가운데 4비트 14개, 16비트로 남은 것 0개" in printed["describe_projections"]
    assert f"학습 파라미터 {trainable:,} / 전체 721,664" in printed["describe_lora"]
    assert "lora_B 행렬 14개가 모두 0입니다" in printed["describe_lora"]
    assert f"{run.recipe.n_rows}행" in printed["describe_rows"]
    assert f"학습 {run.recipe.n_rows - run.recipe.eval_rows}행" in printed["describe_split"]
    assert f"예제 {run.recipe.n_rows - run.recipe.eval_rows}개 가운데" in printed["check_response_masking"]
    assert f"어댑터 파라미터 {trainable:,}개 = 학습한 파라미터 {trainable:,}개" in printed["describe_adapter"]


def test_describe_projections_sees_16_bit_weights(model_dir):
    from transformers import AutoModelForCausalLM

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        counts = steps.describe_projections(AutoModelForCausalLM.from_pretrained(model_dir))
    assert counts == {"projections": 14, "in_4bit": 0}


def test_describe_lora_catches_a_wrong_rank(model_dir):
    from .cpu_lab import attach_lora

    model, _ = load_4bit(model_dir)
    recipe = smoke_recipe("lab1_first_qlora", model_dir)
    model = attach_lora(model, recipe)
    with pytest.raises(AssertionError, match="closed form"):
        steps.describe_lora(model, dataclasses.replace(recipe, lora_r=16))


def test_lora_arguments_carry_the_recipe():
    recipe = LABS["lab1_first_qlora"].full
    args = steps.lora_arguments(dataclasses.replace(recipe, lora_r=16, lora_alpha=32))
    assert (args["r"], args["lora_alpha"], args["random_state"]) == (16, 32, recipe.seed)
    assert args["target_modules"] == list(PROJECTIONS) and args["use_gradient_checkpointing"] == "unsloth"


def test_check_response_masking_finds_every_disagreement(run):
    predicted = steps.predict_response_masking(run.trainer.train_dataset["input_ids"], run.tokenizer)
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet:
        assert steps.check_response_masking(predicted, predicted)["dropped"] == 0
    tampered = [list(row) for row in predicted]
    first_kept = next(i for i, label in enumerate(tampered[0]) if label != IGNORE_INDEX)
    tampered[0][first_kept] = IGNORE_INDEX
    with quiet, pytest.raises(AssertionError, match="differs"):
        steps.check_response_masking(predicted, tampered)
    with quiet, pytest.raises(AssertionError, match="other examples were dropped"):
        steps.check_response_masking(predicted, predicted[1:])
    # an answer cut away entirely: predicted as dropped; dropping it is right, keeping it is not
    cut = [row[:] for row in predicted]
    cut[3] = [IGNORE_INDEX] * len(cut[3])
    with quiet:
        assert steps.check_response_masking(cut, cut[:3] + cut[4:], max_dropped_share=0.01)["dropped"] == 1
    with quiet, pytest.raises(AssertionError, match="raise MAX_SEQ_LENGTH"):
        steps.check_response_masking(cut, cut[:3] + cut[4:], max_dropped_share=0.0)


def test_token_counter_counts_what_the_model_sees(run):
    from transformers import DataCollatorForSeq2Seq

    data = run.trainer.train_dataset
    counter = steps.TokenCounter(DataCollatorForSeq2Seq(tokenizer=run.tokenizer), run.tokenizer.pad_token_id)
    batch = counter([data[i] for i in range(4)])
    assert counter.tokens == sum(len(data[i]["input_ids"]) for i in range(4))
    assert batch["input_ids"].shape[0] == 4


def test_measure_on_a_machine_without_cuda():
    with steps.measure() as block:
        sum(range(10_000))
    assert block.seconds > 0 and block.reserved_before is None and block.peak_reserved is None


def test_answer_generates_with_thinking_off(run):
    model, tokenizer = run.trainer.model, run.tokenizer
    replies = steps.answer(model, tokenizer, ["What is LoRA?", "2 + 3?"], system="Be brief.", max_new_tokens=5)
    assert len(replies) == 2 and all(isinstance(r, str) for r in replies)


def test_check_losses():
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet:
        assert steps.check_losses([3.0, 2.5, 2.0, 1.5, 1.0], 5) == (3.0, 1.0)
    with quiet, pytest.raises(AssertionError, match="did not go down"):
        steps.check_losses([1.0, 1.5, 2.0, 2.5, 3.0], 5)
    with quiet, pytest.raises(AssertionError, match="not finite"):
        steps.check_losses([1.0, float("nan"), 0.5, 0.4, 0.3], 5)
    with quiet, pytest.raises(AssertionError, match="expected 6"):
        steps.check_losses([1.0, 0.5], 6)


def test_size_text():
    assert steps.size_text(63.1 * 2**20) == "63.1 MiB" and steps.size_text(7.52 * 2**30) == "7.52 GiB"
    assert steps.size_text(512) == "512 B"


def test_load_rows_refuses_a_malformed_row(tmp_path, model_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"conversations": [{"from": "human", "value": "hi"}], "source": "x"}\n', encoding="utf-8")
    recipe = dataclasses.replace(smoke_recipe("lab1_first_qlora", model_dir), dataset=str(bad))
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(LabError, match="no gpt turn"):
        steps.load_rows(recipe)


@pytest.mark.xfail(strict=True, raises=AttributeError, reason="TRL 1.15's fused SFT loss is a Triton kernel: no CPU "
                   "path. When this passes, TRL trains on the CPU and CpuSFTTrainer can go.")
def test_stock_sft_trainer_cannot_train_on_cpu(run, tmp_path):
    from trl import SFTTrainer

    args = steps.sft_config(run.recipe, str(tmp_path), max_steps=1, use_cpu=True, bf16=False, disable_tqdm=True)
    SFTTrainer(model=run.trainer.model, processing_class=run.tokenizer, train_dataset=run.trainer.train_dataset,
               args=args).train()


def test_cpu_trainer_loss_is_the_masked_cross_entropy(run):
    import torch

    trainer = run.trainer
    batch = next(iter(trainer.get_train_dataloader()))
    with torch.no_grad():
        logits = trainer.model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).logits
        targets = batch["labels"][:, 1:]
        nll = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(), targets.flatten(),
                                                ignore_index=IGNORE_INDEX, reduction="sum")
        manual = (nll / (targets != IGNORE_INDEX).sum()).item()
        assert math.isclose(trainer.compute_loss(trainer.model, dict(batch)).item(), manual, rel_tol=1e-4)
    from trl import SFTTrainer

    assert isinstance(trainer, SFTTrainer)  # TRL underneath; only compute_loss is ours


def test_rows_with_one_fault_breaks_exactly_one_row_and_hides_which(lab1_cpu_run):
    from ftcourse.chat import validate_finetome_row

    rows = steps.load_rows(lab1_cpu_run.recipe)
    seen = set()
    for seed in range(40):
        picked, key = steps.rows_with_one_fault(rows, 6, seed)
        bad = []
        for i, row in enumerate(picked):
            try:
                validate_finetome_row(row, i)
            except LabError as error:
                bad.append(i)
                seen.add(error.en.split("malformed: ", 1)[1])  # the fault the message names
        assert bad == [key()], seed
        assert str(key()) not in repr(key)
    assert len(seen) >= 3  # several kinds of fault, not always the same one


def test_real_tokens_with_and_without_padding(lab1_cpu_run):
    """Unsloth turns on TRL's padding-free collator: one row, no attention_mask, no padding."""
    from transformers import DataCollatorForSeq2Seq
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    data, pad = lab1_cpu_run.trainer.train_dataset, lab1_cpu_run.tokenizer.pad_token_id
    features = [data[i] for i in range(4)]
    lengths = sum(len(f["input_ids"]) for f in features)
    padded = DataCollatorForSeq2Seq(tokenizer=lab1_cpu_run.tokenizer)(features)
    free = DataCollatorForLanguageModeling(pad_token_id=pad, padding_free=True)(
        [{"input_ids": f["input_ids"]} for f in features])
    assert "attention_mask" not in free and free["input_ids"].shape[0] == 1
    assert steps.real_tokens(padded, pad) == steps.real_tokens(free, pad) == lengths
    # all tokens but each example's first carry loss when nothing is masked
    assert steps.loss_token_share(free, pad) == pytest.approx((lengths - 4) / lengths)


# ----------------------------------------------------------------------------- lab 1: special tokens, turns, memory
def test_describe_special_tokens_refuses_a_pad_that_is_the_eos(run):
    tokenizer = run.tokenizer
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        tokens = steps.describe_special_tokens(tokenizer)
    assert tokens == {"eos": "<|im_end|>", "pad": "<|endoftext|>"}
    assert "EOS 토큰 <|im_end|>" in printed.getvalue() and "패딩 토큰 <|endoftext|>" in printed.getvalue()
    import copy

    broken = copy.deepcopy(tokenizer)
    broken.pad_token = broken.eos_token  # the common advice the lab warns against
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(AssertionError, match="padding token is the EOS"):
        steps.describe_special_tokens(broken)


def test_continue_chat_carries_the_whole_conversation(run):
    model, tokenizer = run.trainer.model, run.tokenizer
    first = steps.continue_chat(model, tokenizer, [], "What is LoRA?", max_new_tokens=4)
    assert [m["role"] for m in first] == ["user", "assistant"] and isinstance(first[1]["content"], str)
    second = steps.continue_chat(model, tokenizer, first, "Shorter, please.", max_new_tokens=4)
    assert second[:2] == first and [m["role"] for m in second] == ["user", "assistant", "user", "assistant"]
    # greedy decoding: the same conversation gets the same reply
    again = steps.continue_chat(model, tokenizer, first, "Shorter, please.", max_new_tokens=4)
    assert again == second


def test_check_chat_prompt_sees_every_turn_and_the_template(run):
    tokenizer = run.tokenizer
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2 + 3?"},
                    {"role": "assistant", "content": "5."}, {"role": "user", "content": "And 2 x 3?"}]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        prompt = steps.check_chat_prompt(tokenizer, conversation)
    assert "대화 4턴(system → user → assistant → user)" in printed.getvalue()
    assert "user 2개, assistant 2개(앞선 답 1개 + 모델이 답할 자리 1개), system 1개" in printed.getvalue()
    assert "<|im_start|>assistant\n5.<|im_end|>\n" in prompt  # the earlier answer, without a think block
    assert prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet, pytest.raises(AssertionError, match="end with a user turn"):
        steps.check_chat_prompt(tokenizer, conversation[:3])
    import copy

    other = copy.deepcopy(tokenizer)  # a template that forgets earlier answers
    other.chat_template = ("{% for m in messages %}{% if m.role != 'assistant' %}<|im_start|>{{ m.role }}\n"
                           "{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}<|im_start|>assistant\n<think>\n\n</think>\n\n")
    with quiet, pytest.raises(AssertionError, match="earlier answer is missing"):
        steps.check_chat_prompt(other, conversation)


def test_peak_estimate_terms_are_the_start_checks_estimate_and_the_exercise_key():
    """Lab 1, exercise 5: doubling r moves only the LoRA states; halving the length moves the three
    terms that grow with the tokens of a batch, and moves the total more (mostly the logits)."""
    from ftcourse.labs import peak_estimate_bytes
    from ftcourse.models import HUB_CONFIGS

    recipe = LABS["lab1_first_qlora"].full
    config = HUB_CONFIGS[recipe.model]()
    terms = steps.peak_estimate_terms(recipe, config)
    assert list(terms) == list(steps.PEAK_TERMS_KO) and sum(terms.values()) == peak_estimate_bytes(recipe, config)

    def changed(variant):
        new = steps.peak_estimate_terms(variant, config)
        return {name for name in terms if terms[name] != new[name]}, sum(new.values()) - sum(terms.values())

    by_r, more = changed(dataclasses.replace(recipe, lora_r=recipe.lora_r * 2))
    by_length, less = changed(dataclasses.replace(recipe, max_seq_length=recipe.max_seq_length // 2))
    assert by_r == {"trainable_states"} and more > 0
    assert by_length == {"activations", "transient", "workspace"} and less < 0
    assert -less > 5 * more
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        steps.print_peak_estimates(config, {"이 실습": recipe, "r × 2": dataclasses.replace(recipe, lora_r=16)})
    lines = printed.getvalue().splitlines()
    assert lines[0].startswith("항목") and "이 실습" in lines[0] and lines[-1].startswith("합계(예상 최대)")
    assert f"{sum(terms.values()) / 2**30:.3f} GiB" in lines[-1] and len(lines) == 2 + len(terms)
    assert len({steps._width(line) for line in lines}) == 1  # the columns line up, Hangul counted double


def test_answer_is_unchanged_by_the_shared_generation_code(run):
    model, tokenizer = run.trainer.model, run.tokenizer
    single = steps.answer(model, tokenizer, ["What is LoRA?"], max_new_tokens=4)[0]
    chat = steps.continue_chat(model, tokenizer, [], "What is LoRA?", max_new_tokens=4)
    assert chat[-1]["content"] == single


# ----------------------------------------------------------------------------- lab 0: examples longer than max_length
def test_token_lengths_and_what_a_max_length_cuts(run):
    """Lab 0's exercise 2: the solution counts with its own list comprehension, the check with
    steps.count_longer; both must agree, and an example exactly at the limit is not cut."""
    tok = run.tokenizer
    texts = [tok.apply_chat_template([{"role": "user", "content": "learning rate " * k},
                                      {"role": "assistant", "content": "It sets the step size."}], tokenize=False)
             for k in (1, 40, 300)]
    lengths = steps.token_lengths(texts, tok)
    assert lengths == [len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts]  # the solution's way
    assert lengths[0] < lengths[1] < lengths[2]
    assert steps.count_longer(texts, tok, lengths[1]) == 1  # at the limit: kept whole
    assert steps.count_longer(texts, tok, lengths[0] - 1) == 3
    assert steps.count_longer(texts, tok, lengths[2]) == 0
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        cut = steps.print_truncation(texts, tok, (lengths[1], lengths[2], lengths[1]))
    assert cut == {lengths[1]: (1, lengths[2] - lengths[1]), lengths[2]: (0, 0)}  # one line per limit
    out = printed.getvalue()
    assert f"예제 3개의 토큰 수: 가장 짧은 것 {lengths[0]:,}, 중앙값 {lengths[1]:,}, 가장 긴 것 {lengths[2]:,}" in out
    assert f"max_length {lengths[1]:,}: 예제 1개가 잘려 {lengths[2] - lengths[1]:,}토큰" in out
    assert steps.token_lengths([], tok) == []
    with pytest.raises(ValueError):
        steps.print_truncation([], tok, (8,))
