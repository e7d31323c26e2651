"""Answers across languages, on a small two-language corpus made here, with the real default
model: the question's words cross to the other language through JMdict (index/bridge.py), so
the sentence that answers comes first, not a neighbour that shares only the question's name."""

from __future__ import annotations

import asyncio

import pytest

from kotae.evals.metrics import answer_sentences
from kotae.service.answer import answer_question

# Every sentence names the company and holds a number, so neither the name nor the expected
# answer type (a count) tells them apart: only the question's other words can.
KESTREL = """# Kestrel Foods

Kestrel Foods was founded in Sapporo in 1998 by two brothers.
Kestrel Foods has 420 employees across its factories.
Kestrel Foods exports 35 percent of its output to Taiwan.
"""

AOZORA = """# 青空ロボティクス

青空ロボティクスは仙台に本社を置く物流ロボットの会社である。
同社の倉庫ロボットは毎時1200個の荷物を仕分ける。
"""

# "made" is also できる (出来る) in JMdict, a word of countless Japanese sentences
TSUBAME = """# ツバメについて

ツバメは一台で塗装ができる。
ツバメの量産は2019年に始まった。
"""


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, model_cache):
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    root = tmp_path_factory.mktemp("crosslang")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in (("kestrel.md", KESTREL), ("aozora.md", AOZORA), ("tsubame.md", TSUBAME)):
        (corpus / name).write_text(text, encoding="utf-8")
    settings = load_settings(corpus_dir=corpus, index_dir=root / "index", cache_dir=model_cache)
    run_ingest(settings, progress=False)
    return open_retriever(settings)


def ask(retriever, question: str):
    result = retriever.search(question, k=5)
    return result, asyncio.run(answer_question(question, result))


def test_a_japanese_question_over_an_english_document_quotes_the_answering_sentence_first(retriever):
    # 従業員 -> employee (JMdict): the sentence with the employees, not the founding one before it
    result, a = ask(retriever, "Kestrel Foodsの従業員は何人？")
    assert a.found, a.text
    assert answer_sentences(a.body)[0].startswith("Kestrel Foods has 420 employees"), a.body
    hit = next(h for h in result.hits if h.doc_id == "kestrel.md")
    assert hit.text[slice(*hit.highlight)].startswith("Kestrel Foods has 420 employees")  # /v1/search agrees


def test_an_english_question_over_a_japanese_document_is_not_answered_by_a_function_word(retriever):
    # without a word of the question in either sentence, the one with the date answers "when";
    # できる ("made") in the other one must not count as the question's word
    result, a = ask(retriever, "When was Tsubame first made?")
    hit = next(h for h in result.hits if h.doc_id == "tsubame.md")
    assert hit.text[slice(*hit.highlight)] == "ツバメの量産は2019年に始まった。", a.body
    assert answer_sentences(a.body)[0] == "ツバメの量産は2019年に始まった。", a.body
