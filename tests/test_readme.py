"""The README tells the truth: its example questions are answered by the real service over
corpus/ with the fact each one asks for, its error example is the real error, and its
evaluation table is the committed report's."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from kotae_server import live_server

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")

# Every question the README shows, with what a correct answer must state (all of them;
# "a|b" accepts either spelling).
FACTS = {
    "Series C のリード投資家は？": ["ASML"],
    "Mistral AIが買収した会社はどこですか？": ["Koyeb"],
    "Mistral AIの本社はどこ？": ["パリ"],
    "Who is the CEO of Mistral AI?": ["Mensch|メンシュ"],
    "Who is Mistral's CTO?": ["Lacroix"],
    "When was Mistral AI founded?": ["2023"],
}
_QUESTION = re.compile(r"""(?:kotae ask |"(?:query|question|content)": )"((?:[^"\\]|\\.|'\\'')+)\"""")


def readme_questions() -> set[str]:
    return {m.group(1).replace("'\\''", "'") for m in _QUESTION.finditer(README)}


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def test_every_readme_question_is_checked_here():
    assert readme_questions() == set(FACTS)


@pytest.fixture(scope="module")
def server(corpus_settings):
    with live_server(corpus_settings) as s:
        yield s


@pytest.mark.slow
@pytest.mark.parametrize("question", sorted(FACTS))
def test_readme_examples_are_answered_with_their_fact(server, question):
    import httpx

    body = httpx.post(server.url + "/v1/ask", json={"question": question, "k": 5}, timeout=120).json()
    answer = re.split(r"\n\n\*\*(?:Sources|出典)\*\*", body["answer"])[0]
    assert body["found"], body["answer"]
    missing = [fact for fact in FACTS[question] if not any(_norm(f) in _norm(answer) for f in fact.split("|"))]
    assert not missing, f"{question!r}: the answer does not state {missing}:\n{answer}"


@pytest.mark.slow
def test_readme_error_example_is_the_real_error(server):
    import httpx

    shown = re.search(r'`(\{"error": \{"message": .*?\})`', README, re.DOTALL).group(1)
    message = re.search(r'"message": "([^"]+)"', shown).group(1)
    field = re.search(r'"field": "([^"]+)"', shown).group(1)
    real = httpx.post(server.url + "/v1/ask", json={"question": ""}, timeout=30)
    assert real.status_code == 422
    assert real.json()["error"]["message"] == message and real.json()["error"]["field"] == field


def test_readme_evaluation_table_is_the_committed_reports():
    from kotae.evals.readme_table import block

    summary = json.loads((REPO / "evals" / "reports" / "latest.json").read_text(encoding="utf-8"))
    assert block(summary) in README, "regenerate it: python -m kotae.evals.readme_table evals/reports/latest.json --update README.md"


def test_every_setting_is_in_the_readme():
    import dataclasses

    from kotae.settings import ENV_PREFIX, Settings

    missing = [ENV_PREFIX + f.name.upper() for f in dataclasses.fields(Settings) if ENV_PREFIX + f.name.upper() not in README]
    assert not missing, f"add them to the README's Configuration (or HTTP service) table: {missing}"
