"""The chat page in a real headless Chromium against a real server: ask a Japanese question,
see a streamed answer with citations, click one, see the source passage with the answering
sentence highlighted, open the whole document at that place. Screenshots go to test-artifacts/."""

from __future__ import annotations

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
