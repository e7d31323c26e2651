"""`kotae ask` in a terminal: the answer's Markdown is rendered (bold only on a terminal without
NO_COLOR), never printed raw; `--json` keeps the answer text as /v1/ask gives it."""

from __future__ import annotations

import io
import json

import pytest

from kotae.index.search import Hit, SearchResult
from kotae.service.answer import Answer
from kotae.service.cli import _print_answer

TEXT = "Arthur Mensch（CEO）が率いる。"
HIT = Hit("p1", "a.md", "Mistral", "経営陣", None, 0, len(TEXT), TEXT, "ja", "prose", 1.0, {}, (0, len(TEXT)))
CITATION = {"citation": 1, "doc_id": "a.md", "title": "Mistral", "section": "経営陣", "page": None,
            "char_start": 0, "char_end": len(TEXT)}
ANSWER = Answer(body=f"{TEXT} [1]", citations=[CITATION], found=True, lang="ja", confidence=0.9)


class Retriever:
    def search(self, question, k):
        return SearchResult(question, "ja", [HIT])

    def ask(self, question, k):
        return ANSWER


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _printed(monkeypatch, stream, as_json=False) -> str:
    monkeypatch.setattr("sys.stdout", stream)
    _print_answer(Retriever(), None, "CEOは誰？", 1, as_json)
    return stream.getvalue()


def test_piped_output_is_plain_text(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _printed(monkeypatch, io.StringIO())
    assert "出典\n- [1] Mistral › 経営陣 — a.md" in out
    assert "**" not in out and "`" not in out and "\033" not in out


def test_terminal_shows_bold_unless_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\033[1m出典\033[0m" in _printed(monkeypatch, Terminal())
    monkeypatch.setenv("NO_COLOR", "1")
    out = _printed(monkeypatch, Terminal())
    assert "出典\n" in out and "**" not in out and "\033" not in out


@pytest.mark.parametrize("stream", [io.StringIO(), Terminal()])
def test_json_keeps_the_answer_markdown(monkeypatch, stream):
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = json.loads(_printed(monkeypatch, stream, as_json=True))
    assert out["answer"] == ANSWER.text and "**出典**" in out["answer"]
