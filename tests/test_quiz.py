"""The quiz bank (ftcourse/quiz.py) and its pages (book/quiz.md, quiz_print.md, quiz_key.md).

The bank: at least ten questions per chapter (and for the training-recipe page), each pointing at a section of its
page that exists, at least two on each section added after the bank was first written, one
correct option per multiple-choice question, numeric answers equal to a computation made here afresh (with the
library or the closed form, not through the quiz's own code). The renderers: the paper quiz shows no answer,
the interactive form carries none (the answers are only in the page's JSON), the key has every answer.
In a browser (marked `browser`): answer one question right and one wrong on the built page and read the feedback.
"""
import json
import math
import re

import pytest
import torch

from ftcourse import quiz
from ftcourse.models import qwen3_4b_config
from ftcourse.paths import REPO_ROOT

from .test_site_browser import browser, open_page, page, site_url  # noqa: F401  (fixtures)

BOOK = REPO_ROOT / "book"
LABEL = re.compile(r"^\(([^()\s]+)\)=\s*$", re.M)
ALL = quiz.questions()
CHOICE = [q for q in ALL if q.kind == "choice"]
NUMBER = [q for q in ALL if q.kind == "number"]


def labels_of(page: str) -> set[str]:
    return set(LABEL.findall((BOOK / f"{page}.md").read_text(encoding="utf-8")))


@pytest.mark.parametrize("chapter", list(quiz.CHAPTERS))
def test_every_chapter_has_at_least_ten_questions(chapter):
    qs = quiz.by_chapter(chapter)
    assert len(qs) >= 10, f"{chapter}: {len(qs)} questions"
    assert [q.number for q in qs] == list(range(1, len(qs) + 1)), f"{chapter}: numbers not 1, 2, 3, ..."
    assert {q.kind for q in qs} == {"choice", "number"}, f"{chapter}: needs both kinds"


# Sections that appeared after the bank was first written: each must be asked about at least twice
# (a question on one of its subsections counts for it).
NEW_SECTIONS = {"intro": ["intro-base-model", "intro-safety"],
                "ch1_peft": ["ch1-taxonomies", "ch1-downsides", "ch1-frameworks"]}
HEADING = re.compile(r"^(#+) ")


def enclosing(page: str) -> dict[str, list[str]]:
    """Every section label of a page -> its own label and those of the sections around it."""
    out, stack, pending = {}, [], None
    for line in (BOOK / f"{page}.md").read_text(encoding="utf-8").splitlines():
        if m := LABEL.match(line):
            pending = m[1]
        elif m := HEADING.match(line):
            level = len(m[1])
            stack = [(lv, lb) for lv, lb in stack if lv < level]
            if pending is not None:
                stack.append((level, pending))
                out[pending] = [lb for _, lb in stack]
            pending = None
        elif line.strip():
            pending = None
    return out


@pytest.mark.parametrize("page,section", [(p, s) for p, ss in NEW_SECTIONS.items() for s in ss])
def test_sections_added_later_have_questions(page, section):
    around = enclosing(page)
    assert section in around, f"no section ({section})= in book/{page}.md"
    asked = [q.qid for q in ALL if section in around.get(q.ref, [])]
    assert len(asked) >= 2, f"{section}: {asked}"


def test_the_recipe_page_is_a_group_of_its_own():
    assert quiz.CHAPTERS["recipe"][0] == "recipe"
    asked = {q.ref for q in quiz.by_chapter("recipe")}
    knobs = {"recipe-lr", "recipe-schedule", "recipe-batch", "recipe-steps", "recipe-packing", "recipe-optimizer",
             "recipe-response-loss", "recipe-lora", "recipe-checkpointing", "recipe-seed"}
    assert knobs <= asked, f"no question on {sorted(knobs - asked)}"


def test_question_ids_are_unique():
    ids = [q.qid for q in ALL]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("q", ALL, ids=lambda q: q.qid)
def test_each_question_points_at_a_section_of_its_chapter(q):
    page = quiz.CHAPTERS[q.chapter][0]
    assert q.ref in labels_of(page), f"{q.qid}: no label ({q.ref})= in book/{page}.md"
    assert q.ref.startswith(q.chapter + "-"), f"{q.qid}: {q.ref} is not a section label of {q.chapter}"


@pytest.mark.parametrize("q", CHOICE, ids=lambda q: q.qid)
def test_multiple_choice_has_exactly_one_correct_option(q):
    assert sum(o.correct for o in q.options) == 1, f"{q.qid}: {sum(o.correct for o in q.options)} correct options"
    assert 3 <= len(q.options) <= len(quiz.MARKS)
    assert len({o.text for o in q.options}) == len(q.options), f"{q.qid}: two options say the same"
    assert all(o.why.strip() for o in q.options), f"{q.qid}: an option without feedback"


