"""Definition questions (issue 11): "What is X?" / 「Xとは何ですか」 / 「Xって何？」 quote first a unit that
says what X is (X its subject, or under a heading that is X), not any unit that mentions X; a question
sentence is never the first quote. Small corpora made here with invented names; the end-to-end
tests use the real default model."""

from __future__ import annotations

import asyncio
import re

import pytest

from kotae.index.definition import defined_terms, defines, is_question


@pytest.mark.parametrize("question, terms", [
    ("What is Kite Chat?", ("kite chat",)),
    ("what's a GPU", ("gpu",)),
    ("What are transformers?", ("transformers",)),
    ("Tsubameとは何ですか？", ("tsubame",)),
    ("Tsubameって何？", ("tsubame",)),
    ("QEMUとはどういうソフトウェアですか？", ("qemu",)),
    ("光合成とは何か", ("光合成",)),
    ("三大発泡プラスチックのPSって何を指しているの?", ("三大発泡プラスチックのps",)),
    # a phrase ending in a name asks what the name is; a maker's name first gives the product's own name too
    ("Hayateが買収したTsubameとは何ですか", ("tsubame",)),
    ("What is Falcon Harrier?", ("falcon harrier", "harrier")),
    # not definitions: an attribute of a thing, a description asking for the name it describes
    ("What is the capital of France?", ()),
    ("What is Falcon's revenue?", ()),
    ("What is Kite Chat called in Japan?", ()),
    ("札幌の次に向かった都市とは?", ()),
    ("Falconについて何がわかりますか", ()),
    ("Who is the CEO of Falcon?", ()),
])
def test_definition_questions_and_what_they_ask_about(question, terms):
    assert defined_terms(question) == terms


def test_how_a_unit_says_what_x_is():
    x = ("tsubame",)
    assert defines(x, "買収されたTsubameは、一言で言えば、AIアプリを公開する基盤を提供している会社です。") == 3
    assert defines(x, "Tsubame（ツバメ）とは、パリのクラウド企業である。") == 3
    assert defines(("kite chat",), "Kite Chat is a multilingual assistant.") == 3
    assert defines(("kite chat",), "products: Kite Chat (multilingual assistant)") == 3
    assert defines(x, "Tsubameは内部で軽量な仮想マシンを使っています。") == 2
    assert defines(x, "軽量な仮想マシンを使っています。", "Tsubame") == 1
    assert defines(x, "HayateはTsubameを選んだ。") == 0
    assert defines(("kite chat",), "Kite Chat: 35%") == 0  # a field whose key is X says nothing of what X is


@pytest.mark.parametrize("text, asks", [
    ("なぜ数ある候補の中から、HayateはTsubameを選んだのでしょうか。", True),
    ("Why did Falcon buy it?", True),
    ("Tsubameはどこの会社？", True),
    ("それは本当なのか。", True),
    ("Tsubameは会社です。", False),
    ("「今でしょ」が流行した。", False),
])
def test_question_sentences(text, asks):
    assert is_question(text) == asks


BLOG = """# HayateがTsubameを買収

## 何が発表されたのか

AIスタートアップのHayateが、パリのクラウド企業Tsubameを買収したと発表しました。
なぜ数ある候補の中から、HayateはTsubameを選んだのでしょうか。
そこには、Tsubameが持つ独特の技術とTsubameの顧客基盤があります。

## 背景

買収されたTsubameは、一言で言えば、AIアプリを数クリックで公開できる基盤を提供している会社です。
"""

PRODUCTS = """# Falcon Systems product overview

| Product | Launch | Users |
|---|---|---|
| Kite Chat | 2024 | 2 million |
| Kite Code | 2025 | 300k |

Falcon Systems sells Kite Chat to banks and insurers across Europe.

Kite Chat is a multilingual assistant that answers questions about company documents.
"""


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, model_cache):
    from tests.conftest import small_corpus_retriever

    return small_corpus_retriever(tmp_path_factory.mktemp("definition"), {"tsubame.md": BLOG, "falcon.md": PRODUCTS}, model_cache)


def first_quote(retriever, question: str) -> str:
    from kotae.service.answer import answer_question

    result = retriever.search(question, k=5)
    a = asyncio.run(answer_question(question, result))
    assert a.found, a.text
    return next(q.strip() for q in re.split(r"\[\d+\]", a.body) if q.strip())


@pytest.mark.parametrize("question", ["What is Tsubame?", "Tsubameとは何ですか？", "Tsubameって何？"])
def test_what_is_x_quotes_the_unit_saying_what_x_is(retriever, question):
    assert first_quote(retriever, question).startswith("買収されたTsubameは、一言で言えば"), question


def test_what_is_x_quotes_a_defining_sentence_rather_than_a_table_row(retriever):
    assert first_quote(retriever, "What is Kite Chat?").startswith("Kite Chat is a multilingual assistant")


@pytest.mark.parametrize("question", ["What is Tsubame?", "HayateはなぜTsubameを選んだのですか？", "Why did Hayate choose Tsubame?"])
def test_a_question_sentence_is_never_the_first_quote(retriever, question):
    assert not is_question(first_quote(retriever, question)), question


def test_the_defining_clause_role_and_total_readers_take_empty_and_huge_input():
    """Empty terms or text give nothing; a 4,000-character sentence with no clause that says what
    X is gives no clause instead of the whole sentence; a repeated question is read once."""
    from kotae.index.answer_type import asks_total, names_role, role_nouns
    from kotae.index.definition import defining_clause

    assert defining_clause(("forge",), "") is None and defining_clause((), "Forge is a platform.") is None
    assert defining_clause(("forge",), "Forge は" + "、企業固有の知識" * 500 + "である。") is None
    assert role_nouns("") == () and not asks_total("")
    roles = role_nouns("Who founded " * 180)
    assert "創業者" in roles and names_role(roles, "創業者は" * 1000)
    assert asks_total("全部で" * 700)
