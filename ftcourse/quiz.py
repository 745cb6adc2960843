"""The quiz bank: questions on the introduction, chapters 1-4 and the training-recipe page, with answers and explanations.

One source for three pages: `book/quiz.md` (interactive: `_static/quiz.js` checks an answer in the browser
and shows why), `book/quiz_print.md` (the same questions for a paper quiz, without answers) and
`book/quiz_key.md` (the instructor's answer key). The pages call the `render_*` functions when the site is
built, so every number in a question or an answer is computed then by the code the chapters use
(`ftcourse.peft_counts`, `memory`, `lora`, `quant`, `merging`, `recipes`, `recipe_notes`), never written by hand.

A question is multiple choice (exactly one correct `Option`; every wrong option says which misconception it
stands for) or numeric (`answer` within `tolerance`; `traps` name the wrong numbers a known mistake gives).
Texts are plain Korean with `code` in backticks: the renderers turn them into HTML or MyST.
`tests/test_quiz.py` checks the bank, the renderers and, in a browser, the built page.
"""
from __future__ import annotations

import dataclasses
import functools
import html
import json
import math
import random
import re
from dataclasses import dataclass

CHAPTERS = {  # group key (a chapter, or the recipe page) -> (the page it tests, its title in the quiz)
    "intro": ("intro", "왜 미세조정인가"),
    "ch1": ("ch1_peft", "1장 PEFT 이론"),
    "ch2": ("ch2_lora", "2장 LoRA의 수학"),
    "ch3": ("ch3_quant", "3장 수치 형식과 양자화"),
    "ch4": ("ch4_merging", "4장 모델 병합"),
    "recipe": ("recipe", "학습 레시피"),
}
MARKS = "①②③④⑤⑥"  # option labels on paper and in the key


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool = False
    why: str = ""  # the feedback for this option: why it is right, or which misconception it is


@dataclass(frozen=True)
class Trap:
    """A wrong number that a known mistake produces, and what to tell the student who enters it."""

    value: float
    why: str


@dataclass(frozen=True)
class Question:
    qid: str                      # "ch1-03"
    chapter: str                  # a key of CHAPTERS
    ref: str                      # the label of the chapter section it tests
    prompt: str
    explanation: str
    options: tuple[Option, ...] = ()
    answer: float | None = None   # numeric questions
    tolerance: float = 0.0        # absolute; an answer within it counts as right
    unit: str = ""
    traps: tuple[Trap, ...] = ()

    @property
    def kind(self) -> str:
        return "choice" if self.options else "number"

    @property
    def number(self) -> int:
        return int(self.qid.rsplit("-", 1)[1])

    def accepts(self, value: float) -> bool:
        """Whether a numeric answer counts as right (the same rule as `_static/quiz.js`)."""
        return abs(value - self.answer) <= self.tolerance + 1e-9 * abs(self.answer)

    def answer_text(self) -> str:
        if self.kind == "choice":
            i = next(i for i, o in enumerate(self.options) if o.correct)
            return f"{MARKS[i]} {self.options[i].text}"
        return with_unit(fmt(self.answer, self.decimals), self.unit)

    @property
    def decimals(self) -> int:
        """Decimal places that show the answer to within its tolerance (0 for exact integers)."""
        if self.tolerance <= 0:
            return 0 if float(self.answer).is_integer() else 6
        return max(0, math.ceil(-math.log10(2 * self.tolerance) - 1e-9))


def with_unit(number_text: str, unit: str) -> str:
    """A number and its unit as Korean text writes them: "480개", "81.1%", but "94 MiB", "0.25 GB"."""
    if not unit:
        return number_text
    attached = unit == "%" or "\uac00" <= unit[0] <= "\ud7a3"
    return f"{number_text}{unit}" if attached else f"{number_text} {unit}"


def fmt(x: float, decimals: int = 0) -> str:
    """Thousands separators as in the book (16,515,072); `decimals` places for non-integers."""
    if float(x).is_integer() and decimals == 0:
        return f"{int(x):,}"
    return f"{x:,.{decimals}f}"


def choice(qid, ref, prompt, explanation, correct, wrong) -> Question:
    """A multiple-choice question, correct option first; `questions()` then places it (`_place_answers`)."""
    options = [Option(correct[0], True, correct[1])] + [Option(text, False, why) for text, why in wrong]
    return Question(qid, qid.split("-")[0], ref, prompt, explanation, options=tuple(options))


def _place_answers(qs: list[Question]) -> list[Question]:
    """Shuffle the wrong options (seeded by the question's id) and put the correct one at a position drawn
    so that, within a chapter, each position holds the answer about equally often (stable from build to build)."""
    out = list(qs)
    for chapter in CHAPTERS:
        idx = [i for i, q in enumerate(out) if q.chapter == chapter and q.kind == "choice"]
        slots = [k % 4 for k in range(len(idx))]
        random.Random(chapter).shuffle(slots)
        for i, slot in zip(idx, slots):
            q = out[i]
            right = [o for o in q.options if o.correct]
            wrong = [o for o in q.options if not o.correct]
            random.Random(q.qid).shuffle(wrong)
            pos = slot % len(q.options)
            out[i] = dataclasses.replace(q, options=tuple(wrong[:pos] + right + wrong[pos:]))
    return out


def number(qid, ref, prompt, explanation, answer, tolerance=0.0, unit="", traps=()) -> Question:
    return Question(qid, qid.split("-")[0], ref, prompt, explanation, answer=float(answer),
                    tolerance=float(tolerance), unit=unit, traps=tuple(Trap(float(v), w) for v, w in traps))


# --- facts the questions compute ---------------------------------------------------------------

@functools.cache
def _qwen():
    """Qwen3-4B's config and parameter count (the real transformers class on the `meta` device)."""
    from .models import build_on_meta, count_parameters, qwen3_4b_config

    config = qwen3_4b_config()
    return config, count_parameters(build_on_meta(config))


def _gb(n_bytes: float) -> float:
    from .memory import GB

    return n_bytes / GB


def _gib(n_bytes: float) -> float:
    from .memory import GIB

    return n_bytes / GIB


# --- the questions, chapter by chapter ---------------------------------------------------------

def _intro() -> list[Question]:
    from . import memory as mem
    from .models import MODEL_CONFIGS
    from .recipes import LABS

    config, n_qwen = _qwen()
    lab = LABS["lab1_first_qlora"].full
    smaller = dataclasses.replace(lab, batch_size=1, grad_accum=8)
    head_pct = 100 * config.vocab_size * config.hidden_size / n_qwen
    n3b = 3_000_000_000
    mixed, bf16 = mem.MIXED_ADAMW, mem.BF16_ADAMW
    states_q4 = _gb(mem.full_finetune_bytes(n_qwen).total)
    cfg8 = MODEL_CONFIGS["Llama-3-8B"]()
    act_2k, act_4k = (mem.activation_bytes(cfg8, 1, s) for s in (2048, 4096))
    act_ckpt = mem.activation_bytes(cfg8, 1, 2048, checkpointing=True)
    rule_per_param = mem.weights_bytes(1, 2) + mem.training_rule_of_thumb(1, 2)
    return [
        choice(
            "intro-01", "intro-vs-rag",
            "학사 상담 챗봇이 올해 바뀐 수강 신청 규정을 모르고 작년 규정으로 답합니다. 무엇을 먼저 시도해야 합니까?",
            "정보가 없어서 생긴 실패(지식의 실패)입니다. 새 규정 문서를 색인에 넣고 질문과 함께 찾아 붙이면 되고, 규정이 또 "
            "바뀌어도 색인만 갱신하면 됩니다. 지식은 RAG, 행동은 미세조정입니다.",
            ("새 규정 문서를 색인에 넣고 검색해 붙인다(RAG)", "맞습니다. 모르는 정보는 입력으로 주는 것이 가장 빠르고 정확합니다."),
            [("새 규정으로 만든 문답으로 미세조정한다", "흔한 오해입니다. 미세조정으로 새 사실을 넣기는 어렵고, 모르던 사실을 "
              "억지로 외우게 하면 환각이 늘 수 있습니다. 규정이 바뀔 때마다 다시 학습해야 하는 문제도 있습니다."),
             ("더 큰 모델로 바꾼다", "올해 규정은 어떤 모델의 사전학습 데이터에도 없습니다. 크기를 키워도 모르는 것은 모릅니다."),
             ("시스템 프롬프트에 '최신 규정으로 답하라'고 적는다", "지시로는 모델이 모르는 정보가 생기지 않습니다. 정보 자체를 "
              "입력에 넣어야 합니다.")]),
        choice(
            "intro-02", "intro-vs-rag",
            "답변 형식(조항 번호 먼저, 세 문장 이내, 해요체)을 프롬프트에 자세히 적었더니 나아졌지만, 긴 대화에서는 여전히 "
            "형식이 무너집니다. 다음 수로 가장 알맞은 것은?",
            "정보는 있는데 행동이 틀린 실패이고, 프롬프트로는 일부만 고쳐집니다. 원하는 형식을 지킨 예시(긴 대화 포함)로 "
            "미세조정하면 형식을 가중치에 담을 수 있습니다.",
            ("원하는 형식의 예시로 미세조정한다", "맞습니다. 프롬프트로 다 고쳐지지 않는 행동 문제가 미세조정의 자리입니다."),
            [("RAG로 형식 안내 문서를 검색해 붙인다", "검색은 입력에 정보를 더할 뿐입니다. 형식을 지키는 행동은 이미 "
              "프롬프트에 적은 지시와 다르지 않아 같은 곳에서 무너집니다."),
             ("생성 온도(temperature)를 낮춘다", "온도는 다음 토큰을 고르는 무작위성만 줄입니다. 모델이 형식 규칙을 "
              "배우지는 않습니다."),
             ("모델의 어휘에 새 토큰을 더한다", "형식 문제는 어휘가 모자라서 생긴 것이 아닙니다. 새 토큰은 학습 없이는 "
              "뜻도 없습니다.")]),
        choice(
            "intro-03", "intro-misconceptions",
            "상담 말투 데이터만으로 오래 미세조정했더니 말투는 좋아졌지만, 전에는 잘 풀던 간단한 계산 문제를 틀리기 "
            "시작했습니다. 이 현상을 가장 잘 설명하는 것은?",
            "새 작업을 배우며 예전 능력을 잃는 파괴적 망각입니다. 미세조정은 모델을 특정 방향으로 특화하므로, 지켜야 할 "
            "능력도 평가에 넣어 함께 재야 합니다.",
            ("파괴적 망각(catastrophic forgetting)", "맞습니다. 좁은 데이터로 오래 학습하면 다른 능력이 떨어질 수 있습니다."),
            [("과소적합(underfitting)", "과소적합이면 학습한 말투부터 못 배웁니다. 여기서는 목표 작업은 좋아졌습니다."),
             ("스케일링 법칙의 한계", "스케일링 법칙은 모델과 데이터 크기에 따라 사전학습 손실이 줄어드는 규칙입니다. "
              "미세조정 뒤의 능력 상실과는 다른 이야기입니다."),
             ("미세조정은 모델을 전반적으로 똑똑하게 만든다는 증거", "반대입니다. 미세조정이 전반적인 능력을 올린다는 것은 "
              "흔한 오해입니다.")]),
        number(
            "intro-04", "intro-paradigm",
            f"실습 1은 {lab.max_steps}스텝 동안 배치 {lab.batch_size} × 기울기 누적 {lab.grad_accum}로 학습합니다. GPU 메모리가 "
            f"모자라 배치를 {smaller.batch_size}, 기울기 누적을 {smaller.grad_accum}로 바꾸고 스텝 수는 그대로 두었습니다. "
            "학습이 보는 대화는 모두 몇 개입니까?",
            f"한 스텝에 보는 예제는 배치 × 기울기 누적 = {smaller.batch_size} × {smaller.grad_accum} = "
            f"{smaller.examples_per_step}개로 원래({lab.examples_per_step}개)와 같습니다. 그래서 모두 "
            f"{lab.max_steps} × {smaller.examples_per_step} = {smaller.max_steps * smaller.examples_per_step:,}개입니다. "
            "기울기 누적은 메모리를 덜 쓰면서 한 스텝의 예제 수를 지킵니다.",
            smaller.max_steps * smaller.examples_per_step, unit="개",
            traps=[(smaller.max_steps * lab.batch_size * smaller.grad_accum, "원래 배치를 새 기울기 누적에 곱했습니다. "
                    f"배치는 {smaller.batch_size}로 줄었습니다."),
                   (smaller.max_steps, "스텝 수만 셌습니다. 스텝마다 여러 예제를 봅니다.")]),
        choice(
            "intro-05", "intro-transfer",
            "영어 영화평으로 사전학습된 인코더로, 라벨이 붙은 영어 영화평 200건을 긍정/부정으로 나누려 합니다. 어느 전략이 "
            "알맞습니까?",
            "데이터가 적고 원래 데이터와의 유사도가 높은 칸입니다. 본체가 이미 만든 특징을 믿고 분류 헤드만 학습하면 적은 "
            "데이터로도 과적합을 피할 수 있습니다.",
            ("본체는 얼리고 분류 헤드만 학습한다", "맞습니다. 데이터 적음 × 유사도 높음입니다."),
            [("모든 가중치를 학습한다", "200건으로 모든 가중치를 움직이면 과적합하기 쉽습니다. 바꿀 필요도 적습니다."),
             ("위층은 얼리고 아래층만 학습한다", "순서가 거꾸로입니다. 아래층이 일반적인 특징을, 위층이 작업에 특화된 "
              "특징을 배웁니다."),
             ("처음부터 새로 학습한다", "사전학습이 이미 치른 비용과 배운 특징을 버리는 선택이고, 200건으로는 배울 수 "
              "없습니다.")]),
        choice(
            "intro-06", "intro-transfer",
            f"Qwen3-4B에서 '헤드만 학습'하면 학습하는 파라미터가 전체의 약 {head_pct:.1f}%로 생각보다 많고, 입력 쪽 단어 "
            "표현까지 바뀝니다. 왜 그렇습니까?",
            f"Qwen3-4B는 출력층(`lm_head`)과 입력 임베딩이 같은 텐서를 공유합니다(tied embeddings). 출력층은 어휘 "
            f"{config.vocab_size:,}개 × 은닉 {config.hidden_size:,}차원의 큰 행렬이고, 그것을 학습하면 입력 임베딩도 함께 "
            "바뀝니다.",
            ("출력층이 입력 임베딩과 같은 텐서를 공유해서", "맞습니다. 공유를 끊지 않는 한 피할 수 없습니다."),
            [("출력층에 층마다 편향이 있어서", "Qwen3의 선형층에는 편향이 없습니다. 크기는 어휘 × 은닉 행렬에서 옵니다."),
             ("36개 층마다 출력층이 따로 있어서", "출력층은 맨 위에 하나뿐입니다."),
             ("그룹 쿼리 어텐션(GQA) 때문에", "GQA는 키·값 투영의 폭을 줄일 뿐, 출력층과는 상관이 없습니다.")]),
        number(
            "intro-07", "intro-memory-bytes",
            f"파라미터 {n3b / 1e9:.0f}B({n3b:,})개인 모델을 혼합 정밀도 AdamW로 완전 미세조정합니다. 활성화를 빼면 가중치, "
            "기울기, AdamW 상태, 마스터 가중치에 GB(10⁹바이트)로 얼마가 필요합니까?",
            f"파라미터당 가중치 {mixed.weights} + 기울기 {mixed.gradients} + AdamW 상태 {mixed.optimizer_states} + 마스터 "
            f"가중치 {mixed.master_weights} = {mixed.per_param}바이트이므로 {n3b:,} × {mixed.per_param}바이트 = "
            f"{_gb(mem.full_finetune_bytes(n3b).total):.0f} GB입니다.",
            _gb(mem.full_finetune_bytes(n3b).total), tolerance=0.5, unit="GB",
            traps=[(_gb(mem.weights_bytes(n3b, 2)), "16비트 가중치만 셌습니다. 기울기, AdamW 상태, 마스터 사본이 더 듭니다."),
                   (_gb(n3b * rule_per_param), "경험칙(가중치 + N×3×M)의 값입니다. AdamW의 m, v와 마스터 사본은 fp32입니다."),
                   (_gb(mem.full_finetune_bytes(n3b, bf16).total), "마스터 사본이 없는 bf16 AdamW의 값입니다. 혼합 정밀도는 "
                    "fp32 마스터 사본을 둡니다.")]),
        number(
            "intro-08", "intro-memory-bytes",
            f"혼합 정밀도 AdamW는 파라미터당 {mixed.per_param}바이트입니다. 마스터 사본 없이 bf16 가중치에 바로 갱신을 더하면 "
            "(기울기 bf16, AdamW의 m과 v는 fp32) 파라미터당 몇 바이트입니까?",
            f"가중치 {bf16.weights} + 기울기 {bf16.gradients} + m과 v {bf16.optimizer_states} = {bf16.per_param}바이트입니다. "
            "아낀 4바이트의 대가는 정밀도입니다. bf16에 작은 갱신을 더하면 반올림에 삼켜질 수 있습니다(3장).",
            bf16.per_param, unit="바이트",
            traps=[(mixed.per_param, "혼합 정밀도 그대로입니다. 마스터 사본 4바이트가 빠집니다."),
                   (bf16.weights + bf16.gradients + 2 * 2, "m과 v를 2바이트씩 셌습니다. 문제에서 m과 v는 fp32입니다.")]),
        choice(
            "intro-09", "intro-memory-activations",
            "체크포인팅 없이 학습할 때(어텐션 점수를 저장하는 구현), 배치는 그대로 두고 시퀀스 길이만 2배로 늘리면 "
            "활성화 메모리는 어떻게 됩니까?",
            f"층당 활성화는 s·b·h·(34 + 5·a·s/h)바이트이고, 어텐션 점수 항 5·a·s/h가 다시 s에 비례하므로 전체는 s의 제곱 "
            f"항을 가집니다. Llama-3-8B, 배치 1에서 길이 2048 → 4096이면 {act_4k / act_2k:.2f}배입니다. 점수를 저장하지 "
            "않는 커널(FlashAttention 계열)이라면 정확히 2배입니다.",
            ("2배보다 많이 늘어난다", "맞습니다. 어텐션 점수가 길이의 제곱으로 커지기 때문입니다."),
            [("정확히 2배가 된다", "점수를 저장하지 않는 커널에서만 맞습니다. 문제의 구현은 s × s 점수를 저장합니다."),
             ("그대로다", "활성화는 토큰마다 생기므로 길이에 따라 커집니다. 길이와 무관한 것은 가중치입니다."),
             ("4배보다 많이 늘어난다", "제곱 항만 있는 것이 아닙니다. 34·s·b·h 항은 길이에 비례해 2배만 늘어납니다.")]),
        choice(
            "intro-10", "intro-memory-activations",
            "활성화 체크포인팅(activation checkpointing)은 무엇을 대가로 무엇을 줄입니까?",
            f"층마다 입력만 남기고 나머지 활성화는 버렸다가 역전파 때 그 층의 순전파를 다시 계산합니다. Llama-3-8B, 배치 1, "
            f"길이 2048에서 활성화가 {_gb(act_2k):.1f} GB에서 {_gb(act_ckpt):.2f} GB로 줄고, 대가는 순전파를 한 번 더 하는 "
            "시간입니다. 결과는 근사가 아니어서 같습니다.",
            ("계산 시간을 더 들여 활성화 메모리를 줄인다", "맞습니다. 메모리를 계산으로 바꿉니다."),
            [("정확도를 조금 잃고 활성화 메모리를 줄인다", "다시 계산한 값은 처음 값과 같습니다. 근사가 아닙니다."),
             ("계산 시간을 더 들여 AdamW 상태를 줄인다", "옵티마이저 상태는 파라미터 수로 정해지고, 체크포인팅과 상관이 "
              "없습니다."),
             ("가중치를 4비트로 저장해 메모리를 줄인다", "그것은 양자화입니다. 체크포인팅은 가중치를 건드리지 않습니다.")]),
        choice(
            "intro-11", "intro-memory-rules",
            f"학습 경험칙 '가중치 + N×3×M'(M = 2)은 파라미터당 {rule_per_param:.0f}바이트로, 혼합 정밀도 AdamW의 "
            f"{mixed.per_param}바이트의 절반입니다. 차이는 주로 어디서 옵니까?",
            f"경험칙은 기울기, m, v를 모두 가중치와 같은 2바이트로 셉니다. 혼합 정밀도 AdamW는 m과 v를 fp32로 두고(그 몫으로 "
            f"{mixed.optimizer_states - 2 * 2}바이트 더) fp32 마스터 사본({mixed.master_weights}바이트)까지 둡니다. 경험칙이 "
            "틀렸다기보다 모든 값을 16비트로 둔다는 가정이 다릅니다.",
            ("m, v와 마스터 사본을 fp32로 두기 때문", "맞습니다. 두 몫을 더하면 차이 전부입니다."),
            [("경험칙이 활성화와 임시 버퍼를 빼기 때문", "이 비교는 양쪽 모두 활성화를 뺀 값입니다."),
             ("경험칙이 기울기를 빼고 Adam 상태만 세기 때문", "N×3×M의 3에 기울기 하나와 Adam 상태 둘이 들어 있습니다."),
             ("경험칙은 GB, 혼합 정밀도는 GiB로 세기 때문", "단위 차이는 약 7%일 뿐, 두 배를 만들지 못합니다.")]),
        choice(
            "intro-12", "intro-memory-next",
            f"Qwen3-4B를 혼합 정밀도 AdamW로 완전 미세조정하면 활성화 없이도 학습 상태가 {states_q4:.1f} GB입니다. "
            "무료 Colab의 T4(약 15 GB)에서 이 모델을 미세조정하려면 무엇이 필요합니까?",
            "학습하는 파라미터를 줄여(LoRA) 기울기, AdamW 상태, 마스터 사본을 없애고, 얼린 가중치를 4비트로 작게 저장해야 "
            "합니다(QLoRA). 둘 중 하나만으로는 모자랍니다.",
            ("LoRA를 붙이고 본체를 4비트로 저장한다(QLoRA)",
             "맞습니다. 학습 상태와 가중치를 함께 줄여야 T4에 들어갑니다."),
            [("배치를 1로, 시퀀스 길이를 512로 줄인다", "배치는 활성화만 줄입니다. 가중치와 학습 상태는 배치와 상관없이 그대로입니다."),
             ("활성화 체크포인팅으로 층 입력만 남긴다", "활성화만 줄어듭니다. 가중치, 기울기, AdamW 상태는 그대로입니다."),
             ("모든 값을 fp32로 두어 손실 스케일링을 없앤다", "fp32 AdamW도 파라미터당 16바이트이고, 활성화는 오히려 커집니다.")]),
        choice(
            "intro-13", "intro-procedure",
            "학습 뒤 평가 점수가 아주 좋게 나왔는데, 평가에 쓴 질문 몇 개가 학습 데이터에 그대로 들어 있었다는 것을 "
            "발견했습니다. 어떻게 해야 합니까?",
            "평가가 학습에 쓰지 않은 데이터로 이루어지지 않았으니 점수를 믿을 수 없습니다. 1단계(데이터셋 준비)로 돌아가 "
            "평가용 데이터를 학습 데이터와 겹치지 않게 다시 나누고, 5단계(평가)를 다시 합니다.",
            ("겹치지 않게 다시 나눠 다시 평가한다", "맞습니다. 외운 답을 잰 점수는 일반화를 말해 "
             "주지 않습니다."),
            [("겹친 질문이 몇 개뿐이니 그대로 배포한다", "겹친 질문에서는 외운 답을 쟀을 수 있습니다. 점수가 부풀려졌을 수 있습니다."),
             ("외우지 않도록 학습률을 낮춰 다시 학습한다", "문제는 학습 설정이 아니라 평가 데이터입니다. 다시 학습해도 같은 평가는 "
              "여전히 오염되어 있습니다."),
             ("더 큰 모델로 바꿔 같은 평가를 다시 한다", "모델 선택과 상관없는 문제입니다. 평가 데이터부터 고쳐야 합니다.")]),
    ]