def test_correct_options_are_spread_over_the_positions():
    for chapter in quiz.CHAPTERS:
        positions = [next(i for i, o in enumerate(q.options) if o.correct) for q in CHOICE if q.chapter == chapter]
        counts = [positions.count(i) for i in range(4)]
        assert max(counts) - min(counts) <= 1, f"{chapter}: answers at positions {counts}"


def _fresh() -> dict:
    """Every numeric answer computed here, from the config, PEFT or closed forms; not with ftcourse.quiz."""
    from peft.utils import merge_utils

    from ftcourse.recipes import LABS

    c = qwen3_4b_config()
    L, d, f, V = c.num_hidden_layers, c.hidden_size, c.intermediate_size, c.vocab_size
    q_out, kv = c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
    all_seven = (d + q_out) * 2 + (d + kv) * 2 + (d + f) * 3   # d_in + d_out summed over the 7 projections
    lab = LABS["lab1_first_qlora"].full
    deltas = [torch.tensor(v) for v in ([0.6, 0.1, -0.2, 0.3], [-0.2, -0.5, 0.1, 0.4], [-0.3, 0.05, -0.4, 0.1])]
    peft_ties = merge_utils.ties(deltas, torch.ones(3), density=0.5, majority_sign_method="total")
    return {
        "intro-04": lab.max_steps * 1 * 8,
        "intro-07": 3e9 * (2 + 2 + 4 + 4 + 4) / 1e9,
        "intro-08": 2 + 2 + 4 + 4,
        "ch1-01": L * 24 * all_seven,
        "ch1-02": L * 8 * ((d + q_out) + (d + kv)),
        "ch1-06": 20 * L * 2 * kv,
        "ch1-08": L * 16 * all_seven * 4 / 1e6,
        "ch2-02": L * 2 * 4 * (d + f),
        "ch2-05": 16 / math.sqrt(64),
        "ch2-08": (8 * (d + q_out)) // (2 * (d + kv)),
        "ch3-02": 2.0 ** (62 - 31) * (2 - 2 ** -9),
        "ch3-05": round(0.6 / (2.4 / 127)),
        "ch3-08": 4 + 8 / 32 + 32 / (32 * 256),
        "ch3-09": d * f // 2,
        "ch3-13": lab.max_seq_length * (lab.batch_size - 1) * V * 4 / 2**30,
        "ch4-02": 1 / 3,
        "ch4-05": math.sqrt(2),
        "ch4-06": float(peft_ties[0]),
        "ch4-08": 1 / 0.3,
        "ch4-09": L * 12 * ((d + q_out) + (d + kv)),
        # sections added later: chapter 1's downsides, the recipe page
        "ch1-14": L * 8 * all_seven + V * d,  # tied lm_head: the embedding counted once
        "recipe-02": lab.warmup_steps + 1,  # step k uses the rate after k - 1 scheduler steps
        "recipe-04": (10 * 2.0 + 30 * 1.0) / (10 + 30),
        "recipe-06": 300 * 4 * 4 / (5000 - 500),
        "recipe-11": L * lab.lora_r * all_seven * (8 - 2 - 2 * 4 / 256) / 2**20,
        "recipe-12": 100 * 60 / (60 + 0.1 * 140),
        "recipe-15": (L - 1) * lab.batch_size * lab.max_seq_length * d * 2 / 2**20,
    }


@pytest.fixture(scope="module")
def fresh():
    return _fresh()


def test_every_numeric_question_has_a_fresh_computation(fresh):
    assert sorted(fresh) == sorted(q.qid for q in NUMBER)


@pytest.mark.parametrize("q", NUMBER, ids=lambda q: q.qid)
def test_numeric_answer_equals_a_fresh_computation(q, fresh):
    assert q.answer == pytest.approx(fresh[q.qid], rel=1e-5), f"{q.qid}: {q.answer} != {fresh[q.qid]}"
    assert q.accepts(fresh[q.qid])


@pytest.mark.parametrize("q", NUMBER, ids=lambda q: q.qid)
def test_traps_are_wrong_answers_and_tell_apart(q):
    values = [t.value for t in q.traps]
    assert all(not q.accepts(v) for v in values), f"{q.qid}: a trap counts as right"
    assert all(abs(a - b) > q.tolerance for i, a in enumerate(values) for b in values[i + 1:]), f"{q.qid}: traps overlap"
    # the shown answer, read back, is accepted: the key and the feedback never print a wrong rounding
    assert q.accepts(float(quiz.fmt(q.answer, q.decimals).replace(",", "")))


