"""The labs' data path on the CPU: FineTome rows -> role/content messages -> Qwen3 text -> labels.

Nothing here imports Unsloth. The functions reproduce what the labs get from Unsloth so that the
chapters and the tests can show (and check) each step on a machine without a GPU:

- `standardize` does for one conversation what `unsloth.chat_templates.standardize_data_formats`
  does to a ShareGPT dataset: `{"from": "human", "value": ...}` -> `{"role": "user", "content": ...}`.
- `QWEN3_CHAT_TEMPLATE` renders like Unsloth's `qwen-3` template (the official Qwen3 one) for
  system, user and assistant messages, `add_generation_prompt` and `enable_thinking=False`.
- `response_only_labels` gives the labels that Unsloth's `train_on_responses_only` (unsloth_zoo
  2026.10.7, default `force_match=True`) writes, for one tokenized example.

Masking semantics (what `response_only_labels` keeps), checked against unsloth_zoo 2026.10.7:
every label is -100 except the tokens that follow each response marker (`<|im_start|>assistant\\n`)
up to the first of:

1. the tokenizer's EOS token, which is KEPT. Qwen3's chat tokenizer has EOS = `<|im_end|>`, so the
   model learns to close its answer; the `\\n` after `<|im_end|>` is masked.
2. a BOS token, the shared message opener (`<|im_start|>`, when the two markers start with the same
   special token), or another response marker, all NOT kept (the span ends before them).
3. the instruction marker (`<|im_start|>user\\n`), not kept.
4. the end of the sequence (a truncated answer): kept up to the last token.

So, for Qwen3, the span is the assistant text plus `<|im_end|>`. The final assistant turn renders
with an empty think block (`<think>\\n\\n</think>\\n\\n`), and that block lies inside the span: it is
trained on too, exactly as with Unsloth. Earlier assistant turns of a multi-turn conversation
render without a think block, and every assistant turn is kept (pass `last_response_only=True`
to keep only the last one, as Unsloth's option of that name does). A system turn is never kept.
If the tokenizer's EOS were `<|endoftext|>` instead, rule 2 would end the span at the next
`<|im_start|>`, and `<|im_end|>\\n` would be kept.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ftcourse.errors import LabError

ROLE_MAP = {"human": "user", "gpt": "assistant", "system": "system"}
IGNORE_INDEX = -100

QWEN3_INSTRUCTION_PART = "<|im_start|>user\n"
QWEN3_RESPONSE_PART = "<|im_start|>assistant\n"
# Qwen3's chat tokens. <think> and </think> are added tokens but not "special" in Qwen3's tokenizer
# (decode(skip_special_tokens=True) keeps them); the other three are special.
QWEN3_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
QWEN3_THINK_TOKENS = ("<think>", "</think>")
QWEN3_EMPTY_THINK = "<think>\n\n</think>\n\n"

# Written for this course. For system/user/assistant messages it renders byte for byte like the
# official Qwen3 template and Unsloth's "qwen-3" copy of it:
# - a system message: <|im_start|>system\n{content}<|im_end|>\n (tool-free case);
# - a user message:   <|im_start|>user\n{content}<|im_end|>\n;
# - an assistant message after the last user message: with a think block, which holds its
#   reasoning (`reasoning_content`, or text before </think> in the content); when there is none,
#   only the last message gets an (empty) block;
# - earlier assistant messages: <|im_start|>assistant\n{content}<|im_end|>\n, reasoning dropped;
# - add_generation_prompt: <|im_start|>assistant\n, plus an empty think block when
#   enable_thinking is false.
# Tool calls and tool messages are out of scope: the template refuses them instead of rendering
# them differently from Qwen3.
QWEN3_CHAT_TEMPLATE = (
    "{%- if tools -%}"
    "{{- raise_exception('This course template does not render tools.') -}}"
    "{%- endif -%}"
    "{%- set ns = namespace(last_user=messages|length - 1) -%}"
    "{%- for m in messages -%}"
    "{%- if m.role == 'user' -%}{%- set ns.last_user = loop.index0 -%}{%- endif -%}"
    "{%- endfor -%}"
    "{%- for m in messages -%}"
    "{%- if m.role == 'user' or m.role == 'system' -%}"
    "{{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' -}}"
    "{%- elif m.role == 'assistant' -%}"
    "{%- if m.tool_calls -%}"
    "{{- raise_exception('This course template does not render tool calls.') -}}"
    "{%- endif -%}"
    "{%- set content = m.content -%}"
    "{%- set reasoning = '' -%}"
    "{%- if m.reasoning_content is string -%}"
    "{%- set reasoning = m.reasoning_content -%}"
    "{%- elif '</think>' in content -%}"
    "{%- set reasoning = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') -%}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') -%}"
    "{%- endif -%}"
    "{%- if loop.index0 > ns.last_user and (loop.last or reasoning) -%}"
    "{{- '<|im_start|>assistant\\n<think>\\n' + reasoning.strip('\\n') + '\\n</think>\\n\\n'"
    " + content.lstrip('\\n') -}}"
    "{%- else -%}"
    "{{- '<|im_start|>assistant\\n' + content -}}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- raise_exception('Unsupported role: ' + m.role) -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}"
)


# ----------------------------------------------------------------------------- standardize
def standardize(conversations: Sequence[Mapping]) -> list[dict]:
    """ShareGPT turns -> [{"role", "content"}], like Unsloth's `standardize_data_formats`.

    Turns that already use role/content pass through, so calling it twice is harmless.
    """
    out = []
    for i, turn in enumerate(conversations):
        if "from" in turn:
            who, text = turn["from"], turn.get("value")
            role = ROLE_MAP.get(str(who).strip().lower())
        else:
            who, text = turn.get("role"), turn.get("content")
            role = who if who in ROLE_MAP.values() else None
        if role is None:
            raise LabError(
                f"대화의 {i}번째 turn에 알 수 없는 역할 {who!r}이(가) 있습니다. "
                f"허용되는 값은 {', '.join(ROLE_MAP)}입니다.",
                f"turn {i} has unknown role {who!r}; expected one of {', '.join(ROLE_MAP)}",
            )
        out.append({"role": role, "content": text})
    return out


def standardize_batch(batch: Mapping) -> dict:
    """For `dataset.map(standardize_batch, batched=True)`: rewrites the `conversations` column."""
    return {"conversations": [standardize(c) for c in batch["conversations"]]}


# ----------------------------------------------------------------------------- validate
def _bad(index: int, ko: str, en: str) -> LabError:
    return LabError(
        f"데이터셋 {index}번 행이 잘못되었습니다: {ko} 데이터를 고치거나 이 행을 걸러 낸 뒤 다시 실행하세요.",
        f"dataset row {index} is malformed: {en}. Fix the data or filter this row out, then rerun.",
    )


def validate_finetome_row(row, index: int) -> None:
    """Raise `LabError` naming row `index` and the problem if `row` does not follow FineTome's schema.

    Schema: {"conversations": [{"from": "human"|"gpt"|"system", "value": non-empty str}, ...],
    "source": str, "score": number}; `source` and `score` may be absent, `conversations` may not.
    The conversation starts with a human turn (or a system turn, then a human turn) and has at
    least one gpt turn. A system turn may only come first.
    """
    if not isinstance(row, Mapping):
        raise _bad(index, f"행이 dict가 아니라 {type(row).__name__}입니다.", f"the row is a {type(row).__name__}, not a dict")
    if "conversations" not in row:
        keys = ", ".join(map(str, row)) or "(없음)"
        raise _bad(index, f"'conversations' 키가 없습니다(있는 키: {keys}).",
                   f"missing key 'conversations' (keys present: {', '.join(map(str, row)) or 'none'})")
    if "source" in row and row["source"] is not None and not isinstance(row["source"], str):
        raise _bad(index, f"'source'가 문자열이 아니라 {type(row['source']).__name__}입니다.",
                   f"'source' is a {type(row['source']).__name__}, not a str")
    if "score" in row and row["score"] is not None:
        score = row["score"]
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise _bad(index, f"'score'가 유한한 숫자가 아닙니다({score!r}).", f"'score' is not a finite number ({score!r})")
    conv = row["conversations"]
    if isinstance(conv, (str, bytes)) or not isinstance(conv, Sequence):
        raise _bad(index, f"'conversations'가 list가 아니라 {type(conv).__name__}입니다.",
                   f"'conversations' is a {type(conv).__name__}, not a list")
    if len(conv) == 0:
        raise _bad(index, "'conversations'가 비어 있습니다.", "'conversations' is empty")
    roles = []
    for t, turn in enumerate(conv):
        where_ko, where_en = f"conversations[{t}]", f"conversations[{t}]"
        if not isinstance(turn, Mapping):
            raise _bad(index, f"{where_ko}가 dict가 아니라 {type(turn).__name__}입니다.",
                       f"{where_en} is a {type(turn).__name__}, not a dict")
        for key in ("from", "value"):
            if key not in turn:
                raise _bad(index, f"{where_ko}에 '{key}' 키가 없습니다.", f"{where_en} has no '{key}' key")
        who, value = turn["from"], turn["value"]
        if who not in ROLE_MAP:
            raise _bad(index, f"{where_ko}의 'from' 값 {who!r}은(는) 알 수 없는 역할입니다(허용: human, gpt, system).",
                       f"{where_en} has unknown 'from' value {who!r} (expected human, gpt or system)")
        if not isinstance(value, str):
            raise _bad(index, f"{where_ko}의 'value'가 문자열이 아니라 {type(value).__name__}입니다.",
                       f"{where_en} 'value' is a {type(value).__name__}, not a str")
        if not value.strip():
            raise _bad(index, f"{where_ko}의 'value'가 비어 있습니다.", f"{where_en} has an empty 'value'")
        if who == "system" and t != 0:
            raise _bad(index, f"system turn은 맨 앞에만 올 수 있는데 {where_ko}에 있습니다.",
                       f"a system turn may only come first, found one at {where_en}")
        roles.append(who)
    first = roles[1] if roles[0] == "system" and len(roles) > 1 else roles[0]
    if first != "human":
        pos = 1 if roles[0] == "system" else 0
        raise _bad(index, f"대화가 human turn으로 시작해야 하는데 conversations[{pos}]가 {first!r}입니다.",
                   f"the conversation must start with a human turn (after an optional system turn), "
                   f"but conversations[{pos}] is {first!r}")
    if "gpt" not in roles:
        raise _bad(index, "gpt turn이 하나도 없어서 학습할 응답이 없습니다.",
                   "there is no gpt turn, so nothing to train on")


def validate_rows(rows: Iterable) -> int:
    """Validate every row (a list or a `datasets.Dataset`); raise on the first bad one; return the count."""
    n = 0
    for i, row in enumerate(rows):
        validate_finetome_row(row, i)
        n += 1
    return n


def rows_with_special_text(rows: Iterable, specials: Sequence[str] = QWEN3_SPECIAL_TOKENS + QWEN3_THINK_TOKENS) -> list[tuple[int, str]]:
    """(row index, token) for text values that contain a chat special token literally.

    Such text is tokenized as the special token itself, so an `<|im_end|>` inside an answer ends the
    labelled span early. Not an error in `validate_finetome_row` (large datasets may have a few);
    a lab can report or filter them.
    """
    hits = []
    for i, row in enumerate(rows):
        for turn in row["conversations"]:
            text = turn.get("value", turn.get("content")) or ""
            hits += [(i, tok) for tok in specials if tok in text]
    return hits


# ----------------------------------------------------------------------------- masking
@dataclass(frozen=True)
class ResponseMarkers:
    """Token ids the masking needs; build it with `ResponseMarkers.from_tokenizer`."""

    instruction_ids: tuple[int, ...]
    response_ids: tuple[int, ...]
    eos_token_id: int | None = None
    bos_token_id: int | None = None
    message_start: tuple[int, ...] = ()

    @classmethod
    def from_tokenizer(cls, tokenizer, instruction_part: str = QWEN3_INSTRUCTION_PART,
                       response_part: str = QWEN3_RESPONSE_PART) -> "ResponseMarkers":
        q = tuple(tokenizer(instruction_part, add_special_tokens=False)["input_ids"])
        a = tuple(tokenizer(response_part, add_special_tokens=False)["input_ids"])
        if not q or not a:
            empty = "instruction_part" if not q else "response_part"
            raise LabError(f"{empty}가 토큰으로 바뀌지 않습니다(빈 문자열인가요?).",
                           f"{empty} tokenizes to nothing")
        # The shared opener (Qwen3: <|im_start|>) counts as a boundary only if it is made of special
        # tokens with visible text, as in unsloth_zoo.
        common = []
        for x, y in zip(q, a):
            if x != y:
                break
            common.append(x)
        added = getattr(tokenizer, "added_tokens_decoder", None) or {}
        special = {i for i, tok in added.items() if getattr(tok, "special", False)}
        special |= set(getattr(tokenizer, "all_special_ids", None) or [])
        visible = any(str(getattr(added.get(i), "content", "")).strip() for i in common)
        if not (common and all(i in special for i in common) and visible):
            common = []
        return cls(q, a, tokenizer.eos_token_id, tokenizer.bos_token_id, tuple(common))


def _starts(ids: Sequence[int], at: int, pattern: Sequence[int]) -> bool:
    return len(pattern) > 0 and tuple(ids[at:at + len(pattern)]) == tuple(pattern)


def response_spans(input_ids: Sequence[int], markers: ResponseMarkers) -> list[tuple[int, int]]:
    """[start, end) index ranges of the kept response tokens; see the module docstring for the rules."""
    ids = list(input_ids)
    n, a, q, s = len(ids), markers.response_ids, markers.instruction_ids, markers.message_start
    spans, j = [], 0
    while j < n:
        if not _starts(ids, j, a):
            j += 1
            continue
        start = j + len(a)
        j = start
        for k in range(start, n):
            tok = ids[k]
            if markers.eos_token_id is not None and tok == markers.eos_token_id:
                spans.append((start, k + 1))  # the EOS closes the answer: keep it
                j = k + 1
                break
            if (markers.bos_token_id is not None and tok == markers.bos_token_id) or _starts(ids, k, s) \
                    or _starts(ids, k, a):
                spans.append((start, k))  # next message begins: stop before it
                j = k
                break
            if _starts(ids, k, q):
                spans.append((start, k))
                j = k + len(q)
                break
            if k == n - 1:
                spans.append((start, n))  # truncated answer: keep what is there
                j = n
    return spans


def response_only_labels(input_ids: Sequence[int], markers, instruction_part: str = QWEN3_INSTRUCTION_PART,
                         response_part: str = QWEN3_RESPONSE_PART, last_response_only: bool = False) -> list[int]:
    """Labels for one example: the token id inside response spans, -100 elsewhere.

    `markers` is a `ResponseMarkers` or a tokenizer (then the two parts are tokenized with it).
    """
    if not isinstance(markers, ResponseMarkers):
        markers = ResponseMarkers.from_tokenizer(markers, instruction_part, response_part)
    ids = list(input_ids)
    labels = [IGNORE_INDEX] * len(ids)
    spans = response_spans(ids, markers)
    for start, end in (spans[-1:] if last_response_only else spans):
        labels[start:end] = ids[start:end]
    return labels


def _as_rows(labels) -> list[list[int]]:
    if hasattr(labels, "tolist"):
        labels = labels.tolist()
    labels = list(labels)
    if labels and not isinstance(labels[0], (list, tuple)) and not hasattr(labels[0], "tolist"):
        return [labels]
    return [list(x.tolist() if hasattr(x, "tolist") else x) for x in labels]


def masked_share(labels) -> float:
    """Fraction of label positions equal to -100 (one example or a batch of them)."""
    rows = _as_rows(labels)
    total = sum(len(r) for r in rows)
    return sum(x == IGNORE_INDEX for r in rows for x in r) / total if total else 0.0


def fully_masked_rows(labels) -> list[int]:
    """Indices of examples whose labels are all -100: they carry no loss (Unsloth drops them)."""
    return [i for i, r in enumerate(_as_rows(labels)) if all(x == IGNORE_INDEX for x in r)]


def check_labels(labels, instruction_part: str = QWEN3_INSTRUCTION_PART,
                 response_part: str = QWEN3_RESPONSE_PART) -> dict:
    """Summary of a labelled batch; raise `LabError` when every example is fully masked.

    That happens when the markers do not match the chat template, so no response is ever found.
    """
    rows = _as_rows(labels)
    empty = fully_masked_rows(rows)
    if rows and len(empty) == len(rows):
        raise LabError(
            f"모든 예제의 레이블이 -100이라 학습할 토큰이 없습니다. 응답 표시 {response_part!r}와 지시 표시 "
            f"{instruction_part!r}가 대화 템플릿과 맞는지 확인하세요(Qwen3: '<|im_start|>user\\n', "
            f"'<|im_start|>assistant\\n').",
            f"every example is fully masked (all labels are -100): check that response_part "
            f"{response_part!r} and instruction_part {instruction_part!r} match the chat template",
        )
    return {"examples": len(rows), "tokens": sum(len(r) for r in rows),
            "masked_share": masked_share(rows), "fully_masked": empty}