def _ch1() -> list[Question]:
    from . import peft_counts as pc

    config, n_qwen = _qwen()
    shapes = pc.linear_shapes(config)
    L = config.num_hidden_layers
    r8 = pc.lora_param_count(config, 8)
    r24 = pc.lora_param_count(config, 24)
    qv8 = pc.lora_param_count(config, 8, ["q_proj", "v_proj"])
    (q_in, q_out), (v_in, v_out) = shapes["q_proj"], shapes["v_proj"]
    qv8_no_gqa = L * 8 * ((q_in + q_out) + (v_in + q_out))
    per_layer = {name: d_in + d_out for name, (d_in, d_out) in shapes.items()}
    prefix = pc.prefix_tuning_param_count(config, 20)
    prefix_hidden = 20 * L * 2 * config.hidden_size
    r16 = pc.lora_param_count(config, 16)
    r16_mb, r16_mb_bf16 = pc.adapter_bytes(r16, 4) / 1e6, pc.adapter_bytes(r16, 2) / 1e6
    return [
        number(
            "ch1-01", "ch1-lora-count",
            f"Qwen3-4B의 일곱 투영 모두에 랭크 r = 8인 LoRA를 붙이면 학습 파라미터가 {r8:,}개입니다. 같은 일곱 투영에 "
            "r = 24를 붙이면 몇 개입니까?",
            f"LoRA의 파라미터 수 L·Σ r(d_in + d_out)은 r에 비례합니다. r이 3배이므로 {r8:,} × 3 = {r24:,}개입니다.",
            r24, unit="개",
            traps=[(r8 * 9, "r의 제곱에 비례한다고 셌습니다. A는 r × d_in, B는 d_out × r로 r에 한 번씩만 비례합니다."),
                   (r8 * 24, "r = 1일 때의 값에 24를 곱해야 합니다. r = 8의 값에 24를 곱했습니다.")]),
        number(
            "ch1-02", "ch1-shapes",
            f"원래 LoRA 논문처럼 `q_proj`와 `v_proj`에만 r = 8로 붙입니다. Qwen3-4B에서 `q_proj`는 {q_in:,} → {q_out:,}, "
            f"`v_proj`는 {v_in:,} → {v_out:,}이고 층은 {L}개입니다. 학습 파라미터는 몇 개입니까?",
            f"{L} × 8 × (({q_in:,} + {q_out:,}) + ({v_in:,} + {v_out:,})) = {qv8:,}개입니다. `v_proj`의 출력이 좁은 것은 "
            f"그룹 쿼리 어텐션 때문입니다(키·값 헤드 {config.num_key_value_heads}개 × 헤드 폭 {pc.head_dim(config)}).",
            qv8, unit="개",
            traps=[(qv8_no_gqa, f"`v_proj`의 출력을 `q_proj`와 같은 {q_out:,}으로 셌습니다. GQA에서는 {v_out:,}입니다."),
                   (qv8 // L, "층 하나의 값입니다. 층 수를 곱하세요.")]),
        choice(
            "ch1-03", "ch1-shapes",
            "같은 랭크 r을 붙일 때, Qwen3-4B의 한 층에서 LoRA 파라미터가 가장 많은 투영은 어느 것입니까?",
            "투영 하나의 LoRA는 r(d_in + d_out)개입니다. d_in + d_out이 "
            + ", ".join(f"`{name}` {per_layer[name]:,}" for name in ("q_proj", "k_proj", "o_proj", "down_proj"))
            + f"이므로 피드포워드의 투영(`gate_proj`, `up_proj`, `down_proj`)이 가장 큽니다. 중간 차원 "
            f"{config.intermediate_size:,}이 은닉 차원보다 훨씬 넓기 때문입니다.",
            ("`down_proj`", "맞습니다. 피드포워드의 넓은 중간 차원 때문입니다."),
            [("`q_proj`", f"쿼리 출력({q_out:,})이 은닉 차원보다 넓지만, 피드포워드 중간 차원({config.intermediate_size:,})에는 "
              "못 미칩니다."),
             ("`k_proj`", "그룹 쿼리 어텐션 때문에 출력이 가장 좁은 투영입니다."),
             ("일곱 투영 모두 같다", "LoRA의 크기는 투영의 모양 d_in + d_out에 따라 다릅니다.")]),
        choice(
            "ch1-04", "ch1-families",
            "학습이 끝난 뒤 본체 가중치에 합쳐 넣어 추론 지연을 없앨 수 **없는** 기법은 어느 것입니까?",
            "병목 어댑터는 줄이는 행렬과 늘리는 행렬 사이에 비선형 함수가 있어서 하나의 행렬로 합칠 수 없고, 추론 때 층이 "
            "늘어납니다. LoRA는 BA를 W₀에 더하고, IA3는 배율 벡터를 가중치에 곱하고, BitFit의 편향은 원래 본체의 일부입니다.",
            ("병목 어댑터", "맞습니다. 비선형 함수가 끼어 있어 합칠 수 없습니다."),
            [("LoRA", "W = W₀ + (α/r)BA로 정확히 합칠 수 있습니다."),
             ("IA3", "배율 벡터를 가중치의 행이나 열에 곱해 넣을 수 있습니다."),
             ("BitFit", "학습한 편향은 본체에 원래 있던 파라미터입니다.")]),
        choice(
            "ch1-05", "ch1-bitfit",
            "Qwen3-4B에 BitFit(편향만 학습)을 그대로 적용하면 어떻게 됩니까?",
            f"Qwen3의 선형층은 모두 편향 없이 만들어지고 RMSNorm에도 편향이 없어, 학습할 편향이 "
            f"{pc.bitfit_param_count(config)}개입니다. 편향을 새로 더하거나 정규화층을 학습하는 것은 BitFit이 아닌 다른 "
            "기법입니다.",
            (f"학습할 편향이 {pc.bitfit_param_count(config)}개라 적용할 수 없다", "맞습니다. 인코더 시대의 기법이 최신 디코더와 "
             "맞는지 먼저 확인해야 합니다."),
            [("편향만 학습해 전체의 약 0.1%를 학습한다", "BERT처럼 편향이 있는 모델의 이야기입니다. Qwen3에는 편향이 없습니다."),
             ("`attention_bias=True`로 켜면 BitFit 그대로다", "사전학습에 없던 새 파라미터를 더하는 추가형 기법이 됩니다. "
              "모델 구조도 바뀝니다."),
             ("정규화층 가중치를 학습하는 것이 Qwen3의 BitFit이다", "편향이 아니라 다른 파라미터를 고르는 별개의 선택형 "
              "기법입니다.")]),
        number(
            "ch1-06", "ch1-methods",
            f"PEFT 0.21.2로 Qwen3-4B에 가상 토큰 20개의 프리픽스 튜닝을 붙입니다(재매개변수화 없음). 층마다 키와 값 프리픽스를 "
            f"하나씩 배우고, 층은 {L}개, 키·값 헤드는 {config.num_key_value_heads}개, 헤드 폭은 {pc.head_dim(config)}입니다. "
            "학습 파라미터는 몇 개입니까?",
            f"PEFT는 그룹 쿼리 어텐션 모델에서 프리픽스의 폭을 키·값 폭 t = {config.num_key_value_heads} × "
            f"{pc.head_dim(config)} = {pc.kv_dim(config):,}로 잡습니다. n·L·2t = 20 × {L} × 2 × {pc.kv_dim(config):,} = "
            f"{prefix:,}개입니다.",
            prefix, unit="개",
            traps=[(prefix_hidden, f"폭을 은닉 차원 {config.hidden_size:,}으로 셌습니다. 키와 값 캐시의 실제 폭은 키·값 폭입니다."),
                   (prefix // 2, "키와 값 가운데 하나만 셌습니다.")]),
        choice(
            "ch1-07", "ch1-methods",
            "P-튜닝(MLP 프롬프트 인코더)은 학습하는 파라미터 수와 저장되는 어댑터 크기가 크게 다릅니다. 왜 그렇습니까?",
            f"학습 중에는 가상 토큰 임베딩을 만들어 내는 MLP 인코더까지 학습하지만, PEFT는 저장할 때 인코더가 만들어 낸 "
            f"가상 토큰 임베딩(n × d, 토큰 20개면 {pc.prompt_tuning_param_count(config, 20):,}개)만 씁니다.",
            ("인코더가 만든 가상 토큰 임베딩만 저장하기 때문", "맞습니다. 학습 비용과 저장 크기가 "
             "다른 드문 경우입니다."),
            [("저장할 때 인코더를 16비트로 줄이기 때문", "자료형만으로는 절반밖에 줄지 않습니다. 차이는 그보다 훨씬 큽니다."),
             ("저장할 때 인코더가 본체에 병합되기 때문", "P-튜닝의 프롬프트는 입력 앞에 붙는 것이라 본체에 병합되지 않습니다."),
             ("safetensors가 인코더 가중치를 압축하기 때문", "safetensors는 텐서를 압축하지 않고 그대로 씁니다.")]),
        number(
            "ch1-08", "ch1-sizes",
            f"Qwen3-4B의 일곱 투영에 r = 8인 LoRA는 {r8:,}개입니다. 같은 자리에 r = 16인 LoRA를 학습해 PEFT 기본값대로 "
            "저장하면 파일의 텐서는 약 몇 MB(10⁶바이트)입니까? (소수 첫째 자리까지)",
            f"r = 16이면 {r16:,}개이고, PEFT는 16비트 본체 위에서도 어댑터를 fp32(4바이트)로 만듭니다. {r16:,} × 4바이트 ≈ "
            f"{r16_mb:.1f} MB입니다. 16비트 본체 전체(약 {2 * n_qwen / 1e6:,.0f} MB)의 몇 % 안 됩니다.",
            r16_mb, tolerance=0.05, unit="MB",
            traps=[(r16_mb_bf16, "파라미터당 2바이트로 셌거나(PEFT는 기본으로 어댑터를 fp32로 만듭니다), r = 8의 크기를 "
                    "셌습니다(r = 16은 두 배)."),
                   (r16_mb * 1e6 / 2**20, "MiB(2²⁰바이트)로 셌습니다. 문제는 MB(10⁶바이트)입니다.")]),
        choice(
            "ch1-09", "ch1-choosing",
            "LoRA 같은 PEFT는 완전 미세조정보다 학습 메모리를 적게 씁니다. 주로 무엇이 사라져서 줄어듭니까?",
            "얼린 본체는 그대로 메모리에 올라가고, 역전파는 본체 전체를 거쳐 활성화도 저장해야 합니다. 줄어드는 것은 학습하는 "
            "파라미터에만 붙는 기울기와 옵티마이저 상태(와 마스터 사본)입니다. 본체 자체를 줄이는 것은 QLoRA의 양자화입니다.",
            ("얼린 파라미터의 기울기·옵티마이저 상태", "맞습니다. 학습하는 파라미터에만 그것들이 붙습니다."),
            [("역전파에 필요한 활성화", "역전파가 본체를 모두 거쳐야 하므로 활성화는 여전히 저장합니다."),
             ("메모리에 올라간 본체 가중치", "LoRA만으로는 본체가 그대로 16비트로 올라갑니다. 본체를 줄이는 것은 양자화입니다."),
             ("출력층이 내는 로짓", "로짓의 크기는 어휘와 토큰 수로 정해지고, PEFT와 상관이 없습니다.")]),
        choice(
            "ch1-10", "ch1-lora",
            "실습이 Qwen3-4B를 T4 한 장에서 미세조정하는 조합은 무엇입니까?",
            "실습은 본체를 NF4 4비트로 올리고 LoRA를 붙여, 옵티마이저로 8비트 AdamW(`optim=\"adamw_8bit\"`)를 씁니다. QLoRA "
            "논문이 더한 페이지드 옵티마이저는 실습에서 쓰지 않습니다.",
            ("NF4 본체 + LoRA + 8비트 AdamW", "맞습니다."),
            [("NF4 본체 + LoRA + 페이지드 AdamW", "QLoRA 논문의 조합입니다. 실습의 옵티마이저는 페이지드가 아닌 8비트 AdamW입니다."),
             ("16비트 본체 + LoRA + AdamW", "16비트 본체만으로 T4 메모리의 절반을 넘습니다."),
             ("8비트 본체 + 완전 미세조정", "완전 미세조정은 모든 파라미터에 기울기와 옵티마이저 상태가 붙어 T4에 들어가지 "
              "않습니다.")]),
        choice(
            "ch1-11", "ch1-unsloth-claims",
            "Unsloth 저장소의 표는 'Qwen3 (14B): 2배 빠름, 70% 적음'이라고 적습니다. 이 수치를 어떻게 읽어야 합니까?",
            "Unsloth가 공개한 주장을 강의 자료가 옮긴 것이고, 이 책에서 잰 값이 아닙니다. 비교 조건(GPU, 시퀀스 길이, 배치)에 "
            "따라 달라지므로, 확인하려면 같은 조건에서 일반 스택과 직접 재야 합니다.",
            ("조건에 따라 다른 공개 주장이라 직접 재기 전엔 참고로만 본다", "맞습니다."),
            [("이 책이 실습 1에서 T4로 직접 잰 값이다", "이 책은 이 표의 값을 재지 않았습니다. 인용입니다."),
             ("메모리를 70% 줄이는 대신 정확도를 조금 잃는다는 뜻이다", "Unsloth는 근사를 쓰지 않는다고 주장합니다. 표는 "
              "정확도에 대해 말하지 않습니다."),
             ("어떤 GPU, 길이, 배치에서도 같은 배수가 나온다", "속도와 메모리 배수는 GPU, 길이, 배치에 따라 달라집니다.")]),
    ]


def _ch2() -> list[Question]:
    import torch.nn as nn

    from . import peft_counts as pc
    from .lora import LoRALinear

    config, _ = _qwen()
    shapes = pc.linear_shapes(config)
    L = config.num_hidden_layers
    (k_in, k_out), (g_in, g_out) = shapes["k_proj"], shapes["gate_proj"]
    a_shape = tuple(LoRALinear(nn.Linear(k_in, k_out, device="meta"), 8, 8).lora_A.shape)
    b_shape = tuple(LoRALinear(nn.Linear(k_in, k_out, device="meta"), 8, 8).lora_B.shape)
    gate_up4 = pc.lora_param_count(config, 4, ["gate_proj", "up_proj"])
    one_gate4 = LoRALinear(nn.Linear(g_in, g_out, device="meta"), 4, 4).num_trainable()
    rs = LoRALinear(nn.Linear(64, 64, device="meta"), 64, 16, use_rslora=True).scaling
    std = LoRALinear(nn.Linear(64, 64, device="meta"), 64, 16).scaling
    budget = pc.lora_param_count(config, 8, ["q_proj"])
    per_rank_kv = pc.lora_param_count(config, 1, ["k_proj", "v_proj"])
    r_kv = budget // per_rank_kv
    return [
        choice(
            "ch2-01", "ch2-formula",
            f"Qwen3-4B의 `k_proj`는 `nn.Linear({k_in}, {k_out})`입니다. 여기에 r = 8인 LoRA를 붙이면 PEFT의 "
            "`lora_A[\"default\"].weight`의 모양은 무엇입니까?",
            f"A는 입력 k = {k_in}차원을 r개로 줄이는 `nn.Linear({k_in}, 8)`의 가중치이고, PyTorch는 가중치를 "
            f"(out_features, in_features)로 저장하므로 {a_shape}입니다. B는 `nn.Linear(8, {k_out})`의 가중치로 {b_shape}입니다.",
            (f"{a_shape}", "맞습니다. (r, k)입니다."),
            [(f"{a_shape[::-1]}", "수식의 Aᵀ 모양입니다. PyTorch는 (out_features, in_features)로 저장합니다."),
             (f"{b_shape}", "그것은 B의 모양 (d, r)입니다."),
             (f"({8}, {k_out})", "A는 입력 쪽(k = 입력 차원)에 붙습니다. 출력 차원은 B가 맡습니다.")]),
        number(
            "ch2-02", "ch2-count",
            f"Qwen3-4B의 `gate_proj`({g_in:,} → {g_out:,})와 `up_proj`({g_in:,} → {g_out:,})에만, {L}개 층 모두에 r = 4인 "
            "LoRA를 붙입니다. 학습 파라미터는 몇 개입니까?",
            f"투영 하나에 r(d + k) = 4 × ({g_in:,} + {g_out:,}) = {one_gate4:,}개, 층마다 둘, 층 {L}개이므로 {gate_up4:,}개입니다.",
            gate_up4, unit="개",
            traps=[(2 * one_gate4, "층 하나의 값입니다. 층 수를 곱하세요."),
                   (L * 2 * g_in * g_out, "두 행렬 전체(d × k)를 셌습니다. 그것은 완전 미세조정의 수이고, LoRA는 r(d + k)입니다.")]),
        choice(
            "ch2-03", "ch2-init",
            "PEFT처럼 B = 0, A는 무작위로 LoRA를 시작합니다. 첫 스텝에서 기울기가 0이 아닌 행렬은 어느 것입니까?",
            "∂L/∂B = s·G·Aᵀ이고 ∂L/∂A = s·Bᵀ·G입니다. B = 0이면 A의 기울기는 0이고, A가 무작위이므로 B의 기울기는 0이 "
            "아닙니다. 한 스텝 뒤 B ≠ 0이 되면 A도 기울기를 받습니다.",
            ("B만", "맞습니다. A의 기울기에는 B가 곱해지므로 처음에는 0입니다."),
            [("A만", "거꾸로입니다. B의 기울기에 A가 곱해지고, A의 기울기에 B(= 0)가 곱해집니다."),
             ("A와 B 모두", "A의 기울기 s·Bᵀ·G는 B = 0이면 0입니다."),
             ("둘 다 0이라 학습되지 않는다", "그것은 A와 B를 모두 0으로 시작했을 때입니다. A가 무작위이면 B가 움직입니다.")]),
        choice(
            "ch2-04", "ch2-init",
            "LoRA를 B = 0으로 시작하는 가장 중요한 이유는 무엇입니까?",
            "ΔW = (α/r)BA = 0이므로 LoRA를 끼워 넣은 순간의 모델은 원래 모델과 똑같은 출력을 냅니다. 학습은 사전학습된 "
            "모델에서 정확히 출발하고, 잔차 연결처럼 옆 가지만 0에서 배웁니다.",
            ("끼운 순간의 출력이 원래 모델과 같도록", "맞습니다."),
            [("0인 행렬은 저장하지 않아 메모리를 아끼려고", "0인 행렬도 같은 메모리를 차지합니다."),
             ("ΔW의 랭크를 r 이하로 묶으려고", "랭크는 B와 A의 모양이 묶습니다. 초기값과 상관이 없습니다."),
             ("나중에 병합을 정확하게 하려고", "병합의 정확성은 행렬 곱의 선형성에서 옵니다. 초기값과 상관이 없습니다.")]),
        number(
            "ch2-05", "ch2-alpha",
            "r = 64, α = 16으로 rsLoRA(`use_rslora=True`)를 켜면 갱신에 곱하는 배율 s는 얼마입니까?",
            f"rsLoRA의 배율은 α/√r = 16/√64 = {rs:g}입니다. 표준 배율 α/r이라면 {std:g}로 8분의 1입니다. rsLoRA는 랭크가 "
            "커져도 갱신이 작아지지 않게 합니다.",
            rs, tolerance=0.005,
            traps=[(std, "표준 배율 α/r의 값입니다. rsLoRA는 α/√r입니다."),
                   (16 / 64 ** 2, "α/r²로 셌습니다. rsLoRA는 √r로 나눕니다.")]),
        choice(
            "ch2-06", "ch2-alpha-rank",
            "α = r 규칙(배율 s = 1)을 유지한 채 랭크를 8에서 64로 올리고 Adam으로 학습합니다. 같은 학습률이라면 무엇을 "
            "예상해야 합니까?",
            "배율은 그대로지만 ΔW의 한 원소는 B의 원소 r개에 A의 원소를 곱해 더한 값이라, Adam이 원소마다 비슷한 폭으로 "
            "움직이면 갱신이 랭크와 함께 커집니다. 랭크를 크게 올렸다면 학습률을 두세 값 다시 재 보는 것이 안전합니다.",
            ("갱신이 커져 학습률을 낮춰야 할 수 있다", "맞습니다. 이 장의 실험에서도 α = r에서는 갱신의 "
             "노름이 랭크와 함께 커졌습니다."),
            [("배율이 8분의 1로 줄어 갱신이 작아진다", "그것은 α를 고정했을 때입니다. α = r이면 배율은 1 그대로입니다."),
             ("배율이 같으니 학습은 완전히 같다", "배율이 같아도 더해지는 항의 수(r)가 늘어 갱신이 커집니다."),
             ("파라미터가 늘어 학습률을 8배 올려야 한다", "방향이 반대입니다. 갱신이 커지므로 올릴 이유가 없습니다.")]),
        choice(
            "ch2-07", "ch2-merge",
            "bf16 본체에 LoRA를 병합(W₀ + ΔW)했다가 같은 ΔW를 빼서 되돌립니다. 결과는?",
            "덧셈과 뺄셈은 수학적으로 역연산이지만 컴퓨터는 매번 반올림합니다. bf16은 가수가 7비트뿐이라 반올림 단위가 커서 "
            "float32보다 훨씬 큰 오차가 남습니다. 16비트로 병합한 모델에서는 어댑터를 깨끗하게 빼낼 수 없습니다.",
            ("원래 가중치로 정확히 돌아오지 않는다(bf16의 반올림 오차)", "맞습니다."),
            [("정확히 원래 가중치로 돌아온다", "수학에서는 그렇지만, 저장할 때마다 bf16으로 반올림됩니다."),
             ("float32에서만 오차가 생기고 bf16에서는 생기지 않는다", "거꾸로입니다. 정밀도가 낮은 bf16의 오차가 훨씬 큽니다."),
             ("병합하면 B와 A가 사라져 되돌리는 것이 아예 불가능하다", "ΔW를 알면 뺄 수 있습니다. 다만 반올림 때문에 "
              "정확하지 않습니다.")]),
        number(
            "ch2-08", "ch2-targets",
            f"Qwen3-4B의 `q_proj`({shapes['q_proj'][0]:,} → {shapes['q_proj'][1]:,})에만 r = 8로 붙인 것과 같은 예산을 "
            f"`k_proj`와 `v_proj`(각각 {k_in:,} → {k_out:,})에 같은 랭크로 나눠 쓰려 합니다. 예산을 넘지 않는 가장 큰 정수 "
            "랭크는 얼마입니까?",
            f"예산은 층마다 8 × ({shapes['q_proj'][0]:,} + {shapes['q_proj'][1]:,})이고, 랭크 1당 비용은 "
            f"2 × ({k_in:,} + {k_out:,})입니다. 나눈 값의 정수 부분은 {r_kv}입니다. 그룹 쿼리 어텐션 때문에 `k_proj`와 "
            "`v_proj`가 좁아, 정사각 투영처럼 반(4)으로 나눌 때보다 랭크를 더 줄 수 있습니다.",
            r_kv,
            traps=[(4, "모든 투영이 같은 모양인 작은 모델처럼 반으로 나눴습니다. `k_proj`와 `v_proj`는 `q_proj`보다 좁습니다.")]),
        choice(
            "ch2-09", "ch2-intrinsic",
            "완전 미세조정의 ΔW를 특잇값 분해하니, 에너지(특잇값 제곱)의 90%를 지키려면 큰 랭크가 필요했지만 손실 개선의 "
            "90%는 작은 랭크로 지켜졌습니다. 어떻게 해석해야 합니까?",
            "잡음과 Adam의 작은 갱신이 모든 방향에 조금씩 흔적을 남겨, 뒤쪽 특잇값의 긴 꼬리가 에너지를 차지합니다. 이 꼬리는 "
            "작업 손실에는 거의 기여하지 않습니다. 에너지가 퍼져 있다고 작업에 필요한 변화의 랭크가 높은 것은 아닙니다.",
            ("뒤쪽 특잇값의 긴 꼬리는 작업에 거의 기여하지 않는, 잡음에 가까운 변화다", "맞습니다."),
            [("에너지가 큰 방향일수록 작업에 중요하므로 큰 랭크가 필요하다", "실험은 그 반대를 보였습니다. 작은 랭크로도 "
              "손실 개선 대부분이 남았습니다."),
             ("특잇값 분해의 수치 오차 때문이다", "특잇값 분해는 이 크기에서 정확합니다. 차이는 ΔW 자체의 모양에서 옵니다."),
             ("LoRA는 에너지를 기준으로 학습하기 때문이다", "LoRA는 작업 손실을 줄이도록 학습합니다.")]),
        choice(
            "ch2-10", "ch2-lr",
            "LoRA의 학습률을 완전 미세조정과 비교하면 보통 어떻게 잡습니까?",
            "Adam은 학습하는 원소를 스텝마다 대략 학습률만큼 움직입니다. LoRA에서 ΔW의 한 원소는 B의 원소에 작은 A의 원소를 "
            "곱해 더한 값이라 스텝마다 덜 움직입니다. 그래서 LoRA는 더 큰 학습률을 원하고, 한 LLM 연구(Schulman 외, 2025)는 최적 학습률이 완전 미세조정의 약 10배였다고 보고합니다.",
            ("더 크게 잡는다", "맞습니다. 같은 학습률에서 ΔW가 덜 움직이기 때문입니다."),
            [("파라미터가 적으니 더 작게 잡는다", "학습하는 파라미터 수가 아니라 ΔW가 스텝마다 움직이는 폭이 중요합니다."),
             ("완전 미세조정과 같게 잡는다", "이 장의 실험에서 완전 미세조정의 학습률을 그대로 쓰면 r = 8의 손실이 최적보다 컸습니다."),
             ("랭크에 비례해 키운다", "α = r 규칙에서는 랭크가 클수록 갱신이 커져, 필요한 학습률이 오히려 내려갑니다.")]),
        choice(
            "ch2-11", "ch2-forgetting",
            "'LoRA는 덜 배우고 덜 잊는다'(Biderman 외, 2024)를 바르게 읽은 것은?",
            "그 연구에서 LoRA와 완전 미세조정은 배움-잊음 평면에서 같은 곡선 위에 놓였습니다. LoRA가 덜 잊은 것은 대체로 덜 "
            "배웠기 때문이고, 같은 만큼 배우면 비슷하게 잊습니다. PEFT가 망각을 막아 준다는 말은 지나친 일반화입니다.",
            ("같은 만큼 배우면 비슷하게 잊는다", "맞습니다."),
            [("LoRA는 본체를 얼리므로 망각이 일어나지 않는다", "본체를 얼려도 LoRA의 ΔW가 본체의 계산을 바꾸므로 옛 능력을 "
              "잃을 수 있습니다."),
             ("LoRA는 항상 완전 미세조정보다 새 작업을 잘 배운다", "LLM 실험에서 LoRA는 목표 영역의 성적이 완전 미세조정보다 "
              "낮았습니다."),
             ("충돌하는 작업에서도 LoRA는 옛 작업을 지킨다", "새 작업이 옛 작업의 정답을 바꾸라고 요구하면, 배운 만큼 잊을 "
              "수밖에 없습니다.")]),
        choice(
            "ch2-12", "ch2-unsloth",
            "Unsloth의 `get_peft_model`에 `lora_dropout=0.1`을 주면 어떻게 됩니까?",
            "Unsloth의 빠른 LoRA 커널은 드롭아웃 0과 `bias=\"none\"`을 전제로 작성되어 있습니다. 그 밖의 값이면 경고를 내고 "
            "LoRA 행렬을 뺀 부분만 빠른 경로로 패치하므로 학습이 느려집니다.",
            ("경고 뒤 일부만 빠른 경로로 돌아 느려진다", "맞습니다. 과적합이 걱정되면 데이터, 스텝 수, 학습률을 "
             "먼저 조정하는 편이 쌉니다."),
            [("드롭아웃 층만큼 학습 파라미터가 늘어난다", "드롭아웃은 파라미터를 더하지 않습니다."),
             ("빠른 커널이 드롭아웃을 몰라 오류로 멈춘다", "멈추지 않고 경고만 냅니다."),
             ("아무 영향이 없다. 드롭아웃은 학습 때만 켜진다", "속도에 영향이 있습니다. 빠른 커널은 드롭아웃 0을 전제합니다.")]),
    ]


def _ch3() -> list[Question]:
    import torch

    from . import memory as mem
    from . import quant as q
    from .peft_counts import linear_shapes, lora_param_count
    from .recipes import LABS

    config, _ = _qwen()
    fp16, bf16 = q.format_limits(*q.FLOAT_FORMATS["FP16"]), q.format_limits(*q.FLOAT_FORMATS["BF16"])

    def accumulate(dtype, start=8.0, update=0.01, steps=100):
        w = torch.tensor([start], dtype=dtype)
        for _ in range(steps):
            w = w + torch.tensor([update], dtype=dtype)
        return w.float().item()

    acc = {name: accumulate(dt) for name, dt in [("fp32", torch.float32), ("fp16", torch.float16),
                                                 ("bf16", torch.bfloat16)]}
    assert len({round(v, 4) for v in acc.values()}) == 3, acc  # the options below must differ
    odd = q.format_limits(6, 9)
    odd_no_specials = 2.0 ** (2 ** 6 - 1 - 31) * (2 - 2.0 ** -9)
    x = torch.tensor([0.3, -1.2, 0.6, 2.4])
    codes, _ = q.absmax_quantize(x)
    g_in, g_out = linear_shapes(config)["gate_proj"]
    packed = q.pack_4bit(torch.zeros(g_in * g_out, dtype=torch.uint8)).numel()
    nf4 = q.nf4_code()
    n_pos, n_neg = int((nf4 > 0).sum()), int((nf4 < 0).sum())
    lab = LABS["lab1_first_qlora"].full
    peak = mem.lora_peak_breakdown(config, lora_param_count(config, lab.lora_r), lab.batch_size, lab.max_seq_length)
    logits_at = {b: mem.logits_bytes(config, b, lab.max_seq_length, mem.LOGIT_BYTES) for b in (lab.batch_size, 1)}
    logits_saved = _gib(logits_at[lab.batch_size] - logits_at[1])
    logits_saved16 = _gib(mem.logits_bytes(config, lab.batch_size, lab.max_seq_length, 2)
                          - mem.logits_bytes(config, 1, lab.max_seq_length, 2))
    kv_2k, kv_32k = (_gb(mem.kv_cache_bytes(config, 1, s)) for s in (2048, 32768))
    return [
        choice(
            "ch3-01", "ch3-bits",
            "BF16과 FP16은 둘 다 16비트입니다. 두 형식의 차이를 바르게 말한 것은?",
            f"BF16은 지수 8비트로 FP32와 같은 범위(최댓값 약 {bf16['max']:.2g})를 갖지만 가수가 7비트라 eps가 "
            f"{bf16['eps']:g}입니다. FP16은 지수 5비트라 최댓값이 {fp16['max']:,.0f}에 그치지만 가수 10비트로 eps가 "
            f"{fp16['eps']:g}, BF16보다 {bf16['eps'] / fp16['eps']:.0f}배 정밀합니다.",
            ("BF16은 범위가 넓고, FP16은 더 정밀하다", "맞습니다. 지수가 범위를, 가수가 정밀도를 정합니다."),
            [("BF16이 범위도 넓고 더 정밀하다", "같은 16비트에서 지수에 비트를 더 주면 가수 비트가 줄어듭니다."),
             ("범위는 같고 FP16만 더 정밀하다", f"FP16의 최댓값은 {fp16['max']:,.0f}로 BF16보다 훨씬 작습니다."),
             ("FP16이 범위가 넓고 BF16이 더 정밀하다", "거꾸로입니다. BF16의 지수가 8비트, FP16은 5비트입니다.")]),
        number(
            "ch3-02", "ch3-bits",
            "부호 1비트, 지수 6비트, 가수 9비트인 가상의 16비트 IEEE 형식(지수 비트가 모두 1인 패턴은 inf와 NaN)이 "
            "있습니다. 이 형식의 가장 큰 유한한 값은 얼마입니까? (정수로)",
            f"bias = 2⁵ − 1 = 31이고, 지수 필드의 최댓값은 모두 1을 뺀 2⁶ − 2 = 62입니다. 가수가 모두 1이면 1.m = 2 − 2⁻⁹이므로 "
            f"2^(62 − 31) × (2 − 2⁻⁹) = {odd['max']:,.0f}입니다.",
            odd["max"], tolerance=0.5,
            traps=[(odd_no_specials, "지수 필드 63(모두 1)까지 썼습니다. IEEE 형식은 그 패턴을 inf와 NaN에 씁니다."),
                   (2.0 ** 31, "가수를 1.0으로 셌습니다. 가장 큰 값은 가수 비트가 모두 1일 때입니다.")]),
        choice(
            "ch3-03", "ch3-range",
            "가중치 8.0에 0.01짜리 갱신을 100번 더합니다. 매번 결과를 BF16으로 저장하면 마지막 값은 무엇입니까?",
            f"8 근처에서 BF16의 간격은 8 × eps = {8 * bf16['eps']:g}이고, 0.01은 그 절반({4 * bf16['eps']:g})보다 작아 매번 "
            f"반올림에 삼켜집니다. 그래서 {acc['bf16']:g}에서 움직이지 않습니다. FP32에서는 {acc['fp32']:.4f}, FP16에서는 "
            f"간격({8 * fp16['eps']:g})으로 반올림되어 {acc['fp16']:g}입니다. 마스터 가중치를 FP32로 두는 이유입니다.",
            (f"{acc['bf16']:g}", "맞습니다. 갱신이 반올림에 모두 삼켜집니다."),
            [(f"{acc['fp32']:.2f}", "FP32에서의 값입니다. BF16은 8 근처에서 간격이 너무 큽니다."),
             (f"{acc['fp16']:g}", "FP16에서의 값입니다. BF16의 가수는 FP16보다 3비트 적습니다."),
             ("inf", "넘침은 아닙니다. BF16의 범위는 FP32와 같습니다.")]),
        choice(
            "ch3-04", "ch3-range",
            "무료 Colab의 T4에서 Unsloth가 BF16 대신 FP16과 손실 스케일링으로 학습하는 이유는?",
            "BF16 연산은 NVIDIA Ampere(계산 능력 8.0) 이후에 들어왔고, T4는 계산 능력 7.5입니다. FP16은 범위가 좁아 작은 "
            "기울기가 사라지므로 손실 스케일링으로 기울기를 사라짐 구간 밖으로 옮깁니다.",
            ("T4(계산 능력 7.5)에는 BF16 연산이 없어서", "맞습니다."),
            [("FP16이 BF16보다 범위가 넓어서", "거꾸로입니다. 범위가 좁기 때문에 손실 스케일링이 필요합니다."),
             ("FP16이 BF16보다 메모리를 덜 써서", "둘 다 값 하나에 2바이트입니다."),
             ("BF16에서는 손실 스케일링을 쓸 수 없어서", "BF16은 범위가 넓어 손실 스케일링이 필요 없을 뿐입니다.")]),
        number(
            "ch3-05", "ch3-quantize",
            "x = (0.3, −1.2, 0.6, 2.4)를 텐서 하나에 스케일 하나인 absmax INT8로 양자화합니다(가장 큰 코드 127, 반올림). "
            "0.6의 코드는 얼마입니까?",
            f"스케일은 max|x| / 127 = 2.4 / 127이고, 코드는 round(0.6 × 127 / 2.4) = round(31.75) = {int(codes[2])}입니다.",
            int(codes[2]),
            traps=[(31, "반올림 대신 버림을 했습니다."),
                   (round(0.6 * 255 / 3.6), "영점 방식처럼 범위 전체를 255칸으로 나눴습니다. absmax는 가장 큰 절댓값을 127에 "
                    "맞춥니다.")]),
        choice(
            "ch3-06", "ch3-quantize",
            "ReLU를 지난 활성화(모두 0 이상)를 INT8로 양자화합니다. absmax와 영점 방식 중 어느 쪽이 왜 더 알맞습니까?",
            "값이 한쪽으로 쏠리면 absmax는 음수 쪽 코드를 거의 쓰지 않아 간격이 두 배쯤 됩니다. 영점 방식은 최솟값부터 "
            "최댓값까지를 코드 256개에 펼쳐 간격이 절반이 됩니다. 영점을 정수로 두므로 0도 정확히 나타냅니다.",
            ("영점 방식: 코드 전체를 써서 간격이 절반쯤으로 준다", "맞습니다. 대가는 곱셈마다 영점을 빼는 계산입니다."),
            [("absmax: 영점 방식은 0을 정확히 나타내지 못한다", "영점을 정수로 반올림해 두므로 0은 영점 코드가 되고 "
              "정확히 0으로 돌아옵니다."),
             ("absmax: 항상 오차가 더 작다", "0을 중심으로 대칭인 값(가중치)에서나 그렇습니다. 쏠린 값에서는 코드의 절반이 "
              "놉니다."),
             ("둘은 같은 코드를 낸다", "스케일과 영점이 달라 코드도 다릅니다.")]),
        choice(
            "ch3-07", "ch3-outliers",
            "텐서 전체에 absmax 하나를 쓰면 이상치 하나가 모든 값의 정밀도를 빼앗습니다. 블록 단위 양자화는 이 문제를 어떻게 "
            "줄입니까?",
            "값을 64개 같은 작은 블록으로 나누고 블록마다 absmax를 따로 둡니다. 이상치는 자기 블록의 스케일만 키우고, 다른 "
            "블록은 제 크기에 맞는 스케일을 씁니다. 대가는 블록마다 저장하는 상수입니다.",
            ("블록마다 스케일을 따로 둔다", "맞습니다."),
            [("이상치를 찾아 0으로 지운다", "값을 버리지 않습니다. 이상치도 자기 블록 안에서 양자화됩니다."),
             ("이상치가 있는 특징 열을 16비트로 따로 곱한다", "그것은 LLM.int8()의 혼합 정밀도 분해입니다."),
             ("이상치가 있는 블록에 비트를 더 준다", "블록마다 코드의 비트 수는 같고, 스케일만 다릅니다.")]),
        number(
            "ch3-08", "ch3-qlora",
            "4비트 코드를 블록 32개마다 absmax 하나로 양자화하고, 그 absmax들을 QLoRA처럼 256개씩 묶어 8비트로 다시 "
            "양자화합니다(묶음마다 fp32 상수 하나). 가중치 하나에 드는 비트는 모두 몇 비트입니까? (소수 넷째 자리까지)",
            f"코드 4비트 + 8비트 absmax의 몫 8/32 + fp32 상수의 몫 32/(32 × 256) = {q.bits_per_param(4, 32, True):.4f}비트입니다. "
            f"이중 양자화가 없으면 4 + 32/32 = {q.bits_per_param(4, 32):g}비트입니다.",
            q.bits_per_param(4, 32, True), tolerance=0.00005, unit="비트",
            traps=[(q.bits_per_param(4, 32), "이중 양자화 없이 fp32 absmax를 그대로 셌습니다."),
                   (q.bits_per_param(4, 64, True), "블록 64(bitsandbytes 기본값)의 값입니다. 문제의 블록은 32입니다.")]),
        number(
            "ch3-09", "ch3-int4",
            f"Qwen3-4B의 `gate_proj`({g_in:,} × {g_out:,})를 bitsandbytes처럼 4비트로 저장하면(코드 두 개를 `uint8` 한 "
            "바이트에), 저장된 가중치 텐서의 `numel()`은 얼마로 보입니까?",
            f"값은 {g_in:,} × {g_out:,} = {g_in * g_out:,}개이고, 한 바이트에 코드가 두 개씩 들어가 `uint8` {packed:,}개입니다. "
            "그래서 4비트 모델의 파라미터 수를 `numel()`로 더하면 선형층이 절반으로 세어집니다.",
            packed, unit="개",
            traps=[(g_in * g_out, "원래 값의 개수입니다. 저장된 텐서는 한 바이트에 코드 두 개를 담습니다."),
                   (g_in * g_out // 8, "8비트에 코드 8개로 셌습니다. 4비트 코드는 한 바이트에 두 개입니다.")]),
        choice(
            "ch3-10", "ch3-nf4",
            "NF4는 16개 값을 표준정규분포의 분위수에 둡니다. 왜 그렇게 합니까?",
            f"블록을 absmax로 나눈 사전학습 가중치는 대체로 정규분포를 따릅니다. 분위수에 값을 두면 각 코드가 맡는 구간에 "
            f"비슷한 수의 가중치가 들어가 코드가 고르게 쓰이고 오차가 작아집니다. 0을 정확히 하나 두려고 양수 쪽 {n_pos}개, "
            f"음수 쪽 {n_neg}개로 비대칭입니다.",
            ("정규분포 같은 가중치에서 코드가 고르게 쓰이도록", "맞습니다."),
            [("0을 코드에서 빼 한 칸을 아끼려고", "NF4에는 정확히 0인 값이 하나 있습니다."),
             ("양수와 음수 값의 개수를 같게 하려고", f"NF4는 양수 {n_pos}개, 음수 {n_neg}개로 비대칭입니다."),
             ("GPU가 정규분포 값을 더 빨리 곱해서", "계산은 16비트로 역양자화한 뒤에 합니다. 표의 모양과 연산 속도는 상관이 "
              "없습니다.")]),
        choice(
            "ch3-11", "ch3-bitnet",
            "이미 학습한 FP16 모델의 가중치를 absmean으로 {−1, 0, 1} 세 값으로 바꾸면 어떻게 됩니까?",
            "이 장의 작은 모델에서도 퍼플렉서티가 크게 나빠졌습니다. BitNet b1.58은 처음부터 세 값 가중치로 학습한 모델(순전파는 "
            "세 값, 갱신은 고정밀)이고, 활성화는 8비트입니다. 학습된 모델을 나중에 바꾸는 방법이 아닙니다.",
            ("품질이 크게 나빠진다", "맞습니다."),
            [("4비트 양자화와 비슷한 품질이 나온다", "4비트 형식은 퍼플렉서티를 조금만 바꿨지만, 세 값은 크게 나빠졌습니다."),
             ("활성화까지 1.58비트가 되어 메모리가 20분의 1이 된다", "BitNet b1.58의 활성화는 8비트입니다."),
             ("3B 이상이면 사후 변환으로도 FP16과 같아진다", "논문의 3B 결과는 처음부터 세 값으로 학습한 모델의 것입니다.")]),
        choice(
            "ch3-12", "ch3-peak",
            f"실습 1의 레시피(Qwen3-4B 4비트, r = {lab.lora_r}, 배치 {lab.batch_size}, 길이 {lab.max_seq_length:,})에서 견적한 "
            "최대 메모리의 가장 큰 두 항목은?",
            f"견적은 가중치 {_gib(peak.weights):.2f} GiB, 손실 시점의 FP32 로짓 {_gib(peak.transient):.2f} GiB, 작업 공간 "
            f"{_gib(peak.workspace):.2f} GiB, LoRA 학습 상태 {_gib(peak.trainable_states):.2f} GiB, 활성화 "
            f"{_gib(peak.activations):.2f} GiB입니다. 가중치를 4비트로 줄이고 나면 어휘 전체에 대한 로짓이 주인공이 됩니다.",
            ("가중치와 손실 시점의 로짓", "맞습니다."),
            [("LoRA의 기울기와 8비트 AdamW 상태", f"LoRA 학습 상태는 모두 {_gib(peak.trainable_states):.2f} GiB뿐입니다."),
             ("체크포인트한 활성화와 작업 공간", "Unsloth는 체크포인트를 CPU로 내려 GPU에 거의 남기지 않습니다."),
             ("키-값 캐시와 가중치", "키-값 캐시는 추론에서 생기는 것입니다. 학습 한 스텝의 최대 메모리에는 들어가지 않습니다.")]),
        number(
            "ch3-13", "ch3-peak",
            f"실습 1에서 메모리가 모자라 배치를 {lab.batch_size}에서 1로 줄입니다(최대 길이 {lab.max_seq_length:,}은 그대로, "
            f"어휘 {config.vocab_size:,}개). Unsloth의 손실처럼 로짓을 FP32로 계산하면, 손실 시점의 로짓은 몇 GiB 줄어듭니까? "
            "(소수 둘째 자리까지)",
            f"로짓은 s × b × V × 4바이트입니다. 토큰이 {lab.max_seq_length * (lab.batch_size - 1):,}개 줄어 "
            f"{lab.max_seq_length * (lab.batch_size - 1):,} × {config.vocab_size:,} × 4바이트 ≈ {logits_saved:.2f} GiB입니다. "
            "가중치와 LoRA 상태는 토큰 수와 상관이 없어 그대로입니다.",
            logits_saved, tolerance=0.005, unit="GiB",
            traps=[(logits_saved16, "로짓을 16비트로 셌습니다. Unsloth의 융합 손실은 로짓을 FP32로 올립니다."),
                   (logits_saved * mem.GIB / mem.GB, "GB(10⁹바이트)로 셌습니다. 문제는 GiB(2³⁰바이트)입니다.")]),
        choice(
            "ch3-14", "ch3-estimates",
            "추론 경험칙 N × M × 1.2(가중치에 20%)는 언제 크게 빗나갑니까?",
            f"키-값 캐시는 문맥 길이에 비례합니다. Qwen3-4B의 16비트 키-값 캐시는 배치 1에서 길이 2,048이면 {kv_2k:.2f} GB, "
            f"32,768이면 {kv_32k:.2f} GB로, 긴 문맥에서는 20% 여유로 턱없이 모자랍니다.",
            ("문맥이 길 때", "맞습니다."),
            [("문맥이 짧을 때", "짧은 문맥에서는 키-값 캐시가 작아 경험칙이 잘 맞습니다."),
             ("가중치를 4비트로 저장할 때", "M에 0.5를 넣으면 가중치 몫은 맞게 셉니다. 빗나가는 것은 길이에 따라 커지는 몫입니다."),
             ("배치가 1일 때", "배치 1이 가장 작은 경우입니다. 빗나가는 것은 길이나 배치가 클 때입니다.")]),
    ]


def _ch4() -> list[Question]:
    import torch

    from . import merging as mg
    from . import peft_counts as pc

    config, n_qwen = _qwen()
    torch.manual_seed(0)
    base = torch.randn(6)
    finetuned = [base + 0.1 * torch.randn(6) for _ in range(3)]
    soup = mg.linear(finetuned, [1, 1, 1])
    tau_sum = sum(f - base for f in finetuned)
    lam = float(((soup - base) / tau_sum).mean())
    v0, v1 = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 2.0])
    slerp_x = float(mg.slerp(0.5, v0, v1)[0])
    lerp_x = float(((v0 + v1) / 2)[0])
    deltas = [torch.tensor(v) for v in ([0.6, 0.1, -0.2, 0.3], [-0.2, -0.5, 0.1, 0.4], [-0.3, 0.05, -0.4, 0.1])]
    ties_first = float(mg.ties(deltas, [1, 1, 1], 0.5)[0])
    trimmed_first = [float(mg.magnitude_keep(d, 0.5)[0]) for d in deltas]
    torch.manual_seed(0)
    dare_kept = float(mg.random_drop(torch.ones(64), 0.3).max())
    cat3 = pc.lora_param_count(config, 3 * 4, ["q_proj", "v_proj"])
    one4 = pc.lora_param_count(config, 4, ["q_proj", "v_proj"])
    return [
        choice(
            "ch4-01", "ch4-why",
            "코드 모델, 수학 모델, 말투 모델을 가중치끼리 합쳐(합산 계열) 하나로 만들려 합니다. 가장 중요한 전제는?",
            "합산 계열은 같은 자리의 가중치가 같은 뜻이어야 합니다. 구조가 같고, 같은 본체에서 미세조정한 모델이어야 믿을 수 "
            "있습니다. 어휘가 다른 모델도 그대로는 합칠 수 없습니다.",
            ("같은 본체에서 미세조정한 같은 구조의 모델이다", "맞습니다."),
            [("같은 데이터로 학습한 모델들이다", "데이터는 달라도 됩니다. 다른 작업의 모델을 합치는 것이 목적입니다."),
             ("같은 학습률과 스텝 수로 학습했다", "학습률은 전제가 아닙니다. 작업 벡터가 같은 본체에서 출발했는지가 중요합니다."),
             ("파라미터 수만 같으면 본체는 달라도 된다", "수가 같아도 본체가 다르면 같은 자리의 가중치가 다른 뜻입니다.")]),
        number(
            "ch4-02", "ch4-linear",
            "같은 본체 θ₀에서 미세조정한 세 모델의 선형 평균 (θ_A + θ_B + θ_C)/3을 작업 산술 θ₀ + λ(τ_A + τ_B + τ_C)로 쓰면 "
            "λ는 얼마입니까? (소수 셋째 자리까지)",
            f"θ_i = θ₀ + τ_i를 넣으면 평균은 θ₀ + (τ_A + τ_B + τ_C)/3이므로 λ = 1/3 ≈ {lam:.3f}입니다. K개를 평균하면 "
            "작업 벡터가 1/K배로 줄어 각 작업을 덜 하게 되므로, 작업 산술은 λ를 검증 집합에서 고릅니다.",
            lam, tolerance=0.0005,
            traps=[(1, "작업 벡터를 그대로 더한 작업 산술입니다. 평균은 각 작업 벡터를 1/3로 줄입니다."),
                   (0.5, "모델이 둘일 때의 값입니다.")]),
        choice(
            "ch4-03", "ch4-task-arithmetic",
            "θ₀ + τ_A + τ_B로 두 작업을 더한 모델에서 τ_A를 다시 빼면 어떤 모델이 됩니까?",
            "가중치 공간에서는 덧셈과 뺄셈이 정확히 되돌려집니다. θ₀ + τ_A + τ_B − τ_A = θ₀ + τ_B로 모델 B와 같습니다. 이 장의 "
            "실험에서도 숫자 +1은 거의 0이 되고 글자 +3은 모델 B와 똑같았습니다.",
            ("모델 B(θ₀ + τ_B)", "맞습니다."),
            [("본체 θ₀", "τ_B는 그대로 남아 있습니다."),
             ("두 작업 모두 약해진 모델", "τ_B는 건드리지 않았으므로 작업 B는 모델 B만큼 합니다."),
             ("작업 A를 반만 하는 모델", "τ_A를 통째로 뺐으므로 작업 A의 변화는 남지 않습니다.")]),
        choice(
            "ch4-04", "ch4-slerp",
            "같은 본체에서 미세조정한 두 모델의 가중치를 t = 0.5로 SLERP하면 선형 평균과 어떻게 다릅니까?",
            "t = 0.5에서 두 계수가 같으므로 SLERP는 선형 평균과 방향이 같고 길이만 1/cos(Ω/2)배입니다. 같은 본체의 미세조정 "
            "모델 사이는 각 Ω가 작아 차이가 몇 %에 그치고, 거의 평행하면 구현이 선형 보간으로 바꿉니다.",
            ("방향은 같고 길이만 조금 길다", "맞습니다."),
            [("방향이 완전히 다르다", "t = 0.5에서는 두 모델의 계수가 같아 방향이 선형 평균과 같습니다."),
             ("SLERP가 언제나 더 좋은 모델을 만든다", "결과는 평가해 봐야 압니다. 각이 작으면 거의 같은 모델입니다."),
             ("셋 이상의 모델도 한 번에 SLERP할 수 있다", "SLERP는 두 모델 사이의 보간입니다.")]),
        number(
            "ch4-05", "ch4-slerp",
            "v₀ = (2, 0), v₁ = (0, 2)일 때 t = 0.5의 SLERP 결과의 첫 성분은 얼마입니까? (소수 셋째 자리까지)",
            f"각 Ω = 90°이고 계수는 sin(45°)/sin(90°) = √2/2입니다. 결과는 √2/2 × (2, 2) = ({slerp_x:.3f}, {slerp_x:.3f})로 "
            f"길이 2를 지킵니다. 선형 보간은 ({lerp_x:g}, {lerp_x:g})로 길이가 짧아집니다.",
            slerp_x, tolerance=0.0005,
            traps=[(lerp_x, "선형 보간의 값입니다. SLERP는 호를 따라가 길이를 지킵니다.")]),
        number(
            "ch4-06", "ch4-ties",
            "세 작업 벡터가 네 자리에서 τ₁ = (0.6, 0.1, −0.2, 0.3), τ₂ = (−0.2, −0.5, 0.1, 0.4), τ₃ = (−0.3, 0.05, −0.4, 0.1)"
            "입니다. TIES(density 0.5: 벡터마다 절댓값 상위 두 자리만 남김, 가중치 모두 1)로 병합한 결과의 **첫째 자리**는? (소수 둘째 자리까지)",
            f"다듬으면 첫째 자리는 ({trimmed_first[0]:g}, {trimmed_first[1]:g}, {trimmed_first[2]:g})입니다(τ₂의 −0.2는 "
            f"상위 두 자리에 들지 못함). 합 {sum(trimmed_first):g}이 양수라 부호는 +이고, +인 값만 평균하면 "
            f"{ties_first:g}입니다.",
            ties_first, tolerance=0.005,
            traps=[(sum(trimmed_first), "다듬은 값을 모두 더했습니다. 뽑힌 부호와 같은 값만 평균합니다."),
                   (sum(trimmed_first) / 3, "다듬은 값을 모두 평균했습니다. 부호가 반대인 값과 0은 빠집니다."),
                   (float(sum(deltas)[0] / 3), "다듬지 않고 평균했습니다.")]),
        choice(
            "ch4-07", "ch4-dare",
            "DARE는 버리는 비율 p로 작업 벡터의 값을 무작위로 버린 뒤, 남은 값을 1/(1 − p)배로 키웁니다. 키우는 이유는?",
            "값 δ가 남을 확률이 1 − p이므로 E[남긴 값] = (1 − p) × δ/(1 − p) = δ입니다. 층의 출력이 평균적으로 바뀌지 않습니다. "
            "분산은 p/(1 − p)배만큼 늘어나므로 버릴 수 있는 비율에는 모델마다 한계가 있습니다. (mergekit은 L1 노름을 맞추는 "
            "다른 관례를 씁니다.)",
            ("출력의 기댓값을 그대로 지키려고", "맞습니다."),
            [("출력의 분산을 그대로 지키려고", "분산은 오히려 p/(1 − p)배만큼 늘어납니다."),
             ("크기가 큰 값을 골라 남기려고", "DARE는 크기를 보지 않고 무작위로 버립니다. 크기 순은 TIES의 다듬기입니다."),
             ("부호 충돌을 없애려고", "부호 충돌은 TIES의 부호 뽑기가 다룹니다.")]),
        number(
            "ch4-08", "ch4-dare",
            "DARE를 논문과 PEFT의 관례대로 `density` = 0.3으로 적용합니다. 버리지 않고 남은 값은 원래 값의 몇 배가 됩니까? "
            "(소수 셋째 자리까지)",
            f"`density`는 남기는 비율 1 − p입니다. 남은 값은 1/density = 1/0.3 ≈ {dare_kept:.3f}배가 됩니다.",
            dare_kept, tolerance=0.0005, unit="배",
            traps=[(1 / 0.7, "`density`를 버리는 비율로 읽었습니다. 남기는 비율이 0.3입니다."),
                   (1, "다시 키우지 않았습니다. DARE는 남은 값을 키워 기댓값을 지킵니다.")]),
        number(
            "ch4-09", "ch4-lora",
            f"Qwen3-4B의 `q_proj`와 `v_proj`에만 붙인 r = 4 LoRA 어댑터 세 개(각 {one4:,}개)를 PEFT의 `cat`으로 합칩니다. "
            "합친 어댑터의 학습 파라미터는 몇 개입니까?",
            f"`cat`은 A를 위아래로, B를 옆으로 이어 랭크가 4 + 4 + 4 = 12인 어댑터 하나를 만듭니다. 파라미터 수는 랭크에 "
            f"비례하므로 {cat3:,}개, 곧 세 어댑터를 합친 만큼입니다. 정확하지만 메모리는 줄지 않습니다.",
            cat3, unit="개",
            traps=[(one4, "랭크를 그대로 두고 셌습니다. 그것은 `linear`처럼 A끼리 B끼리 섞는 방법의 크기입니다."),
                   (one4 * 9, "랭크의 제곱으로 셌습니다. 파라미터 수는 랭크에 비례합니다.")]),
        choice(
            "ch4-10", "ch4-lora",
            "PEFT의 `add_weighted_adapter(..., combination_type=\"linear\")`로 두 LoRA 어댑터를 합치면 무엇이 문제입니까?",
            "`linear`는 A끼리, B끼리 따로 섞습니다. 곱에는 원하는 Σ w_i s_i B_i A_i 외에 B₁A₂ 같은 교차항이 생기는데, 어느 "
            "어댑터도 학습한 적 없는 변화입니다. 정확하게 합치려면 `cat`을 쓰거나 ΔW 자체를 합칩니다(`svd`는 랭크를 줄이는 "
            "만큼만 근사).",
            ("교차항 B₁A₂가 생겨 ΔW의 합과 다르다", "맞습니다."),
            [("문제없다. 정확히 ΔW의 합을 만든다", "곱 (B₁ + B₂)(A₁ + A₂)에는 교차항이 들어 있습니다."),
             ("랭크가 r₁ + r₂로 늘어 메모리가 커진다", "랭크를 늘리는 것은 `cat`입니다. `linear`는 랭크를 그대로 둡니다."),
             ("두 어댑터의 랭크가 같으면 교차항이 사라진다", "모양이 같아야 섞을 수 있을 뿐, 교차항은 그대로 생깁니다.")]),
        choice(
            "ch4-11", "ch4-lora",
            "같은 문제(숫자 입력)에 한 어댑터는 각 숫자 +1, 다른 어댑터는 −1을 학습했습니다. 두 어댑터를 `cat`으로 합치면?",
            "`cat`은 두 ΔW의 합을 정확히 만들지만, 더할 대상 자체가 서로를 지웁니다. 같은 입력에 다른 행동을 요구하는 작업끼리는 "
            "어떤 병합도 둘을 모두 살릴 수 없습니다. 모델이 내는 답은 하나이고, 그 답은 한 작업에서만 맞기 때문입니다.",
            ("정확한 합이지만 두 작업을 함께 살릴 수는 없다", "맞습니다. LoRA 병합의 '충돌 위험'입니다."),
            [("`cat`은 정확하므로 두 작업 모두 잘한다", "정확한 것은 ΔW의 합입니다. 그 합이 두 작업을 다 잘한다는 보장은 "
              "아닙니다."),
             ("TIES로 합치면 두 작업을 모두 살린다", "부호 뽑기는 충돌하는 자리에서 한쪽을 고를 뿐입니다. 같은 입력에 답은 "
              "하나입니다."),
             ("랭크를 키우면 두 작업을 모두 살린다", "랭크는 표현력의 문제이고, 이것은 정답 자체가 충돌하는 문제입니다.")]),
        choice(
            "ch4-12", "ch4-evaluation",
            "작업 산술의 λ를 시험 집합에서 골라 그 시험 점수를 보고하면 어떻게 됩니까?",
            "λ도 하이퍼파라미터입니다. 시험 집합에서 고르면 '시험 문제를 보고 고른' 몫이 점수에 섞여 낙관적으로 부풀려집니다. "
            "설정은 검증 집합에서 고르고 시험 집합은 한 번만 씁니다. 공개 리더보드를 보며 병합 설정을 거듭 고르는 것도 같습니다.",
            ("점수가 낙관적으로 부풀려진다", "맞습니다. 시험 점수의 최댓값을 고른 셈이라 차이는 음수가 될 수 없습니다."),
            [("더 정직한 점수가 된다", "검증에 쓴 데이터의 점수는 일반화를 말해 주지 않습니다."),
             ("검증 집합에서 고른 것보다 항상 낮아진다", "시험 집합의 최댓값을 고르므로 같거나 높게 나옵니다."),
             ("λ는 하이퍼파라미터가 아니라서 상관없다", "λ, density, t 모두 병합의 하이퍼파라미터입니다.")]),
        choice(
            "ch4-13", "ch4-moe",
            "밀집 모델을 업사이클링해 전문가 4개(모두 원래 피드포워드의 복사본), 토큰당 2개를 쓰는 MoE로 만들고, 고른 두 "
            "전문가의 가중치를 합이 1이 되게 정규화합니다. 라우터가 무작위로 시작하면 출력은?",
            "전문가가 모두 같으므로 출력은 (고른 두 가중치의 합) × 원래 피드포워드 출력이고, 정규화하면 합이 1입니다. 라우터가 "
            "무엇을 고르든 원래 모델과 같은 출력입니다. 늘어난 파라미터는 학습을 이어 가며 전문가들이 달라져야 의미가 생깁니다.",
            ("원래 밀집 모델과 같다", "맞습니다."),
            [("라우터가 무작위라 출력도 무작위다", "어떤 전문가를 골라도 같은 함수라서 출력은 그대로입니다."),
             ("전문가 두 개를 더하므로 출력이 두 배가 된다", "정규화한 가중치의 합이 1이라 두 배가 되지 않습니다."),
             ("파라미터가 늘었으니 바로 더 정확해진다", "전문가가 모두 같아 늘어난 파라미터가 아직 아무 일도 하지 않습니다.")]),
    ]


# --- questions on sections added after the first bank: the base model, safety, taxonomies, downsides,
# frameworks (intro, chapter 1), and the training-recipe page (book/recipe.md) -----------------------

def _intro_more() -> list[Question]:
    from .recipes import LABS

    lab = LABS["lab1_first_qlora"].full
    return [
        choice(
            "intro-14", "intro-base-instruct",
            f"실습 1이 올리는 `{lab.model}`의 이름에는 'Instruct'가 없습니다. 이 체크포인트는 어떤 모델입니까?",
            "사후학습까지 마친 Qwen3-4B를 Unsloth가 4비트로 양자화한 것입니다. 같은 크기의 "
            "기반 모델은 `Qwen3-4B-Base`라는 이름으로 따로 공개되어 있습니다. Qwen3-4B는 생각 모드와 비생각 모드를 한 "
            "모델에 담은 혼합형이라 이름에 'Instruct'를 붙이지 않았습니다.",
            ("사후학습을 마친 혼합형(생각·비생각) 모델의 4비트 양자화본", "맞습니다. 이름만으로 기반 모델인지 판단하면 "
             "안 됩니다."),
            [("사전학습만 마친 기반 모델", "기반 모델은 `Qwen3-4B-Base`입니다. 실습의 모델은 대화와 거절을 이미 배웠습니다."),
             ("4비트로 양자화하면서 사후학습이 지워진 모델", "양자화는 가중치를 작게 저장할 뿐, 배운 행동을 지우지 "
              "않습니다."),
             ("비생각 전용 모델(Instruct-2507)과 같은 모델", "비생각 전용은 나중에 따로 나온 `Qwen3-4B-Instruct-2507`입니다. "
              "실습의 모델은 두 모드를 모두 갖습니다.")]),
        choice(
            "intro-15", "intro-base-instruct",
            "지시 모델을 미세조정하면서, 학습 데이터에는 사후학습 때와 다른 대화 형식(예: '질문:'과 '답:' 머리말)을 "
            "입혔습니다. 무슨 일이 생기기 쉽습니까?",
            "지시 모델은 사후학습에 쓴 대화 표시(Qwen3라면 `<|im_start|>user` … `<|im_end|>`)를 이미 압니다. 다른 형식을 "
            "쓰면 모델은 처음 보는 문자열에 맞추느라 학습을 허비하고, 추론 때 원래 템플릿으로 물으면 배운 행동이 잘 "
            "나오지 않습니다. 미세조정 데이터에는 모델이 학습한 것과 같은 템플릿을 입힙니다.",
            ("새 형식을 익히느라 학습을 허비하고, 원래 템플릿으로는 잘 안 나온다",
             "맞습니다. 기반 모델이면 템플릿을 새로 정해 가르쳐야 하지만, 지시 모델은 있는 템플릿을 그대로 씁니다."),
            [("아무 일도 없다. 모델은 형식이 아니라 내용만 배운다", "형식도 토큰입니다. 모델은 대화 표시까지 그대로 학습합니다."),
             ("사후학습이 통째로 지워져 기반 모델로 되돌아간다", "사후학습이 통째로 지워지지는 않습니다. 문제는 두 형식이 섞여 학습이 "
              "비효율적이 되는 것입니다."),
             ("토크나이저가 처음 보는 머리말을 읽지 못해 오류로 멈춘다", "'질문:' 같은 평범한 글자는 토크나이저가 문제없이 "
              "나눕니다. 오류 없이 조용히 나빠지는 것이 위험합니다.")]),
        choice(
            "intro-16", "intro-base-instruct",
            f"추론 과정이 없는 FineTome으로 실습 1의 모델을 {lab.max_steps}스텝 학습했습니다. Qwen3 템플릿은 마지막 응답 "
            "앞에 빈 `<think>` 블록을 붙이고, 그 블록도 학습 구간에 들어갑니다. 모델은 어떤 형식을 배웁니까?",
            "학습 데이터의 응답은 모두 추론 없이 바로 답하는 형식이었습니다(마지막 응답은 빈 블록 뒤, 앞선 응답은 블록 "
            "없이). 그래서 모델은 '생각 없이 바로 답하기'를 배웁니다. 실습이 학습 전후의 답을 비생각 모드로 받아 비교하는 "
            "이유이고, 생각 모드의 능력까지 지키려면 추론 과정이 담긴 데이터를 섞어야 합니다.",
            ("생각 없이 바로 답하는 형식", "맞습니다."),
            [("생각 모드의 추론이 더 길고 꼼꼼해진다", "학습 데이터에 추론 과정이 한 줄도 없습니다. 배울 재료가 없습니다."),
             ("빈 블록은 학습에서 빠지므로 아무 영향이 없다", "빈 `<think>` 블록은 응답 구간에 있어 손실에 들어갑니다."),
             ("비생각 모드가 사라지고 늘 생각 모드로 답한다", "거꾸로입니다. 학습한 것이 바로 비생각 형식입니다.")]),
        choice(
            "intro-17", "intro-base-small",
            "실습의 smoke 프로필은 무작위로 초기화한 작은 Qwen3로 학습 한 바퀴를 돌립니다. 품질을 보지 않는데도 먼저 "
            "돌리는 이유는?",
            "첫 실패는 대개 파이프라인에서 납니다. 템플릿이 어긋나거나, 응답 표시 문자열이 틀려 라벨이 모두 가려지거나, "
            "평가가 학습 데이터를 다시 읽는 실수는 모델 크기와 상관없이 똑같이 일어나므로, 몇 분이면 도는 작은 모델에서 "
            "잡는 편이 쌉니다.",
            ("템플릿·라벨·평가의 실수는 크기와 상관없이 나므로 싸게 잡으려고",
             "맞습니다."),
            [("작은 모델의 손실 곡선으로 4B 모델의 최종 품질을 예측하려고", "무작위 모델의 손실은 품질에 대해 아무것도 말해 주지 "
              "않습니다."),
             ("작은 모델에서 가장 좋았던 학습률을 찾아 4B에 그대로 쓰려고", "smoke 프로필은 학습률을 고르는 실험이 아닙니다. 크기가 "
              "다르면 알맞은 학습률도 다를 수 있습니다."),
             ("작은 모델로 싸게 학습한 어댑터를 나중에 4B에 옮겨 붙이려고", "모양이 달라 붙일 수 없습니다. 어댑터는 학습한 본체에만 "
              "맞습니다.")]),
        choice(
            "intro-18", "intro-distillation",
            "큰 모델은 데이터를 만들거나 채점하는 데는 쓸 수 있지만, 서비스는 비용과 응답 시간 때문에 작은 모델로 해야 "
            "합니다. 알맞은 방법과 그 대가는?",
            "지식 증류입니다. 교사(큰 모델)의 답이나 확률 분포로 학생(작은 모델)을 학습시킵니다. Qwen3-4B도 큰 Qwen3를 "
            "교사로 한 강한 모델에서 약한 모델로의 증류로 사후학습했습니다. 대가로 학생은 교사의 실수까지 배우고, 교사의 "
            "이용 약관이 출력을 학습에 쓰는 것을 막을 수 있으며, 얼마나 따라잡았는지는 평가용 데이터로 재야 합니다.",
            ("교사의 답으로 작은 모델을 학습시키는 증류(교사의 실수까지 배운다)", "맞습니다."),
            [("큰 모델을 4비트로 양자화해 작은 모델만큼 가볍게 만든다", "양자화는 모델을 작게 저장할 뿐 파라미터 수와 계산은 그대로입니다. "
              "작은 모델이 필요하면 증류입니다."),
             ("큰 모델의 가중치를 작은 모델에 병합해 능력을 옮긴다", "구조와 크기가 다른 모델은 가중치끼리 합칠 수 없습니다."),
             ("증류. 학생은 교사보다 정확해지므로 따로 평가할 필요가 없다", "학생은 교사를 흉내 냅니다. 교사를 넘는다는 보장은 없습니다.")]),
        choice(
            "intro-19", "intro-safety",
            "사후학습으로 위험한 요청을 거절하도록 배운 모델을, 안전과 상관없는 무해한 지시 데이터(FineTome 같은)로 "
            "미세조정했습니다. 학습 뒤 거절 행동에 대해 무엇을 말할 수 있습니까?",
            "Qi 외(2024)는 흔한 무해한 지시 데이터셋으로 미세조정하기만 해도, 해로운 예시로 학습할 때보다 덜하지만 안전 "
            "정렬이 약해졌다고 보고했습니다. 안전 행동은 사후학습이 남긴 행동의 하나이고, 우리 데이터가 다시 보여 주지 "
            "않으면 밀려날 수 있습니다(파괴적 망각). 재 보기 전에는 모릅니다.",
            ("약해졌을 수 있다. 재 보기 전에는 모른다", "맞습니다. 학습 전후의 거절률을 같은 평가용 프롬프트로 잽니다."),
            [("데이터가 무해하니 그대로다", "무해한 데이터로도 안전 정렬이 약해진다는 보고가 있습니다."),
             ("LoRA는 본체를 얼리므로 그대로다", "어댑터를 붙인 모델은 원래 모델과 다른 모델입니다. 본체를 얼려도 행동은 "
              "바뀝니다."),
             ("해로운 예시를 적어도 수천 개 넣어야 바뀐다", "같은 연구에서 해로운 예시 10개로 학습한 모델이 거의 모든 해로운 "
              "지시에 응했습니다.")]),
        choice(
            "intro-20", "intro-safety",
            "안전을 위해 거절 예시를 학습 데이터에 아주 많이 섞었습니다. 평가용 프롬프트 묶음에 무엇을 함께 넣어야 이 "
            "선택의 부작용이 보입니까?",
            "Bianchi 외(2024)에서 안전 예시를 조금(3%) 섞으면 해로운 답이 크게 줄었지만, 너무 많이 넣으면 '프로세스를 "
            "죽이는 법'처럼 겉보기만 위험한 무해한 질문까지 거절했습니다(과잉 거절). 해로운 요청(거절해야 함)과 겉보기만 "
            "위험한 무해한 요청(답해야 함)을 함께 재야 두 방향의 실패가 모두 보입니다.",
            ("겉보기만 위험한 무해한 요청(답해야 하는 것)", "맞습니다. 과잉 거절은 이 묶음에서만 보입니다."),
            [("해로운 요청만 더 많이", "해로운 요청만 재면 거절률이 높을수록 좋아 보여 과잉 거절을 놓칩니다."),
             ("학습에 쓴 거절 예시 그대로", "학습한 예시로 재면 외운 답을 잽니다. 평가용 프롬프트는 학습에 쓰지 않은 것이어야 "
              "합니다."),
             ("아무것도 더 넣지 않는다. 안전 예시가 많을수록 안전하다", "안전 예시가 지나치면 무해한 질문까지 거절하는 "
              "부작용이 생깁니다.")]),
    ]


def _ch1_more() -> list[Question]:
    from importlib.metadata import requires

    from . import peft_counts as pc

    config, _ = _qwen()
    r8 = pc.lora_param_count(config, 8)
    embed = config.vocab_size * config.hidden_size
    with_embed, two_rows = r8 + embed, r8 + 2 * config.hidden_size

    def deps(package):
        required, optional = set(), set()
        for spec in requires(package) or []:
            name = re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].lower()
            (optional if "extra ==" in spec else required).add(name)
        return required, optional - required

    trl_req, trl_opt = deps("trl")
    peft_req, peft_opt = deps("peft")
    # the option marked correct below must be what the installed packages declare
    assert {"transformers", "accelerate"} <= trl_req and "peft" in trl_opt and "peft" not in trl_req, (trl_req, trl_opt)
    assert "trl" not in peft_req | peft_opt, peft_req
    return [
        choice(
            "ch1-12", "ch1-taxonomies",
            "교재의 두 갈래(어댑터 기반, 소프트 프롬프트 기반)와 조사 논문의 세 계열(추가형, 선택형, 재매개변수화형)을 "
            "맞대면, '소프트 프롬프트 기반'에 해당하는 것은?",
            "소프트 프롬프트 기반은 추가형 가운데 소프트 프롬프트 계열(프롬프트 튜닝, 프리픽스 튜닝, P-튜닝)과 같습니다. "
            "어댑터 기반은 나머지 전부, 곧 추가형의 어댑터 계열과 IA3, 선택형(BitFit), 재매개변수화형(LoRA)을 한데 묶은 "
            "것입니다. 교재가 어댑터 기반을 '추가형'이라고도 부르는 것은 이름만 같을 뿐 조사 논문의 추가형보다 넓습니다.",
            ("추가형의 소프트 프롬프트 계열만", "맞습니다."),
            [("추가형 전체(어댑터 계열 포함)", "추가형에는 병목 어댑터와 IA3도 들어 있고, 이들은 두 갈래에서 어댑터 기반입니다."),
             ("재매개변수화형(LoRA 계열)", "LoRA와 그 변형은 두 갈래에서 어댑터 기반입니다."),
             ("선택형과 추가형의 어댑터 계열", "BitFit(선택형)은 교재가 어댑터 기반에 넣습니다. 가중치 쪽의 파라미터를 학습하기 "
              "때문입니다.")]),
        choice(
            "ch1-13", "ch1-taxonomies",
            "작은 Qwen3에 LoRA, IA3, 프롬프트 튜닝을 따로 붙여 학습한 뒤 PEFT의 `merge_and_unload()`를 부릅니다. 원래 "
            "Qwen3와 같은 구조로 돌아가면서 출력이 (반올림 오차 안에서) 그대로인 것은?",
            "LoRA는 BA를 W₀에 더하고, IA3는 배율 벡터를 가중치에 곱해 넣으므로 둘 다 접혀 들어가 원래 구조가 됩니다. "
            "프롬프트 튜닝의 가상 토큰은 가중치가 아니라 입력이라 접어 넣을 곳이 없고, PEFT 모델에 `merge_and_unload`가 "
            "아예 없습니다. 병합할 수 있는지는 갈래가 아니라 '학습한 부분이 선형으로 가중치에 접히는가'가 정합니다.",
            ("LoRA와 IA3", "맞습니다. 1장의 풀이 셀이 작은 Qwen3로 확인합니다."),
            [("LoRA만", "IA3의 배율 벡터도 가중치의 행이나 열에 곱해 넣을 수 있습니다."),
             ("셋 모두", "프롬프트 튜닝은 입력 앞에 붙는 것이라 가중치에 접히지 않습니다."),
             ("셋 모두 아니다. 병합하면 출력이 바뀐다", "LoRA와 IA3는 병합 전후의 출력이 반올림 오차만큼만 다릅니다.")]),
        number(
            "ch1-14", "ch1-downsides",
            f"새 토큰의 표현을 배우게 하려고, Qwen3-4B의 일곱 투영에 붙인 r = 8 LoRA({r8:,}개)에 더해 임베딩 전체도 "
            f"학습합니다(`modules_to_save=[\"embed_tokens\"]`). 임베딩의 행(어휘)은 {config.vocab_size:,}개 그대로, 은닉 차원은 "
            f"{config.hidden_size:,}이고, "
            "출력층은 임베딩과 같은 텐서를 공유합니다. 학습 파라미터는 모두 몇 개입니까?",
            f"임베딩 행렬은 {config.vocab_size:,} × {config.hidden_size:,} = {embed:,}개이고, 출력층은 같은 텐서라 한 번만 "
            f"셉니다. {r8:,} + {embed:,} = {with_embed:,}개로 LoRA만 쓸 때의 약 {with_embed / r8:.0f}배입니다. 새 토큰의 "
            f"행만 학습하면(`trainable_token_indices`, 토큰 2개) {two_rows:,}개로 싸지만, 어휘 크기를 늘리는 일은 본체의 "
            "모양을 바꿔 어댑터만 따로 배포할 수 없게 합니다.",
            with_embed, unit="개",
            traps=[(r8 + 2 * embed, "출력층을 따로 셌습니다. Qwen3-4B는 출력층과 임베딩이 같은 텐서입니다."),
                   (two_rows, "새 토큰의 행만 학습하는 `trainable_token_indices`(토큰 2개)의 값입니다. 문제는 임베딩 "
                    "전체입니다."),
                   (embed, "LoRA 몫을 빠뜨렸습니다.")]),
        choice(
            "ch1-15", "ch1-downsides",
            "회사의 신제품 사양 수천 건을 모델이 외워 답하게 하려고, LoRA로 사양 문답을 학습하려 합니다. 무엇을 예상해야 "
            "합니까?",
            "PEFT는 말투, 형식, 행동을 바꾸는 데 강하고 사실을 새로 외우게 하는 데 약합니다. 코드와 수학으로 Llama-2-7B를 "
            "학습한 실험에서 LoRA는 완전 미세조정보다 목표 영역을 덜 배웠습니다(Biderman 외, 2024). 바뀌는 사실은 검색으로 "
            "입력에 넣는 편(RAG)이 맞습니다.",
            ("사실을 외우게 하는 데는 약하다. 사양은 검색해 입력으로 주는 편이 낫다", "맞습니다."),
            [("LoRA는 본체를 얼리므로 사실을 더 정확히 외운다", "본체를 얼리는 것은 메모리를 위한 선택이지, 외우기를 돕지 "
              "않습니다. 학습하는 파라미터가 적어 오히려 덜 배웁니다."),
             ("랭크를 충분히 키우면 완전 미세조정과 항상 같아진다", "'항상'은 지나칩니다. 랭크는 표현력의 한도일 뿐이고, "
              "이 장이 인용한 실험에서 LoRA는 목표 영역을 완전 미세조정보다 덜 배웠습니다."),
             ("PEFT는 망각을 막으므로 예전 지식과 새 사실을 함께 지킨다", "LoRA가 덜 잊는 것은 대체로 덜 배운 결과입니다. "
              "망각을 막아 주는 것은 아닙니다.")]),
        choice(
            "ch1-16", "ch1-frameworks",
            "깨끗한 환경에서 `pip install trl`만 하면 PEFT도 함께 설치됩니까? 이 책의 환경에 설치된 패키지의 의존성 "
            "선언(`importlib.metadata.requires`)으로 답하세요.",
            f"TRL은 {', '.join(sorted(trl_req & {'transformers', 'accelerate'}))}를 필수로 요구하고 PEFT는 선택(extra "
            "`peft`)으로 둡니다. PEFT는 transformers와 accelerate를 요구하고 TRL은 모릅니다. 아래 층은 위 층을 모르고, 옆의 "
            "부품은 필요할 때 끼웁니다. 그래서 `pip install trl[peft]`처럼 extra를 적거나 PEFT를 따로 설치합니다.",
            ("아니다. PEFT는 TRL의 선택(extra) 의존성이다", "맞습니다."),
            [("그렇다. `SFTTrainer`는 PEFT 없이 돌지 않는다", "`SFTTrainer`는 완전 미세조정도 합니다. PEFT는 어댑터를 붙일 "
              "때만 필요합니다."),
             ("PEFT가 TRL을 필수로 요구하므로 거꾸로 PEFT를 설치하면 TRL이 온다", "PEFT의 의존성에는 TRL이 없습니다. PEFT는 "
              "학습 루프를 모르는 모델 층의 라이브러리입니다."),
             ("transformers가 PEFT와 TRL을 모두 필수로 설치한다", "transformers는 둘 다 필수로 요구하지 않습니다. 맨 아래 "
              "층입니다.")]),
        choice(
            "ch1-17", "ch1-frameworks",
            "실습 1의 학습 코드는 Unsloth의 `FastLanguageModel`과 TRL의 `SFTTrainer`를 함께 씁니다. 두 도구의 관계를 바르게 "
            "말한 것은?",
            "Unsloth는 TRL, PEFT, transformers로 만든 학습에서 모델의 핵심 연산을 자체 Triton 커널로 바꿔 끼우는 커널 층의 "
            "도구입니다. 학습 루프는 여전히 TRL의 `SFTTrainer`가 돌리고, 어댑터는 PEFT의 LoRA입니다.",
            ("TRL이 학습 루프를 돌리고, Unsloth는 그 아래 연산을 커널로 바꾼다", "맞습니다."),
            [("Unsloth는 TRL을 대신해 학습 루프를 돌리는 별도의 트레이너다", "Unsloth는 학습 루프를 새로 만들지 않고 TRL의 트레이너를 "
              "씁니다."),
             ("Unsloth는 여러 GPU에 메모리를 나누는 분산 학습 도구다", "그것은 DeepSpeed(ZeRO)의 층입니다. Unsloth는 GPU 한 "
              "장을 빠르고 가볍게 쓰는 데 초점을 둡니다."),
             ("Unsloth는 YAML 설정 파일로 학습을 정의하는 도구다", "그것은 Axolotl의 방식입니다.")]),
        choice(
            "ch1-18", "ch1-frameworks",
            "A100 8장으로 Qwen3-32B를 완전 미세조정하려는 연구팀에 가장 알맞은 조합은?",
            "모델의 가중치, 기울기, 옵티마이저 상태가 GPU 한 장에 들어가지 않으므로, DeepSpeed ZeRO-3(또는 FSDP)로 여러 "
            "GPU에 나눠 학습합니다. 설정은 Axolotl이나 LLaMA-Factory로 관리하면 재현하기 쉽습니다.",
            ("DeepSpeed ZeRO-3나 FSDP로 여러 GPU에 나눈다", "맞습니다."),
            [("Unsloth로 A100 한 장에서 빠르게 학습한다", "완전 미세조정한 32B의 학습 상태는 GPU 한 장에 들어가지 않습니다."),
             ("PEFT로 LoRA를 붙여 GPU마다 따로 학습한다", "팀이 원하는 것은 완전 미세조정입니다. PEFT는 메모리를 여러 GPU에 나누지 않습니다."),
             ("호스팅 API에 JSONL을 올려 제공자에게 맡긴다", "호스팅 API는 고를 수 있는 모델과 설정이 제한적이고, 연구팀의 GPU를 쓰지 "
              "않습니다.")]),
    ]


def _recipe() -> list[Question]:
    import torch

    from . import memory as mem
    from . import peft_counts as pc
    from . import recipe_notes as rn
    from .recipes import LABS

    config, _ = _qwen()
    lab, smoke = LABS["lab1_first_qlora"].full, LABS["lab1_first_qlora"].recipe("smoke")
    L, h = config.num_hidden_layers, config.hidden_size
    # a recipe of the student's own (not lab 1's: lab 1's epoch count is one of its exercises)
    bigger = dataclasses.replace(lab, n_rows=5000, eval_rows=500, batch_size=4, grad_accum=4, max_steps=300)
    bigger_train = bigger.n_rows - bigger.eval_rows
    bigger_epochs = bigger.max_steps * bigger.examples_per_step / bigger_train
    rates = [rn.linear_schedule(s, lab.learning_rate, lab.warmup_steps, lab.max_steps) for s in range(lab.max_steps)]
    peak_step = 1 + rates.index(max(rates))  # optimizer step k uses the rate after k - 1 scheduler steps
    shrink_pct = 100 * (1 - rn.decay_factor(rates, lab.weight_decay))
    no_lr_pct = 100 * (1 - (1 - lab.weight_decay) ** lab.max_steps)

    def adam_first_update(grad):
        w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = torch.optim.AdamW([w], lr=lab.learning_rate, weight_decay=0.0)
        w.grad = torch.full_like(w, grad)
        opt.step()
        return abs(w.item())

    small_grad = 1e-3
    upd_small, upd_big = adam_first_update(small_grad), adam_first_update(10 * small_grad)

    n_lora = pc.lora_param_count(config, lab.lora_r)
    n16 = pc.lora_param_count(config, 16)
    peak8 = mem.lora_training_peak_bytes(config, n_lora, lab.batch_size, lab.max_seq_length)
    peak16 = mem.lora_training_peak_bytes(config, n16, lab.batch_size, lab.max_seq_length)
    peak_b8 = mem.lora_training_peak_bytes(config, n_lora, lab.examples_per_step, lab.max_seq_length)
    peak_4096 = mem.lora_training_peak_bytes(config, n_lora, lab.batch_size, 2 * lab.max_seq_length)
    int8_per_param = 2 * (1 + 4 / mem.ADAMW_8BIT_BLOCKSIZE)  # two 1-byte states + one fp32 absmax per 256 values
    opt_saved = n_lora * (8 - int8_per_param)
    one_state_saved = n_lora * (4 - int8_per_param / 2)

    tokens = lab.batch_size * lab.max_seq_length
    layer_input = tokens * h * 2
    assert rn.unsloth_checkpointing(lab.max_seq_length, tokens, h) == "offload"
    short = 256
    assert rn.unsloth_checkpointing(short, smoke.batch_size * short, h) == "plain"
    cpu_side = (L - 1) * layer_input

    # gradient accumulation: two micro-batches with different numbers of loss tokens
    (n1, l1), (n2, l2) = (10, 2.0), (30, 1.0)
    right_loss, old_loss = (n1 * l1 + n2 * l2) / (n1 + n2), (l1 + l2) / 2
    # prompt loss weight: share of the loss weight on response tokens
    n_resp, n_prompt, w = 60, 140, 0.1
    resp_share = 100 * n_resp / (n_resp + w * n_prompt)

    from dataclasses import fields

    from trl import SFTConfig

    trl_default = next(f.default for f in fields(SFTConfig) if f.name == "max_length")
    assert trl_default != lab.max_seq_length
    return [
        choice(
            "recipe-01", "recipe-lr",
            f"AdamW로 학습하는 중에 손실에 실수로 10을 곱해 모든 기울기가 10배가 되었습니다(학습률 {lab.learning_rate:g} 그대로). "
            "한 스텝에 가중치가 움직이는 거리는 어떻게 됩니까?",
            f"Adam은 기울기를 그 크기의 이동 평균(제곱의 제곱근)으로 나눠 쓰므로, 한 스텝의 이동 거리가 기울기의 크기와 거의 "
            f"무관하게 학습률 정도입니다. torch의 AdamW로 첫 스텝을 재면 기울기 {small_grad:g}에서 {upd_small:.3g}, "
            f"{10 * small_grad:g}에서 {upd_big:.3g}만큼 움직입니다. 학습률이 '한 스텝에 움직이는 거리'의 눈금인 이유입니다.",
            ("거의 그대로다", "맞습니다."),
            [("10배가 된다", "그것은 기울기에 학습률을 바로 곱하는 SGD의 이야기입니다."),
             ("10분의 1이 된다", "기울기를 그 크기로 나누면 크기가 상쇄될 뿐, 작아지지 않습니다."),
             ("100배가 된다", "2차 모멘트는 기울기의 제곱이지만, 나눌 때는 그 제곱근을 씁니다.")]),
        number(
            "recipe-02", "recipe-schedule",
            f"실습 1은 학습률 {lab.learning_rate:g}, `warmup_steps` = {lab.warmup_steps}, 선형 감소로 {lab.max_steps}스텝 "
            "학습합니다. 스텝을 1부터 셀 때, 최대 학습률을 처음으로 쓰는 옵티마이저 스텝은 몇 번째입니까?",
            f"`Trainer`는 스텝을 마친 뒤 스케줄러를 움직이므로 스텝 k는 스케줄러가 k − 1번 움직인 뒤의 학습률을 씁니다. "
            f"스텝 1은 0, 스텝 2는 {rates[1]:g}, … 로 오르고, 스케줄러가 {lab.warmup_steps}번 움직인 뒤인 스텝 "
            f"{peak_step}이 처음으로 {lab.learning_rate:g}를 씁니다. 강의 자료의 학습 로그도 스텝 1의 학습률을 0으로 "
            "찍습니다.",
            peak_step, unit="번째",
            traps=[(lab.warmup_steps, f"워밍업 스텝 수를 그대로 답했습니다. 스텝 {lab.warmup_steps}은 스케줄러가 "
                    f"{lab.warmup_steps - 1}번 움직인 뒤의 학습률({rates[lab.warmup_steps - 1]:g})을 씁니다."),
                   (1, "워밍업이 0일 때의 답입니다. 워밍업 동안에는 0에서 곧게 올라갑니다.")]),
        choice(
            "recipe-03", "recipe-weight-decay",
            f"실습 1의 가중치 감쇠는 {lab.weight_decay:g}입니다. 기울기는 없다고 치고 감쇠만 보면, {lab.max_steps}스텝 "
            "동안 LoRA 가중치 하나는 얼마나 줄어듭니까?",
            f"AdamW의 감쇠는 스텝마다 가중치에 (1 − 학습률 × 감쇠)를 곱합니다. 실습 1의 학습률 일정으로 {lab.max_steps}스텝을 "
            f"곱하면 {shrink_pct:.4f}%만 줄어, 짧은 실습에서는 거의 아무 일도 하지 않습니다. 학습률을 곱하는 것을 잊고 "
            f"스텝마다 {1 - lab.weight_decay:g}배로 셈하면 {no_lr_pct:.0f}%가 나옵니다.",
            (f"약 {shrink_pct:.4f}%", "맞습니다. 감쇠는 수천 스텝의 긴 학습에서 의미가 생깁니다."),
            [(f"약 {no_lr_pct:.0f}%", f"스텝마다 {1 - lab.weight_decay:g}배로 셌습니다. AdamW는 감쇠에 그 스텝의 학습률을 "
              "곱합니다."),
             ("0%. 기울기가 없으면 AdamW는 감쇠하지 않는다", "AdamW의 감쇠는 기울기와 따로(decoupled) 적용됩니다. 기울기가 "
              "0이어도 줄어듭니다."),
             ("LoRA는 줄지 않고 얼린 본체 W₀가 줄어든다", "얼린 W₀는 옵티마이저에 없습니다. 감쇠를 받는 것은 A와 B이고, "
              "그래서 LoRA의 감쇠는 모델을 원래 모델 쪽으로 당깁니다.")]),
        number(
            "recipe-04", "recipe-batch",
            f"기울기 누적 2로 학습합니다. 첫 마이크로배치에는 손실에 들어가는 토큰이 {n1}개이고 그 평균 손실이 {l1:g}, "
            f"둘째에는 {n2}개이고 평균 손실이 {l2:g}입니다. 지금의 transformers `Trainer`처럼 옳게 누적하면, 이 스텝의 "
            "손실(토큰 평균)은 얼마입니까? (소수 둘째 자리까지)",
            f"옳은 누적은 두 마이크로배치의 손실 합을 전체 손실 토큰 수로 나눕니다. ({n1} × {l1:g} + {n2} × {l2:g}) / "
            f"({n1} + {n2}) = {right_loss:.2f}입니다. 배치 {n1 + n2}토큰을 한 번에 계산한 것과 같습니다. 2024년 이전의 방식은 "
            f"마이크로배치 평균끼리 다시 평균해 {old_loss:.2f}가 되고, 토큰이 적은 마이크로배치에 더 큰 무게를 줍니다.",
            right_loss, tolerance=0.005,
            traps=[(old_loss, "마이크로배치의 평균끼리 평균했습니다. 2024년에 고쳐진 예전 방식입니다."),
                   (n1 * l1 + n2 * l2, "손실을 더하기만 하고 토큰 수로 나누지 않았습니다.")]),
        choice(
            "recipe-05", "recipe-batch",
            f"배치 {lab.examples_per_step}을 한 번에 올리던 학습을 배치 {lab.batch_size} × 기울기 누적 {lab.grad_accum}로 "
            "바꿉니다. 무엇이 바뀝니까?",
            f"옳게 누적하면 기울기는 배치 {lab.examples_per_step}과 같습니다. 3장의 견적으로 최대 메모리는 배치 "
            f"{lab.examples_per_step}의 약 {_gib(peak_b8):.1f} GiB에서 {_gib(peak8):.1f} GiB로 줄지만, 같은 토큰을 네 번에 "
            "나눠 차례로 계산하므로 시간은 줄지 않고 작은 배치가 GPU를 덜 채워 오히려 느려질 수 있습니다.",
            ("메모리는 줄고, 기울기와 계산량은 같다", "맞습니다. 누적은 메모리를 아끼고 시간은 아끼지 "
             "않습니다."),
            [("메모리와 함께 시간도 4분의 1로 준다", "처리하는 토큰은 같습니다. 계산량이 그대로입니다."),
             ("기울기가 4분의 1이 되므로 학습률을 4배로 올려야 한다", "누적한 손실을 전체 토큰 수로 나누므로 기울기의 크기가 "
              "같습니다."),
             ("메모리는 그대로이고 기울기만 더 흔들린다", "한 번에 올리는 예제가 줄어 활성화와 로짓의 메모리가 줍니다.")]),
        number(
            "recipe-06", "recipe-steps",
            f"실습 1의 레시피를 바꿔 N_ROWS = {bigger.n_rows:,}, EVAL_ROWS = {bigger.eval_rows}, 배치 {bigger.batch_size} × "
            f"누적 {bigger.grad_accum}로 {bigger.max_steps}스텝 학습합니다. 학습 행을 몇 에폭 봅니까? (소수 둘째 자리까지)",
            f"에폭 = 스텝 수 × 유효 배치 크기 / 학습 행 수 = {bigger.max_steps} × {bigger.examples_per_step} / "
            f"{bigger_train:,} ≈ {bigger_epochs:.2f}입니다. 한 에폭을 넘으므로 일부 예제는 두 번 봅니다. 에폭이 몇을 넘어가면 "
            "학습 손실만 내려가고 평가 손실이 올라가는 과적합을 의심합니다.",
            bigger_epochs, tolerance=0.005, unit="에폭",
            traps=[(bigger.max_steps * bigger.examples_per_step / bigger.n_rows,
                    f"평가용 {bigger.eval_rows}행을 빼지 않았습니다."),
                   (bigger.max_steps * bigger.batch_size / bigger_train, "기울기 누적을 빠뜨렸습니다. 한 스텝은 배치 × "
                    "누적만큼의 예제를 봅니다.")]),
        choice(
            "recipe-07", "recipe-heldout",
            "학습 전과 후에 잰 평가 손실이 소수점 아래 끝자리까지 똑같습니다. 무엇을 의심해야 합니까?",
            "학습이 무엇이든 바꿨다면 손실이 정확히 같을 수 없습니다. 평가가 학습한 어댑터를 쓰지 않았거나(예: 다른 모델 "
            "객체로 평가), 학습률이 0이어서 아무것도 움직이지 않은 것입니다. 실습의 `steps.check_heldout`은 그래서 두 값이 "
            "같으면 멈춥니다.",
            ("평가가 어댑터를 안 썼거나, 학습이 안 됐다", "맞습니다."),
            [("과적합 없이 안정적으로 잘 학습했다", "잘 학습했다면 평가 손실이 내려갑니다. 똑같은 값은 아무것도 바뀌지 않았다는 뜻입니다."),
             ("평가 행이 적어서 생긴 우연일 뿐이다", "행이 적으면 작은 차이가 우연일 수 있지만, 끝자리까지 같은 것은 우연으로 "
              "설명되지 않습니다."),
             ("과적합이 시작되어 평가 손실이 멈췄다", "과적합이면 평가 손실이 올라갑니다. 그대로인 것과 다릅니다.")]),
        choice(
            "recipe-08", "recipe-max-length",
            "Unsloth 없이 transformers와 TRL 1.x만으로 학습합니다. `SFTConfig`에 `max_length`를 주지 않으면 긴 대화는 "
            "어떻게 됩니까?",
            f"TRL에서 이 인자의 이름은 `max_seq_length`에서 `max_length`로 바뀌었고, 주지 않으면 기본값 {trl_default:,}토큰에서 "
            "경고 없이 자릅니다. Unsloth를 먼저 불러 두면 이 기본값 대신 `from_pretrained`에 준 `max_seq_length`를 씁니다. "
            f"실습은 어느 쪽이든 같도록 두 곳에 같은 {lab.max_seq_length:,}을 줍니다. 응답 전에 잘린 예제는 학습할 응답이 "
            "남지 않아 빠집니다.",
            (f"기본값 {trl_default:,}토큰에서 말없이 잘린다", "맞습니다."),
            [("모델이 다룰 수 있는 최대 위치(`max_position_embeddings`)까지는 자르지 않는다", "모델의 한계는 데이터를 자르는 "
              "길이가 아닙니다. Unsloth가 없으면 자르는 길이는 `SFTConfig`가 정합니다."),
             ("자르지 않고 대화 전체를 학습한다", f"`max_length`의 기본값은 None이 아니라 {trl_default:,}입니다."),
             ("오류를 내고 멈춘다", "조용히 자르기 때문에 위험합니다.")]),
        choice(
            "recipe-09", "recipe-max-length",
            f"실습 1의 최대 길이를 {lab.max_seq_length:,}에서 {2 * lab.max_seq_length:,}로 두 배로 늘립니다. 가장 긴 배치가 "
            "꽉 찬다면 3장의 견적으로 최대 메모리는 어떻게 됩니까?",
            f"가중치와 LoRA 학습 상태는 길이와 무관하고, 활성화와 로짓은 길이에 비례하며, 작업 공간은 그보다 덜 늡니다. 견적은 "
            f"{_gib(peak8):.2f} GiB에서 {_gib(peak_4096):.2f} GiB로 {peak_4096 / peak8:.2f}배입니다. 데이터에 "
            f"{lab.max_seq_length:,}토큰보다 긴 대화가 없다면 실제 메모리는 그대로입니다.",
            ("두 배보다 적게 는다", "맞습니다. 고정된 몫이 있기 때문입니다."),
            [("정확히 두 배가 된다", "4비트 가중치와 LoRA 상태는 길이와 상관없이 그대로입니다."),
             ("네 배가 된다", "실습의 스택은 어텐션 점수를 저장하지 않습니다. 길이의 제곱으로 크는 몫이 없습니다."),
             ("그대로다", "가장 긴 배치가 꽉 차면 활성화와 로짓이 길이에 비례해 늡니다.")]),
        choice(
            "recipe-10", "recipe-packing",
            f"실습 1(배치 {lab.batch_size} × 누적 {lab.grad_accum}, 최대 길이 {lab.max_seq_length:,})에서 `packing=True`로 "
            "바꾸면 한 스텝은 무엇을 봅니까?",
            f"패킹은 데이터셋의 예제를 최대 길이의 줄에 빽빽하게 채웁니다. 이제 '배치 {lab.batch_size}'는 예제 "
            f"{lab.batch_size}개가 아니라 최대 길이짜리 줄 {lab.batch_size}개이고, 짧은 예제가 많으면 한 스텝이 훨씬 많은 "
            "예제를 봅니다. 그래서 학습률, 스텝 수, 에폭의 뜻이 함께 바뀝니다. 실습이 패킹을 끄고 패딩 없는 배치를 쓰는 "
            f"것은 '예제 {lab.examples_per_step}개 = 한 스텝'을 지키려는 것입니다.",
            (f"최대 길이로 채운 줄 {lab.examples_per_step}개: 예제로는 보통 {lab.examples_per_step}개보다 많다",
             "맞습니다."),
            [(f"여전히 예제 {lab.examples_per_step}개이고 패딩만 사라진다", "그것은 패딩 없는 배치(padding-free)입니다. "
              "실습의 `packing=False`에서 Unsloth가 켜는 쪽입니다."),
             ("예제 수는 같고 예제마다 최대 길이까지 패딩된다", "패킹은 패딩을 늘리지 않고 빈자리를 다른 예제로 "
              "채웁니다."),
             ("예제 경계에서 어텐션을 끊지 않아도 손실은 같다", "경계를 끊지 않으면 앞 예제를 보고 다음 예제를 예측하는 "
              "오염이 생깁니다. TRL은 위치 번호를 예제마다 다시 셉니다.")]),
        number(
            "recipe-11", "recipe-optimizer",
            f"실습 1의 LoRA 파라미터 {n_lora:,}개를 `optim=\"adamw_8bit\"` 대신 32비트 AdamW(`adamw_torch`)로 학습하면 "
            "옵티마이저 상태가 몇 MiB(2²⁰바이트) 늘어납니까? 8비트 AdamW는 두 상태를 1바이트씩 두고, 값 "
            f"{mem.ADAMW_8BIT_BLOCKSIZE}개마다 FP32 스케일을 하나씩 둡니다. (정수로)",
            f"32비트는 파라미터당 두 상태 × 4바이트 = 8바이트, 8비트는 2 × (1 + 4/{mem.ADAMW_8BIT_BLOCKSIZE}) = "
            f"{int8_per_param:g}바이트입니다. 차이 {8 - int8_per_param:g}바이트 × {n_lora:,} ≈ {opt_saved / 2**20:.0f} MiB로, "
            f"실습 1의 최대 메모리 견적 약 {_gib(peak8):.1f} GiB에 견주면 작습니다. 8비트 옵티마이저가 크게 이기는 곳은 "
            "완전 미세조정입니다.",
            opt_saved / 2**20, tolerance=0.5, unit="MiB",
            traps=[(opt_saved / 1e6, "MB(10⁶바이트)로 셌습니다. 문제는 MiB입니다."),
                   (one_state_saved / 2**20, "AdamW의 상태를 하나만 셌습니다. 1차와 2차 모멘트, 두 개입니다."),
                   (8 * n_lora / 2**20, "8비트 AdamW에는 상태가 없다고 셌습니다. 8비트도 파라미터당 약 2바이트를 씁니다.")]),
        number(
            "recipe-12", "recipe-response-loss",
            f"한 배치에 응답 토큰이 {n_resp}개, 프롬프트 토큰이 {n_prompt}개 있습니다. 프롬프트 손실 가중치 w = {w:g}로 "
            "학습하면, 손실의 무게 가운데 응답 토큰이 차지하는 몫은 몇 %입니까? (소수 첫째 자리까지)",
            f"응답 토큰 하나의 무게는 1, 프롬프트 토큰 하나는 w입니다. 응답의 몫은 {n_resp} / ({n_resp} + {w:g} × "
            f"{n_prompt}) = {resp_share:.1f}%입니다. w = 0이면 100%(응답 전용 손실), w = 1이면 토큰 수의 비율 "
            f"{100 * n_resp / (n_resp + n_prompt):.0f}%입니다. 프롬프트가 길수록 같은 w라도 프롬프트의 몫이 커집니다.",
            resp_share, tolerance=0.05, unit="%",
            traps=[(100 * (1 - w), "w를 프롬프트의 몫으로 읽었습니다. w는 프롬프트 토큰 하나의 무게입니다."),
                   (100 * n_resp / (n_resp + n_prompt), "w = 1(모든 토큰의 손실)일 때의 몫입니다."),
                   (100, "w = 0(응답 전용 손실)일 때의 몫입니다.")]),
        choice(
            "recipe-13", "recipe-response-loss",
            "`train_on_responses_only`에 준 응답 표시 문자열이 Qwen3 템플릿(`<|im_start|>assistant\\n`)과 한 글자 "
            "다릅니다. 무슨 일이 생깁니까?",
            "표시 문자열을 찾지 못하면 응답의 시작을 모르므로 모든 라벨이 -100으로 가려집니다. 손실에 들어갈 토큰이 없어 "
            "그대로 학습하면 손실이 0/0이 되므로, 고정한 버전의 Unsloth(unsloth_zoo 2026.10.7)는 학습할 것이 없다는 "
            "`ValueError`로 멈춥니다. 실습 1은 그보다 먼저, 가려질 라벨을 미리 계산해 Unsloth의 결과와 맞춥니다.",
            ("모든 라벨이 가려져 학습할 토큰이 남지 않는다", "맞습니다. 고정한 Unsloth는 이때 오류로 멈추지만, 표시가 일부 "
             "행에서만 어긋나면 그 행을 버리고 경고만 합니다."),
            [("표시를 못 찾으면 모든 토큰으로 학습한다(w = 1)", "거꾸로입니다. 응답을 찾지 못한 구간은 모두 가려집니다."),
             ("Unsloth가 템플릿에서 알맞은 표시를 스스로 찾아 쓴다", "표시 문자열을 주면 준 것을 그대로 씁니다. 스스로 찾는 "
              "것은 두 표시를 모두 주지 않았을 때뿐입니다."),
             ("응답의 첫 토큰만 빠지고 나머지는 학습된다", "한 글자라도 다르면 문자열이 일치하지 않아 응답 전체를 "
              "찾지 못합니다.")]),
        choice(
            "recipe-14", "recipe-lora",
            f"실습 1을 `LORA_R = 16`, `LORA_ALPHA = 16`으로 바꿉니다(r = α = {lab.lora_r}에서). 3장의 견적으로 최대 GPU "
            "메모리는 어떻게 됩니까?",
            f"학습 파라미터는 {n_lora:,}개에서 {n16:,}개로 두 배가 되고, 그 가중치·기울기·옵티마이저 상태도 두 배가 됩니다. "
            f"그래도 최대 메모리의 대부분은 4비트 본체와 로짓·활성화라서, 견적은 {_gib(peak8):.3f} GiB에서 "
            f"{_gib(peak16):.3f} GiB로 약 {(peak16 - peak8) / 2**20:.0f} MiB만 늡니다. α를 함께 올린 것은 배율 α/r을 1로 "
            "지키려는 것이고 메모리와는 상관이 없습니다.",
            ("조금만 는다", "맞습니다. LoRA의 학습 상태는 최대 메모리의 작은 일부입니다."),
            [("거의 두 배가 된다", "두 배가 되는 것은 LoRA 몫뿐이고, 최대 메모리의 대부분은 본체와 로짓·활성화입니다."),
             ("그대로다. α도 올렸으니 상쇄된다", "α는 배율일 뿐입니다. 파라미터 수와 그 상태는 r에 비례해 늡니다."),
             ("어댑터 파일만 커지고 GPU 메모리는 그대로다", "학습 중에는 LoRA의 기울기와 옵티마이저 상태도 r에 비례합니다.")]),
        number(
            "recipe-15", "recipe-checkpointing",
            f"실습 1의 가장 긴 배치(예제 {lab.batch_size}개 × {lab.max_seq_length:,}토큰)에서 `use_gradient_checkpointing="
            f"\"unsloth\"`는 층 입력(은닉 {h:,}차원, 16비트)을 CPU 메모리로 옮깁니다. 층은 {L}개이고 첫 역전파 뒤로는 마지막 "
            "층의 입력을 옮기지 않습니다. CPU 쪽에 놓이는 층 입력은 모두 몇 MiB입니까?",
            f"층 입력 하나는 {tokens:,}토큰 × {h:,} × 2바이트 = {layer_input / 2**20:g} MiB로 Unsloth의 2 MiB 문턱보다 "
            f"큽니다. 마지막을 뺀 {L - 1}개 층이면 {cpu_side / 2**20:,.0f} MiB입니다. 층 안의 다른 활성화는 저장하지 않고 "
            "역전파 때 다시 계산합니다.",
            cpu_side / 2**20, tolerance=0.5, unit="MiB",
            traps=[(L * layer_input / 2**20, "마지막 층까지 셌습니다. 마지막 층의 입력은 옮기지 않습니다."),
                   (layer_input / 2**20, "층 하나의 값입니다."),
                   (2 * cpu_side / 2**20, "층 입력을 4바이트로 셌습니다. 16비트 값입니다.")]),
        choice(
            "recipe-16", "recipe-checkpointing",
            f"`use_gradient_checkpointing=\"unsloth\"`를 그대로 두고 최대 길이를 {short}으로 낮춥니다. Unsloth는 층 입력을 "
            "어떻게 다룹니까?",
            "고정한 Unsloth 소스는 모델의 최대 길이가 512보다 작으면 `\"unsloth\"`를 일반 체크포인팅(`True`)으로 바꿉니다. "
            "층 입력은 GPU에 남고, 역전파 때 층의 순전파를 다시 계산합니다. 그 아래에서는 CPU로 옮기는 비용이 더 크다는 "
            "이유입니다.",
            ("일반 체크포인팅으로 바뀐다(입력은 GPU에)", "맞습니다."),
            [("여전히 층 입력을 CPU 고정 메모리로 옮긴다", "최대 길이가 512보다 작으면 옮기지 않습니다."),
             ("체크포인팅을 끄고 모든 활성화를 저장한다", "체크포인팅은 일반 방식으로 남습니다. 다시 계산도 합니다."),
             ("512보다 짧다는 오류를 내고 멈춘다", "조용히 일반 체크포인팅으로 바꿉니다.")]),
        choice(
            "recipe-17", "recipe-seed",
            f"실습 1을 `SEED`만 {lab.seed}에서 {lab.seed + 1}로 바꿔 처음부터 다시 돌립니다. 무엇이 달라집니까?",
            "시드는 세 곳에 쓰입니다. `steps.load_rows`가 데이터를 그 시드로 섞으므로 어떤 행이 학습에 쓰이고 어떤 행이 "
            "평가용으로 떼어지는지가 바뀌고, `get_peft_model`의 `random_state`로 LoRA의 A가 바뀌며, `Trainer`가 배치의 "
            "순서를 그 시드로 섞습니다. B는 시드와 상관없이 0에서 시작합니다. 그래서 두 설정을 비교할 때는 시드를 두세 개 "
            "돌려 차이가 시드의 흔들림보다 큰지 봅니다.",
            ("쓰는 행과 평가용 행, 배치 순서, A의 초기값", "맞습니다."),
            [("A의 초기값만. 데이터와 평가용 행은 그대로다", "레시피의 시드는 데이터를 섞을 때도 쓰입니다. 평가용 행도 섞은 "
              "뒤의 마지막 행들이라 함께 바뀝니다."),
             ("A와 B의 초기값. 데이터는 그대로다", "B는 늘 0에서 시작하고, 데이터를 섞는 것도 시드입니다."),
             ("아무것도. 시드는 실행을 기록해 두는 번호일 뿐이다", "시드는 난수 생성기의 출발점이라, 섞기와 초기화가 모두 "
              "시드를 따릅니다.")]),
    ]


@functools.cache
def questions() -> tuple[Question, ...]:
    """Every question, computed now from the chapters' code (cached for the process)."""
    return tuple(_place_answers(_intro() + _intro_more() + _ch1() + _ch1_more() + _ch2() + _ch3() + _ch4() + _recipe()))


def by_chapter(chapter: str) -> list[Question]:
    if chapter not in CHAPTERS:
        raise ValueError(f"unknown chapter {chapter!r}; expected one of {list(CHAPTERS)}")
    return [q for q in questions() if q.chapter == chapter]


# --- rendering ----------------------------------------------------------------------------------

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def to_html(text: str) -> str:
    """Escape, then `code` -> <code> and **bold** -> <strong>."""
    out = _CODE.sub(lambda m: f"<code>{m[1]}</code>", html.escape(text, quote=False))
    return _BOLD.sub(r"<strong>\1</strong>", out)


def payload(q: Question) -> dict:
    """What `_static/quiz.js` needs to check an answer and explain it (the answers live only here)."""
    data = {"kind": q.kind, "explanation": to_html(q.explanation)}
    if q.kind == "choice":
        data["options"] = [{"correct": o.correct, "why": to_html(o.why)} for o in q.options]
    else:
        data.update(answer=q.answer, tolerance=q.tolerance, unit=q.unit, shown=q.answer_text(),
                    traps=[{"value": t.value, "why": to_html(t.why)} for t in q.traps])
    return data


def question_html(q: Question) -> str:
    """The question as a form, without any answer: options or an input, a check button, an empty feedback area."""
    name = f"quiz-{q.qid}"
    head = (f'<form class="ftquiz" id="{name}" data-qid="{q.qid}" data-kind="{q.kind}">'
            f'<p class="ftquiz-prompt"><span class="ftquiz-number">문제 {q.number}.</span> {to_html(q.prompt)}</p>')
    if q.kind == "choice":
        body = ('<fieldset class="ftquiz-options"><legend class="ftquiz-legend">보기</legend>'
                + "".join(f'<label class="ftquiz-option"><input type="radio" name="{name}" value="{i}"> '
                          f'<span class="ftquiz-mark">{MARKS[i]}</span> {to_html(o.text)}</label>'
                          for i, o in enumerate(q.options))
                + "</fieldset>")
    else:
        unit = f' <span class="ftquiz-unit">{html.escape(q.unit)}</span>' if q.unit else ""
        body = (f'<label class="ftquiz-answer">답: <input type="text" inputmode="decimal" autocomplete="off" '
                f'name="{name}" aria-label="문제 {q.number}의 답">{unit}</label>')
    tail = ('<div class="ftquiz-actions"><button type="submit" class="ftquiz-check">확인</button></div>'
            '<div class="ftquiz-feedback" role="status" aria-live="polite"></div></form>')
    return head + body + tail


def _raw_html(text: str) -> str:
    return f"````{{raw}} html\n{text}\n````\n"


ASSETS = ('<link rel="stylesheet" href="../_static/quiz.css">\n'
          '<script src="../_static/quiz.js" defer></script>')
# The paper quiz and the key need only the style; the marker lets quiz.css start each chapter on a new printed page.
PAPER_ASSETS = '<link rel="stylesheet" href="../_static/quiz.css">\n<div class="ftquiz-paper" hidden></div>'
KEY_ASSETS = '<link rel="stylesheet" href="../_static/quiz.css">'
SHEET_HEAD = ("이름: ____________________  학번: ____________________\n\n"
              "객관식은 보기 하나에 동그라미를 치고, 계산 문제는 빈칸에 숫자를 씁니다.\n")


def render_interactive(chapter: str) -> str:
    """MyST for one chapter's interactive quiz: the answer data, then each question and the section it tests."""
    qs = by_chapter(chapter)
    data = json.dumps({q.qid: payload(q) for q in qs}, ensure_ascii=False).replace("</", "<\\/")
    parts = [_raw_html(f'<script type="application/json" class="ftquiz-data">{data}</script>')]
    for q in qs:
        parts.append(_raw_html(question_html(q)))
        parts.append(f"```{{container}} ftquiz-ref\n다시 볼 절: {{ref}}`{q.ref}`\n```\n")
    return "\n".join(parts)


def render_print(chapter: str) -> str:
    """MyST for one chapter's paper quiz, a sheet of its own: a line for the name, then the questions and options
    only, a blank for numeric answers. Options are indented to the item's text ("10. " needs four spaces), so they
    stay inside their numbered item."""
    lines = [SHEET_HEAD]
    for q in by_chapter(chapter):
        item = f"{q.number}. "
        pad = " " * len(item)
        lines.append(f"{item}{q.prompt}\n")
        if q.kind == "choice":
            lines.extend(f"{pad}{MARKS[i]} {o.text}  " for i, o in enumerate(q.options))
            lines[-1] = lines[-1].rstrip()
        else:
            lines.append(f"{pad}답: ________________ {q.unit}".rstrip())
        lines.append("")
    return "\n".join(lines)


def render_key(chapter: str) -> str:
    """MyST for one chapter's answer key: a one-line grid for marking, then for each question the answer, the
    explanation and the section to reread."""
    grid = " · ".join(f"{q.number} **{MARKS[[o.correct for o in q.options].index(True)] if q.kind == 'choice' else q.answer_text()}**"
                      for q in by_chapter(chapter))
    lines = [f"빠른 채점: {grid}\n"]
    for q in by_chapter(chapter):
        lines.append(f"{q.number}. **{q.answer_text()}**. {q.explanation} ({{ref}}`{q.ref}`)\n")
    return "\n".join(lines)