def _answer_strings(q) -> list[str]:
    if q.kind == "choice":
        return [o.why for o in q.options] + [q.explanation]
    return [q.explanation, quiz.fmt(q.answer, q.decimals)] + [t.why for t in q.traps]


@pytest.mark.parametrize("chapter", list(quiz.CHAPTERS))
def test_the_paper_quiz_has_no_answers(chapter):
    text = quiz.render_print(chapter)
    body = re.sub(r"^\d+\. ", "", text, flags=re.M)  # without the questions' own numbers
    shown = "\n".join(q.prompt + "\n" + "\n".join(o.text for o in q.options) for q in quiz.by_chapter(chapter))
    for q in quiz.by_chapter(chapter):
        assert q.prompt in text, f"{q.qid}: the question is missing"
        for s in _answer_strings(q):
            # an answer string may appear only as often as the questions themselves show it
            assert body.count(s) == shown.count(s), f"{q.qid}: the paper quiz shows an answer: {s[:60]!r}"
        if q.kind == "number":
            assert re.search(rf"^ +답: _+ ?{re.escape(q.unit)}$", text, re.M), f"{q.qid}: no blank for the answer"
    assert "정답" not in text and "{ref}" not in text
    assert text.startswith(quiz.SHEET_HEAD), "each chapter's sheet starts with a line for the name"


@pytest.mark.parametrize("chapter", list(quiz.CHAPTERS))
def test_the_paper_quiz_keeps_options_inside_their_numbered_item(chapter):
    # parsed as MyST does (markdown-it): one ordered list, one item per question, its options in that item;
    # "10. " needs four spaces of indent, so an option indented by three would fall out of the list
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(quiz.render_print(chapter))
    qs = quiz.by_chapter(chapter)
    assert sum(t.type == "ordered_list_open" for t in tokens) == 1, f"{chapter}: the list is broken in pieces"
    items, depth = [], 0
    for t in tokens:
        if t.type == "list_item_open":
            items.append("")
            depth += 1
        elif t.type == "list_item_close":
            depth -= 1
        elif t.type == "inline" and depth:
            items[-1] += t.content + "\n"
    assert len(items) == len(qs)
    for q, item in zip(qs, items):
        for i, o in enumerate(q.options):
            assert f"{quiz.MARKS[i]} {o.text}" in item, f"{q.qid}: option {i + 1} is outside its question"
        if q.kind == "number":
            assert "답: ____" in item, f"{q.qid}: the blank is outside its question"


def test_the_correct_option_is_not_given_away_by_its_length():
    # a test-wise student picks the longest option; it should be the right one not much more often than by chance
    longest = [q.qid for q in CHOICE if max(len(o.text) for o in q.options) == len(next(o for o in q.options if o.correct).text)
               and sum(len(o.text) == max(len(x.text) for x in q.options) for o in q.options) == 1]
    assert len(longest) <= 0.4 * len(CHOICE), f"the correct option is the longest in {len(longest)} of {len(CHOICE)}"


@pytest.mark.parametrize("q", ALL, ids=lambda q: q.qid)
def test_the_interactive_form_carries_no_answer(q):
    form = quiz.question_html(q)
    for s in [q.explanation] + [o.why for o in q.options] + [t.why for t in q.traps]:
        assert quiz.to_html(s) not in form, f"{q.qid}: the form shows {s[:60]!r}"
    assert "correct" not in form and "data-answer" not in form
    if q.kind == "number":
        assert 'value="' not in form, f"{q.qid}: the input comes filled in"


@pytest.mark.parametrize("chapter", list(quiz.CHAPTERS))
def test_the_key_has_every_answer_and_section(chapter):
    text = quiz.render_key(chapter)
    for q in quiz.by_chapter(chapter):
        assert q.answer_text() in text and q.explanation in text and f"{{ref}}`{q.ref}`" in text
    grid = text.splitlines()[0]
    assert grid.startswith("빠른 채점:") and grid.count(" · ") == len(quiz.by_chapter(chapter)) - 1
    for q in quiz.by_chapter(chapter):
        mark = quiz.MARKS[[o.correct for o in q.options].index(True)] if q.kind == "choice" else q.answer_text()
        assert f"{q.number} **{mark}**" in grid, f"{q.qid}: not in the marking grid"


def test_units_are_written_as_korean_text_writes_them():
    assert quiz.with_unit("480", "개") == "480개" and quiz.with_unit("81.1", "%") == "81.1%"
    assert quiz.with_unit("94", "MiB") == "94 MiB" and quiz.with_unit("1.25", "") == "1.25"


