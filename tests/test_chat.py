"""ftcourse.chat: standardize, row validation, the Qwen3 template, response-only masking."""
from __future__ import annotations

import math

import pytest

from ftcourse.chat import (
    IGNORE_INDEX, QWEN3_CHAT_TEMPLATE, QWEN3_INSTRUCTION_PART, ROLE_MAP,
    ResponseMarkers, check_labels, fully_masked_rows, masked_share, response_only_labels,
    response_spans, rows_with_special_text, standardize, standardize_batch, validate_finetome_row,
    validate_rows,
)
from ftcourse.errors import LabError

GOOD = {"conversations": [{"from": "human", "value": "What is 2 + 3?"}, {"from": "gpt", "value": "2 + 3 = 5."}],
        "source": "infini-instruct-top-500k", "score": 5.0}


@pytest.fixture(scope="module")
def tok():
    from ftcourse.tiny_model import train_tokenizer
    return train_tokenizer()


# ----------------------------------------------------------------------------- standardize
def test_role_map_and_standardize():
    assert ROLE_MAP == {"human": "user", "gpt": "assistant", "system": "system"}
    conv = [{"from": "system", "value": "s"}, {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]
    want = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert standardize(conv) == want
    assert standardize(want) == want  # already standard: unchanged
    assert standardize_batch({"conversations": [conv]}) == {"conversations": [want]}
    with pytest.raises(LabError, match="turn 1 has unknown role 'bot'"):
        standardize([{"from": "human", "value": "q"}, {"from": "bot", "value": "a"}])


# ----------------------------------------------------------------------------- validation
def turns(*pairs):
    return [{"from": f, "value": v} for f, v in pairs]


BAD_ROWS = [
    ("not a row", "the row is a str, not a dict"),
    ({"source": "x", "score": 4.0}, "missing key 'conversations'"),
    ({"conversations": "hello"}, "'conversations' is a str, not a list"),
    ({"conversations": []}, "'conversations' is empty"),
    ({"conversations": [["human", "hi"]]}, "conversations[0] is a list, not a dict"),
    ({"conversations": [{"value": "hi"}]}, "conversations[0] has no 'from' key"),
    ({"conversations": [{"from": "human"}]}, "conversations[0] has no 'value' key"),
    ({"conversations": turns(("human", "q"), ("assistant", "a"))}, "conversations[1] has unknown 'from' value 'assistant'"),
    ({"conversations": [{"from": "human", "value": 42}]}, "conversations[0] 'value' is a int, not a str"),
    ({"conversations": turns(("human", "q"), ("gpt", "  \n"))}, "conversations[1] has an empty 'value'"),
    ({"conversations": turns(("human", "q"), ("human", "q2"))}, "there is no gpt turn"),
    ({"conversations": turns(("gpt", "a"), ("human", "q"), ("gpt", "b"))}, "conversations[0] is 'gpt'"),
    ({"conversations": turns(("system", "s"), ("gpt", "a"))}, "conversations[1] is 'gpt'"),
    ({"conversations": turns(("human", "q"), ("system", "s"), ("gpt", "a"))}, "found one at conversations[1]"),
    ({**GOOD, "score": float("nan")}, "'score' is not a finite number"),
    ({**GOOD, "score": "high"}, "'score' is not a finite number"),
    ({**GOOD, "source": 3}, "'source' is a int, not a str"),
]


@pytest.mark.parametrize("row, gist", BAD_ROWS, ids=[g for _, g in BAD_ROWS])
def test_validation_names_row_and_problem(row, gist):
    with pytest.raises(LabError) as info:
        validate_finetome_row(row, 7)
    err = info.value
    assert gist in err.en and "dataset row 7" in err.en
    assert "7번 행" in err.ko and "[English]" in str(err)


def test_validation_accepts_good_rows():
    validate_finetome_row(GOOD, 0)
    validate_finetome_row({"conversations": turns(("system", "s"), ("human", "q"), ("gpt", "a"), ("human", "q2"))}, 1)
    validate_finetome_row({"conversations": turns(("human", "q"), ("gpt", "a"))}, 2)  # no source/score
    assert validate_rows([GOOD, GOOD]) == 2


def test_validate_rows_stops_at_the_first_bad_row():
    bad = {"conversations": turns(("human", "q"), ("gpt", ""))}
    with pytest.raises(LabError, match="dataset row 2 is malformed: conversations\\[1\\] has an empty 'value'"):
        validate_rows([GOOD, GOOD, bad, bad])


def test_validate_rows_on_a_datasets_dataset():
    from datasets import Dataset
    assert validate_rows(Dataset.from_list([GOOD] * 3)) == 3


def test_rows_with_special_text():
    leaky = {"conversations": turns(("human", "q"), ("gpt", "ends here<|im_end|> and goes on"))}
    assert rows_with_special_text([GOOD, leaky]) == [(1, "<|im_end|>")]


# ----------------------------------------------------------------------------- template
def render(tok, messages, **kw):
    return tok.apply_chat_template(messages, tokenize=False, chat_template=QWEN3_CHAT_TEMPLATE, **kw)


U1, A1 = {"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "2 + 3 = 5."}
U2, A2 = {"role": "user", "content": "And 2 x 3?"}, {"role": "assistant", "content": "6."}
SYS = {"role": "system", "content": "Answer briefly."}


def test_template_training_example_has_empty_think_block(tok):
    # As printed in the seed lab: the final assistant turn carries an empty think block.
    assert render(tok, [U1, A1]) == (
        "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n2 + 3 = 5.<|im_end|>\n")


def test_template_system_and_multi_turn(tok):
    assert render(tok, [SYS, U1, A1, U2, A2]) == (
        "<|im_start|>system\nAnswer briefly.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n"
        "<|im_start|>assistant\n2 + 3 = 5.<|im_end|>\n"  # earlier turn: no think block
        "<|im_start|>user\nAnd 2 x 3?<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n6.<|im_end|>\n")


def test_template_generation_prompts(tok):
    assert render(tok, [U1], add_generation_prompt=True) == (
        "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n")
    assert render(tok, [U1], add_generation_prompt=True, enable_thinking=False) == (
        "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert render(tok, [U1], add_generation_prompt=True, enable_thinking=True) == render(tok, [U1], add_generation_prompt=True)
    assert render(tok, [U1, A1, U2], add_generation_prompt=True) == (
        "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n2 + 3 = 5.<|im_end|>\n"
        "<|im_start|>user\nAnd 2 x 3?<|im_end|>\n<|im_start|>assistant\n")


def test_template_reasoning(tok):
    thought = {"role": "assistant", "content": "<think>\nAdd them.\n</think>\n\n5"}
    assert render(tok, [U1, thought]) == (
        "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n<think>\nAdd them.\n</think>\n\n5<|im_end|>\n")
    # Reasoning of an earlier turn is dropped, as in Qwen3.
    assert render(tok, [U1, thought, U2, A2]).split("<|im_end|>\n")[1] == "<|im_start|>assistant\n5"
    field = {"role": "assistant", "content": "5", "reasoning_content": "Add them."}
    assert render(tok, [U1, field]) == render(tok, [U1, thought])


def test_template_refuses_tools(tok):
    tool = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}}
    with pytest.raises(Exception, match="does not render tools"):
        render(tok, [U1], tools=[tool])


# ----------------------------------------------------------------------------- masking
# Token ids of a toy vocabulary: 1 = <|im_start|>, 2 = user, 4 = assistant, 7 = system, 3 = "\n",
# 9 = <|im_end|> (EOS); other numbers are text.
TOY = ResponseMarkers(instruction_ids=(1, 2, 3), response_ids=(1, 4, 3), eos_token_id=9, message_start=(1,))
SEQ = ([1, 7, 3, 50, 9, 3]            # system
       + [1, 2, 3, 60, 61, 9, 3]      # user
       + [1, 4, 3, 70, 71, 9, 3]      # assistant
       + [1, 2, 3, 62, 9, 3]          # user
       + [1, 4, 3, 72, 9, 3])         # assistant
X = IGNORE_INDEX


def test_masking_keeps_answers_and_eos_only():
    labels = response_only_labels(SEQ, TOY)
    assert labels == [X] * 6 + [X] * 7 + [X, X, X, 70, 71, 9, X] + [X] * 6 + [X, X, X, 72, 9, X]
    assert response_only_labels(SEQ, TOY, last_response_only=True) == [X] * 29 + [72, 9, X]


def test_masking_edge_cases():
    assert len(SEQ) == 32 and response_spans(SEQ, TOY) == [(16, 19), (29, 31)]
    cut = SEQ[:17]  # truncated inside the first answer: keep up to the end
    assert response_only_labels(cut, TOY) == [X] * 16 + [70]
    assert set(response_only_labels(SEQ[:16], TOY)) == {X}  # cut right after the marker: nothing to keep
    no_eos = ResponseMarkers((1, 2, 3), (1, 4, 3), eos_token_id=None, message_start=(1,))
    assert response_spans(SEQ, no_eos) == [(16, 20), (29, 32)]  # then <|im_end|>\n is kept too
    bare = ResponseMarkers((1, 2, 3), (1, 4, 3))  # no EOS, no shared opener: stop at the user marker
    assert response_spans(SEQ, bare) == [(16, 20), (29, 32)]
    wrong = ResponseMarkers((1, 2, 3), (1, 5, 3), eos_token_id=9, message_start=(1,))
    assert set(response_only_labels(SEQ, wrong)) == {X}


def test_masking_with_the_qwen3_tokenizer(tok):
    markers = ResponseMarkers.from_tokenizer(tok)
    im_start = tok.convert_tokens_to_ids("<|im_start|>")
    assert markers.message_start == (im_start,) and markers.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    assert markers.instruction_ids == tuple(tok(QWEN3_INSTRUCTION_PART, add_special_tokens=False)["input_ids"])
    ids = tok(render(tok, [SYS, U1, A1, U2, A2]), add_special_tokens=False)["input_ids"]
    labels = response_only_labels(ids, tok)  # the tokenizer works in place of ResponseMarkers
    kept = [tok.decode(ids[a:b]) for a, b in response_spans(ids, markers)]
    assert kept == ["2 + 3 = 5.<|im_end|>", "<think>\n\n</think>\n\n6.<|im_end|>"]
    assert [x for x in labels if x != X] == [t for a, b in response_spans(ids, markers) for t in ids[a:b]]
    assert labels[-1] == X  # the "\n" after the last <|im_end|>


def test_wrong_markers_mask_everything_and_check_labels_says_so(tok):
    ids = tok(render(tok, [U1, A1]), add_special_tokens=False)["input_ids"]
    labels = response_only_labels(ids, tok, response_part="<start_of_turn>model\n")
    assert fully_masked_rows([labels]) == [0]
    with pytest.raises(LabError, match="every example is fully masked"):
        check_labels([labels], response_part="<start_of_turn>model\n")
    good = response_only_labels(ids, tok)
    report = check_labels([good, labels])
    assert report["fully_masked"] == [1] and report["examples"] == 2


def test_masked_share():
    assert masked_share([X, X, 5, 6]) == 0.5
    assert masked_share([[X, 1], [X, X, X, 2]]) == pytest.approx(4 / 6)
    assert fully_masked_rows([[X, 1], [X, X], [3]]) == [1]
    assert math.isclose(masked_share(response_only_labels(SEQ, TOY)), 27 / 32)
