"""The built site in a real browser (headless Chromium driven by Playwright), and its launch links.

Needs `_build/html` (make test builds it first). The browser tests (marked `browser`; make test-fast
skips them) need Chromium: Debian's by default (`apt-get install chromium fonts-nanum`), or any other
through CHROMIUM, e.g. Playwright's own, which the GitHub-hosted runner uses (.github/workflows/test.yml):
`.venv/bin/python -m playwright install --with-deps chromium`, then CHROMIUM=its executable_path.
"""
import functools
import html.parser
import http.server
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from ftcourse.labtemplate import colab_url

from .test_structure import toc_entries

needs_browser = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PAGES = [entry + ".html" for entry in toc_entries()]
MATH_PAGES = ["book/index.html", "book/intro.html", "book/ch1_peft.html", "book/ch2_lora.html", "book/ch3_quant.html",
              "book/ch4_merging.html", "book/recipe.html", "book/calculator.html", "book/format_explorer.html"]
NOTEBOOK_PAGES = [p for p in PAGES if p.startswith(("labs/", "solutions/"))]
COLAB = "colab.research.google.com"


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "index.html").exists():
        pytest.fail("no built site in _build/html: run `make book` first", pytrace=False)
    handler = functools.partial(QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it (Debian: apt-get install chromium fonts-nanum) "
                    "or set CHROMIUM=/path/to/chromium (Playwright's: python -m playwright install chromium)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, site_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # the site must work offline: every request outside the local server is refused and reported
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(site_url):
            return r.continue_()
        outside.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.errors = []
    page.outside = outside
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    context.close()


def open_page(page, site_url, path):
    response = page.goto(f"{site_url}/{path}", wait_until="load")
    assert response and response.ok, f"{path}: HTTP {response.status if response else 'no response'}"
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")


@needs_browser
@pytest.mark.parametrize("path", PAGES)
def test_page_loads_clean(page, site_url, path):
    open_page(page, site_url, path)
    assert not page.errors, f"{path}: console errors {page.errors}"
    assert not page.outside, f"{path}: requests outside the site {page.outside[:3]}"
    broken = page.evaluate("""() => [...document.images]
        .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))""")
    assert not broken, f"{path}: images that did not load {broken}"
    no_alt = page.evaluate("""() => [...document.querySelectorAll('article img')]
        .filter(i => !(i.getAttribute('alt') || '').trim()).map(i => i.getAttribute('src'))""")
    assert not no_alt, f"{path}: images without alt text {no_alt}"
    text = page.inner_text("article")
    assert HANGUL.search(text), f"{path}: no Korean text in the article"


@needs_browser
@pytest.mark.parametrize("path", MATH_PAGES)
def test_math_is_typeset(page, site_url, path):
    open_page(page, site_url, path)
    assert page.locator("mjx-container").count() > 0, f"{path}: no typeset math"
    assert page.locator("mjx-merror").count() == 0, f"{path}: MathJax reported an error"
    prose = page.evaluate("""() => { const a = document.querySelector('article').cloneNode(true);
        a.querySelectorAll('pre, code, mjx-container, script').forEach(n => n.remove()); return a.innerText; }""")
    raw = [m for m in ("$$", "\\frac", "\\begin{", "\\(") if m in prose]
    assert not raw, f"{path}: raw TeX left in the text {raw}"


def korean_font_families() -> set[str]:
    out = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


def fonts_drawing(page, selector: str) -> set[str]:
    """The font families that really draw glyphs of the first element matching `selector` (not the CSS
    font list: what Chromium used)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    doc = cdp.send("DOM.getDocument", {"depth": -1})
    node = cdp.send("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": selector})
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    return {f["familyName"] for f in fonts if f["glyphCount"] > 0}


@needs_browser
@pytest.mark.parametrize("path", ["book/index.html", "book/intro.html"])
def test_korean_text_renders_with_a_korean_font(page, site_url, path):
    korean = korean_font_families()
    assert korean, "no Korean font installed for the browser (Debian: apt-get install fonts-nanum)"
    open_page(page, site_url, path)
    used = fonts_drawing(page, "article p")
    assert used & korean, f"{path}: Korean text drawn with {used}, none of which has Hangul ({sorted(korean)[:5]})"


# The concepts the source documents ask for (issue 13), by their Korean names, and the page that teaches each:
# the site's search must lead a student there.
SEED_CONCEPTS = {
    "미세조정": "book/intro.html",
    "학습률": "book/recipe.html",
    "워밍업": "book/recipe.html",
    "가중치 감쇠": "book/recipe.html",
    "기울기 누적": "book/recipe.html",
    "에폭": "book/recipe.html",
    "과적합": "book/recipe.html",
    "패킹": "book/recipe.html",
    "프롬프트 손실 가중치": "book/recipe.html",
    "기반 모델": "book/intro.html",
    "지시 모델": "book/intro.html",
    "증류": "book/intro.html",
    "안전": "book/intro.html",
    "Axolotl": "book/ch1_peft.html",
    "DeepSpeed": "book/ch1_peft.html",
    "어댑터 기반": "book/ch1_peft.html",
    "소프트 프롬프트": "book/ch1_peft.html",
    "하이퍼파라미터": "book/glossary.html",
    "토크나이저": "book/glossary.html",
    "헤드": "book/glossary.html",
    "로짓": "book/glossary.html",
}


@needs_browser
@pytest.mark.parametrize("term", SEED_CONCEPTS)
def test_search_finds_each_concept_where_it_is_taught(page, site_url, term):
    open_page(page, site_url, "search.html?q=" + term)
    # Sphinx lists hits one by one; the summary line appears when the search has finished
    page.wait_for_selector("#search-results p.search-summary", timeout=30_000)
    hits = page.evaluate("() => [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href)")
    expected = SEED_CONCEPTS[term]
    assert any(f"/{expected}" in h for h in hits), f"searching {term!r} does not list {expected}: {hits[:8]}"


@needs_browser
@pytest.mark.parametrize("path", NOTEBOOK_PAGES)
def test_launch_button_opens_the_notebook_in_colab(page, site_url, path):
    open_page(page, site_url, path)
    expected = colab_url(path.removesuffix(".html") + ".ipynb")
    launch = page.evaluate("() => [...document.querySelectorAll('.dropdown-launch-buttons a')].map(a => a.href)")
    assert expected in launch, f"{path}: no Colab launch button to {expected} (launch buttons: {launch})"
    hrefs = page.evaluate("() => [...document.querySelectorAll('article a')].map(a => a.href)")
    assert expected in hrefs, f"{path}: no 'Open in Colab' badge to {expected}"


@needs_browser
@pytest.mark.parametrize("path", PAGES)
def test_colab_links_open_notebooks_only(page, site_url, path):
    # Colab opens .ipynb files only; chapters are MyST .md (ftcourse/sphinx_site.py drops their button)
    open_page(page, site_url, path)
    colab = page.evaluate(f"() => [...document.querySelectorAll('a')].map(a => a.href).filter(h => h.includes('{COLAB}'))")
    assert all(href.endswith(".ipynb") for href in colab), f"{path}: Colab links to non-notebooks {colab}"
    if path in NOTEBOOK_PAGES:
        assert colab, f"{path}: no Colab link"
    assert page.locator(".dropdown-launch-buttons:not(:has(a))").count() == 0, f"{path}: an empty launch menu"


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [value for name, value in attrs if name == "href" and value]


def test_no_colab_link_to_a_markdown_file_anywhere_in_the_site():
    # the same without a browser, over every HTML file of the site (runs under make test-fast too)
    if not (SITE / "index.html").exists():
        pytest.fail("no built site in _build/html: run `make book` first", pytrace=False)
    found: dict[str, list[str]] = {}
    for file in sorted(SITE.rglob("*.html")):
        parser = Links()
        parser.feed(file.read_text(encoding="utf-8"))
        colab = [href for href in parser.hrefs if COLAB in href]
        if colab:
            found[file.relative_to(SITE).as_posix()] = colab
    bad = {page: hrefs for page, hrefs in found.items() if any(not h.endswith(".ipynb") for h in hrefs)}
    assert not bad, f"Colab links to files Colab cannot open: {bad}"
    for path in NOTEBOOK_PAGES:
        assert colab_url(path.removesuffix(".html") + ".ipynb") in found.get(path, []), f"{path}: no Colab link"


@needs_browser
@pytest.mark.parametrize("path, name", [("book/index.html", "home"), ("book/intro.html", "intro")])
def test_screenshots(page, site_url, path, name):
    ARTIFACTS.mkdir(exist_ok=True)
    open_page(page, site_url, path)
    shot = ARTIFACTS / f"screenshot-{name}.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
