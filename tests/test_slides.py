"""The chapter slides (make slides): cut from the built chapters, reveal.js served by the site itself.

The Python checks read the built book (`make book` first) and write decks into a temporary folder;
the browser checks open the decks `make slides` wrote into _build/html/slides, offline.
"""
import re
import shutil
import time

import pytest
from bs4 import BeautifulSoup

from ftcourse import slides

from .test_site_browser import (  # noqa: F401  (fixtures)
    HANGUL, SITE, browser, fonts_drawing, korean_font_families, needs_browser, page, site_url)

BUILD_SECONDS = 30


def built(name: str) -> BeautifulSoup:
    path = SITE / "book" / f"{name}.html"
    if not path.exists():
        pytest.fail(f"no built {path.relative_to(SITE.parent.parent)}: run `make book` first", pytrace=False)
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    for name in slides.DECKS:
        built(name)
    out = tmp_path_factory.mktemp("site") / slides.SLIDES_DIR
    start = time.perf_counter()
    files = slides.build(SITE, out=out)
    seconds = time.perf_counter() - start
    assert seconds < BUILD_SECONDS, f"make slides took {seconds:.1f} s (limit {BUILD_SECONDS} s)"
    return {f.stem: BeautifulSoup(f.read_text(encoding="utf-8"), "html.parser") for f in files}


def test_reveal_is_the_pinned_build(tmp_path):
    source = slides.reveal_source()
    slides.check_reveal(source)
    copy = tmp_path / "revealjs"
    shutil.copytree(source, copy)
    (copy / "dist" / "reveal.css").write_text("/* changed */", encoding="utf-8")
    with pytest.raises(slides.SlidesError, match="sha256"):
        slides.check_reveal(copy)


def test_first_sentences_cut_after_the_sentence_end_and_keep_math():
    p = BeautifulSoup('<p>가중치는 <span class="math">\\(W_0 + 0.5\\)</span>입니다. 둘째 문장입니다. '
                      '<a href="x.html">셋째</a> 문장입니다.</p>', "html.parser").p
    assert slides.first_sentences(p, 1) == '가중치는 <span class="math">\\(W_0 + 0.5\\)</span>입니다.'
    two = slides.first_sentences(p, 2)
    assert two.endswith("둘째 문장입니다.") and "셋째" not in two and "<a" not in two


@pytest.mark.parametrize("name", slides.DECKS)
def test_a_deck_follows_its_chapter(decks, name):
    chapter = built(name)
    deck = decks[name]
    h1 = chapter.select_one("article.bd-article section h1")
    assert deck.find("h1").get_text(strip=True) == slides._title(h1)
    top = chapter.select_one("article.bd-article section")
    titles = [slides._title(s.find("h2", recursive=False)) for s in top.find_all("section", recursive=False)
              if s.find("h2", recursive=False)]
    shown = [a.get_text(strip=True) for a in deck.select("section > h2 > a")]
    assert shown == [t for t in titles if t != "요약"], "one slide per ## section, in the chapter's order"
    assert deck.select_one("section#summary li") is not None, f"{name}: no summary slide"
    assert deck.select_one("section#objectives li") is not None, f"{name}: no objectives slide"
    # every figure the chapter computed (outside exercises) is on a slide, with its alt text
    wanted = {img["src"] for img in top.select("figure img")
              if not img.find_parent("div", class_=re.compile(r"\b(exercise|solution)\b"))}
    on_slides = {img["src"]: img.get("alt", "") for img in deck.select("figure img")}
    assert wanted <= set(on_slides), f"{name}: figures missing from the deck {sorted(wanted - set(on_slides))[:3]}"
    assert all(alt.strip() for alt in on_slides.values()), f"{name}: a figure without alt text"
    for src in on_slides:
        assert (SITE / slides.SLIDES_DIR / src).resolve().is_file(), f"{name}: {src} is not in the built site"
    # offline: every script, style sheet and image is served by the site
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src")):
        for element in deck.find_all(tag):
            url = element.get(attr) or ""
            assert not re.match(r"^(https?:)?//", url), f"{name}: {tag} from outside the site: {url}"
    assert HANGUL.search(deck.get_text())


# ----------------------------------------------------------------------------- in the browser
def open_deck(page, site_url, name):
    path = SITE / slides.SLIDES_DIR / f"{name}.html"
    if not path.exists():
        pytest.fail(f"no {path.relative_to(SITE.parent.parent)}: run `make slides` after `make book`", pytrace=False)
    response = page.goto(f"{site_url}/{slides.SLIDES_DIR}/{name}.html", wait_until="load")
    assert response and response.ok
    page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=15_000)
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")


