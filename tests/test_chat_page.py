"""The chat page in a real headless Chromium against a real server: ask a Japanese question,
see a streamed answer with citations, click one, see the source passage with the answering
sentence highlighted, open the whole document at that place. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import shutil
from pathlib import Path

import pytest

from kotae_server import live_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]

if not Path(CHROMIUM).exists():
    pytest.skip("Debian chromium is not installed (apt-get install chromium, or `make system-deps`)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@pytest.fixture(scope="module")
def server(corpus_settings):
    with live_server(corpus_settings) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_japanese_question_cited_answer_and_source(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(locale="ja-JP", viewport={"width": 1400, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    expect = sync_api.expect

    # Japanese UI strings, following the browser language.
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_test_id("question-input")).to_have_attribute("placeholder", "日本語または英語で質問してください…")
    expect(page.get_by_test_id("status")).to_contain_text("5 件の文書")

    page.get_by_test_id("question-input").fill("Mistral AIが買収した会社はどこですか？")
    page.get_by_test_id("question-input").press("Enter")

    answer = page.locator("[data-testid=message-assistant][data-found=true]")
    expect(answer).to_have_count(1, timeout=30_000)
    expect(answer).to_contain_text("Koyeb")
    cites = answer.get_by_test_id("cite-link")
    assert cites.count() >= 1
    expect(answer.get_by_test_id("source-card").first).to_contain_text("Koyeb")

    cites.first.click()
    panel = page.get_by_test_id("source-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("[1] 出典パッセージ")
    highlight = panel.get_by_test_id("highlight")
    expect(highlight).to_be_visible()
    assert len(highlight.inner_text().strip()) > 10
    assert highlight.inner_text().strip() in panel.get_by_test_id("passage-text").inner_text()
    expect(cites.first).to_have_class("cite active")
    page.screenshot(path=str(ARTIFACTS / "chat.png"))

    # The whole document, scrolled to the passage, the same sentence highlighted.
    panel.get_by_test_id("open-document").click()
    doc_highlight = panel.get_by_test_id("doc-highlight")
    expect(doc_highlight).to_be_visible()
    expect(doc_highlight).to_be_in_viewport()
    assert highlight_text_matches(doc_highlight.inner_text(), answer)
    page.screenshot(path=str(ARTIFACTS / "chat-document.png"))
    assert not errors, errors
    context.close()


def highlight_text_matches(doc_sentence: str, answer) -> bool:
    squeeze = lambda s: "".join(ch for ch in s if ch.isalnum())  # noqa: E731
    # a front-matter line is highlighted whole in the document; the answer quotes a long value
    # without its key (index/highlight.py)
    doc_sentence = re.sub(r"^\s*[A-Za-z_][\w.-]*:\s*", "", doc_sentence)
    return len(squeeze(doc_sentence)) > 5 and squeeze(doc_sentence)[:10] in squeeze(answer.inner_text())


def test_english_ui_and_document_deep_link(server, browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.goto(server.url + "/#doc=004_80795f28c2f237e0.txt&start=0&end=40")
    expect = sync_api.expect
    expect(page.get_by_test_id("question-input")).to_have_attribute("placeholder", "Ask a question in English or Japanese…")
    expect(page.get_by_test_id("source-panel")).to_be_visible()
    expect(page.get_by_test_id("document-text")).to_contain_text("Koyeb")
    expect(page.get_by_test_id("doc-highlight")).to_be_visible()
    context.close()


# -- phone width, tables, the API key prompt ---------------------------------------------------

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
TABLE_DOC = "000_88ac10f7089fed89.txt"


def _outside(page, container: str, inner: str) -> list[str]:
    """Elements matching `inner` whose box runs past the right edge of their `container`
    ancestor or of the viewport (what the user sees clipped)."""
    return page.evaluate("""([container, inner]) => [...document.querySelectorAll(inner)].filter((el) => {
        const box = el.getBoundingClientRect(), outer = el.closest(container).getBoundingClientRect();
        return box.right > outer.right + 0.5 || box.right > window.innerWidth + 0.5 || box.left < -0.5;
    }).map((el) => el.outerHTML.slice(0, 120))""", [container, inner])


def test_phone_width_has_no_horizontal_overflow(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(locale="ja-JP", **PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.url + "/")
    expect = sync_api.expect
    expect(page.get_by_test_id("status")).to_contain_text("5 件の文書")
    page.get_by_test_id("question-input").fill("Mistral AIが買収した会社はどこですか？")
    page.get_by_test_id("question-input").press("Enter")
    answer = page.locator("[data-testid=message-assistant][data-found=true]")
    expect(answer).to_have_count(1, timeout=30_000)
    cards = answer.get_by_test_id("source-card")
    assert cards.count() >= 1

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.evaluate("document.querySelector('#messages').scrollWidth <= document.querySelector('#messages').clientWidth")
    assert not _outside(page, ".content", "[data-testid=message-assistant] .source-card")
    assert not _outside(page, ".messages", ".messages *")
    cards.last.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "chat-phone.png"))

    # The source panel covers the screen; the note under the passage is reachable, above the buttons.
    answer.get_by_test_id("cite-link").first.click()
    panel = page.get_by_test_id("source-panel")
    expect(panel).to_be_visible()
    hint = panel.get_by_test_id("passage-hint")
    hint.scroll_into_view_if_needed()
    expect(hint).to_be_in_viewport(ratio=1)
    hint_box, actions_box = hint.bounding_box(), page.locator("#panel-actions").bounding_box()
    assert hint_box["y"] + hint_box["height"] <= actions_box["y"] + 0.5, (hint_box, actions_box)
    assert actions_box["y"] + actions_box["height"] <= 844 + 0.5
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not _outside(page, "#panel", "#panel *:not(.table-wrap *)")
    page.screenshot(path=str(ARTIFACTS / "chat-phone-source.png"))
    assert not errors, errors
    context.close()


def _squeeze(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace() and ch != "|")


def test_markdown_tables_render_as_tables_with_exact_marks(server, browser):
    import httpx

    text = httpx.get(f"{server.url}/v1/documents/{TABLE_DOC}", timeout=30).json()["text"]
    start = text.index("| ASML |")
    end = text.index("\n", text.index("| Microsoft |", start))
    context = browser.new_context(locale="ja-JP", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/#doc={TABLE_DOC}&start={start}&end={end}")
    expect = sync_api.expect
    document = page.get_by_test_id("document-text")
    expect(page.get_by_test_id("doc-highlight")).to_be_visible()
    table = document.locator("table.md-table", has=page.locator("mark.passage-span"))
    expect(table).to_be_visible()
    expect(table.locator("th").first).to_have_text("パートナー")
    shown = document.inner_text()
    assert "|---" not in shown and "| ASML |" not in shown
    # The marked characters are exactly the span's, the pipes (not shown) aside.
    marked = "".join(document.locator("mark.passage-span").all_inner_texts())
    assert _squeeze(marked) == _squeeze(text[start:end])
    assert document.locator("td mark.passage-span").first.inner_text() == "ASML"
    page.screenshot(path=str(ARTIFACTS / "chat-document-table.png"))

    # The passage view: the same renderer, highlight offsets in code points (𠮷 is two UTF-16 units).
    passage = "𠮷野家の表。\n| 時期 | 店舗数 |\n|---|---|\n| 2024年 | 35店 |\n以上である。"
    hs = passage.index("2024年")
    page.evaluate("c => showPassage(c)", {"citation": 1, "doc_id": "x.md", "title": "t", "section": None, "page": None,
                                          "score": 1.0, "text": passage, "highlight": [hs, hs + 5]})
    body = page.get_by_test_id("passage-text")
    expect(body.locator("table.md-table th")).to_have_text(["時期", "店舗数"])
    expect(page.get_by_test_id("highlight")).to_have_text("2024年")
    assert page.get_by_test_id("highlight").evaluate("el => el.closest('td') !== null")
    assert "---" not in body.inner_text() and "𠮷野家の表。" in body.inner_text()
    context.close()


def test_waiting_for_the_api_key_is_not_offline(corpus_settings, browser):
    with live_server(corpus_settings.replace(api_key="page-key-123")) as keyed:
        context = browser.new_context(locale="en-US", viewport={"width": 1200, "height": 800})
        page = context.new_page()
        page.goto(keyed.url + "/")
        expect = sync_api.expect
        expect(page.locator("#key-banner")).to_be_visible()
        status = page.get_by_test_id("status")
        expect(status).to_have_text("API key needed")
        page.locator("#key-input").fill("page-key-123")
        page.locator("#key-form button").click()
        expect(status).to_have_text("5 docs")
        expect(page.locator("#key-banner")).to_be_hidden()
        context.close()