def test_payload_keeps_the_answers_for_the_browser():
    data = {q.qid: quiz.payload(q) for q in ALL}
    json.dumps(data, ensure_ascii=False)  # serializable as the page embeds it
    for q in CHOICE:
        assert [o["correct"] for o in data[q.qid]["options"]] == [o.correct for o in q.options]
    for q in NUMBER:
        assert data[q.qid]["answer"] == q.answer and data[q.qid]["tolerance"] == q.tolerance


def test_texts_follow_the_glossary_spelling():
    # the pages render these texts at build time, so the terminology test never sees them in book/*.md
    from .test_terminology import spelling_rules, variants_in

    rules = spelling_rules()
    problems = []
    for q in ALL:
        texts = [q.prompt, q.explanation] + [o.text for o in q.options] + [o.why for o in q.options] + [t.why for t in q.traps]
        problems += [f"{q.qid}: {v!r} -> write {used!r}" for text in texts for _, v, used in variants_in(text, rules)]
    assert not problems, problems


def test_texts_are_safe_in_myst_and_html():
    # the renderers pass texts to MyST as they are: no math, no substitutions, no stray roles
    for q in ALL:
        for text in [q.prompt, q.explanation] + [o.text for o in q.options]:
            assert "$" not in text and "{{" not in text and "```" not in text, q.qid
            assert not re.search(r"\{[a-z-]+\}`", text), q.qid
    assert quiz.to_html("`<|im_start|>` & **굵게**") == "<code>&lt;|im_start|&gt;</code> &amp; <strong>굵게</strong>"


# --- the built pages, in a browser ----------------------------------------------------------

@pytest.mark.browser
def test_quiz_page_answers_one_question_right_and_one_wrong(page, site_url):  # noqa: F811
    open_page(page, site_url, "book/quiz.html")
    page.wait_for_selector('form.ftquiz[data-ready="true"]')
    # the built page carries the answers of a fresh computation (no stale build)
    embedded = page.evaluate("""() => Object.assign({}, ...[...document.querySelectorAll('script.ftquiz-data')]
        .map(s => JSON.parse(s.textContent)))""")
    assert sorted(embedded) == sorted(q.qid for q in ALL)
    assert all(embedded[q.qid]["answer"] == q.answer for q in NUMBER)

    # right: the correct option of the first multiple-choice question
    q = CHOICE[0]
    right = next(i for i, o in enumerate(q.options) if o.correct)
    form = page.locator(f"#quiz-{q.qid}")
    form.locator(f'input[value="{right}"]').check()
    form.locator("button.ftquiz-check").click()
    feedback = form.locator(".ftquiz-feedback")
    assert form.get_attribute("data-state") == "right"
    assert "정답입니다" in feedback.inner_text() and q.explanation[:30] in feedback.inner_text()

    # wrong: a numeric question answered with a trap (a known mistake), typed with thousands separators
    q = next(q for q in NUMBER if q.traps and q.traps[0].value >= 1000)
    trap = q.traps[0]
    form = page.locator(f"#quiz-{q.qid}")
    form.locator("input[type=text]").fill(f"{trap.value:,.0f}")
    form.locator("input[type=text]").press("Enter")
    feedback = form.locator(".ftquiz-feedback")
    assert form.get_attribute("data-state") == "wrong"
    text = feedback.inner_text()
    assert "오답입니다" in text and trap.why[:30] in text
    assert q.explanation[:30] not in text  # folded until asked for
    feedback.locator("summary").click()
    assert quiz.fmt(q.answer, q.decimals) in feedback.inner_text()

    # the same form then takes the right answer
    form.locator("input[type=text]").fill(quiz.fmt(q.answer, q.decimals))
    form.locator("button.ftquiz-check").click()
    assert form.get_attribute("data-state") == "right"
    assert not page.errors, page.errors
    assert not page.outside, page.outside


@pytest.mark.browser
def test_quiz_pages_print_without_answers(page, site_url):  # noqa: F811
    open_page(page, site_url, "book/quiz_print.html")
    text = page.inner_text("article")
    assert page.locator("script.ftquiz-data").count() == 0
    for q in ALL:
        assert q.explanation[:40] not in text, f"{q.qid}: the printed quiz shows the explanation"
    # the interactive page printed: feedback, buttons and links to the sections are hidden
    open_page(page, site_url, "book/quiz.html")
    q = CHOICE[0]
    form = page.locator(f"#quiz-{q.qid}")
    form.locator('input[value="0"]').check()
    form.locator("button.ftquiz-check").click()
    page.emulate_media(media="print")
    assert not form.locator(".ftquiz-feedback").is_visible()
    assert not form.locator("button.ftquiz-check").is_visible()
    assert not page.errors, page.errors