@needs_browser
@pytest.mark.parametrize("name", slides.DECKS)
def test_a_deck_opens_offline_with_its_figures_and_korean(page, site_url, name):
    open_deck(page, site_url, name)
    total = page.evaluate("() => Reveal.getTotalSlides()")
    sections = page.locator(".reveal .slides section > h2 > a").count()
    assert total >= sections + 3 >= 5, f"{name}: {total} slides for {sections} sections"
    # the first figure slide: its image is served and decoded
    figure_slide = page.evaluate("() => { const s = document.querySelector('section.figure-slide'); return s && s.id; }")
    assert figure_slide, f"{name}: no figure slide"
    page.evaluate(f"() => {{ Reveal.configure({{transition: 'none'}}); "
                  f"const i = Reveal.getIndices(document.getElementById('{figure_slide}')); Reveal.slide(i.h, i.v); }}")
    page.wait_for_function(f"() => Reveal.getCurrentSlide().id === '{figure_slide}'")
    img = page.locator(f"section#{figure_slide} figure img")
    img.wait_for(state="visible")
    assert page.evaluate(f"() => {{ const i = document.querySelector('section#{figure_slide} figure img'); "
                         "return i.complete && i.naturalWidth > 0; }"), f"{name}: the figure did not load"
    # Korean is drawn with a font that has Hangul
    korean = korean_font_families()
    assert korean, "no Korean font installed for the browser (Debian: apt-get install fonts-nanum)"
    page.evaluate("() => Reveal.slide(0)")
    used = fonts_drawing(page, "section#title h1")
    assert used & korean, f"{name}: the title is drawn with {used}, none of which has Hangul"
    assert HANGUL.search(page.inner_text("section#title h1"))
    assert page.locator("mjx-merror").count() == 0, f"{name}: MathJax reported an error"
    assert not page.errors, f"{name}: console errors {page.errors}"
    assert not page.outside, f"{name}: requests outside the site {page.outside[:3]}"


def test_the_lesson_plan_links_every_deck():
    plan = SITE / "book" / "lesson_plan.html"
    if not plan.exists():
        pytest.fail("no built book/lesson_plan.html: run `make book` first", pytrace=False)
    hrefs = {a["href"] for a in BeautifulSoup(plan.read_text(encoding="utf-8"), "html.parser").select("a.slide-deck")}
    assert hrefs == {f"../{slides.SLIDES_DIR}/{name}.html" for name in slides.DECKS}


def test_a_sentence_does_not_end_at_et_al_or_inside_a_number():
    p = BeautifulSoup('<p>BitNet b1.58 [<a href="#x">Ma et al.</a>, 2024]은 세 값을 씁니다 (값 0.5개). 둘째 문장입니다.</p>',
                      "html.parser").p
    one = slides.first_sentences(p, 1)
    assert one.endswith("(값 0.5개).") and "Ma et al." in one and "둘째" not in one


CHAPTER = """<article class="bd-article"><section><h1>장</h1>
<section id="a"><h2>열린 목록</h2><p>첫 문장입니다. 둘째 문장입니다.</p><ul><li>요점 하나입니다. 덧붙임.</li><li>요점 둘</li></ul>
  <div class="cell"><p>코드</p></div><ul><li>뒤의 예시 목록</li></ul></section>
<section id="b"><h2>늦은 목록</h2><p>도입입니다.</p><div class="cell"><p>코드</p></div><ul><li>예제의 숫자 60스텝</li></ul>
  <p>다음 문단입니다. 더.</p><p>셋째 문단입니다.</p><p>넷째 문단입니다.</p></section>
<section id="d"><h2>끝의 목록</h2><p>도입입니다.</p><div class="cell"><p>코드</p></div><p>한계도 있습니다.</p>
  <ul><li>같은 구조. 설명.</li><li>보장 없음.</li></ul></section>
<section id="c"><h2>정의</h2><p>세 갈래입니다.</p><div class="math notranslate nohighlight">\\[W = W_0\\]</div>
  <dl class="simple"><dt>합산</dt><dd><p>같은 자리를 더합니다. 자세히.</p></dd><dt>연결</dt><dd><p>옆으로 잇습니다.</p></dd></dl></section>
<section id="summary"><h2>요약</h2><ul>""" + "".join(f"<li>요점 {i}입니다. 설명 {i}.</li>" for i in range(9)) + """</ul></section>
</section></article>"""


def test_a_slide_takes_the_list_that_opens_its_section_and_its_equation():
    chapter = slides.read_chapter(CHAPTER, "x")
    opening, late, closing, defined = chapter.sections
    assert opening.bullets == ["요점 하나입니다.", "요점 둘"]  # not the example list after the code
    # a list after code is often a worked example's: the next paragraphs instead, when there are enough of them
    assert late.bullets == ["다음 문단입니다.", "셋째 문단입니다.", "넷째 문단입니다."]
    assert closing.bullets == ["같은 구조.", "보장 없음."]
    assert defined.bullets == ["<strong>합산</strong>: 같은 자리를 더합니다.", "<strong>연결</strong>: 옆으로 잇습니다."]
    assert "W = W_0" in defined.equation and not opening.equation


def test_the_summary_is_spread_evenly_over_slides_one_sentence_a_point():
    deck = BeautifulSoup(slides.deck_html(slides.read_chapter(CHAPTER, "x")), "html.parser")
    pages = deck.select("section[id^=summary]")
    assert [len(s.select("ul > li")) for s in pages] == [3, 3, 3]
    assert [s.h2.get_text() for s in pages] == ["요약 (1/3)", "요약 (2/3)", "요약 (3/3)"]
    assert pages[0].select_one("li").get_text() == "요점 0입니다." and "설명 0" in pages[0].select_one("aside.notes").get_text()


def test_points_are_spread_evenly_over_slides():
    for count, most in ((9, 4), (13, 4), (4, 4), (1, 4), (10, 3)):
        pages = slides._pages(list(range(count)), most)
        sizes = [len(p) for p in pages]
        assert sum(pages, []) == list(range(count)) and max(sizes) <= most, (count, sizes)
        assert max(sizes) - min(sizes) <= 1 and len(pages) == -(-count // most), (count, sizes)
