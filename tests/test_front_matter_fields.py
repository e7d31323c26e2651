"""Front matter read as records (issue 11): a passage cut inside a YAML mapping or list item reads
with the lines that open it, a document's front-matter fields whose key meets the question's words
are found though retrieval missed their passage, and a bare number is money only under a money key."""

from __future__ import annotations

import numpy as np

from kotae.index.bridge import english_groups
from kotae.index.highlight import answer_units, structure_lead
from kotae.index.rerank import Candidate, LexicalReranker, SecondStageConfig, SentenceScorer

FRONT = """id: "X_1"
title: "Aozora Robotics"
funding_history:
  seed_round_amount_eur: 105000000
  total_funding_rounds: 7
  total_investors: 41
founders_team:
  - name: "Hana Sato"
    role: "CEO & Co-founder"
  - name: "Ken Mori"
    role: "CTO & Co-founder"
    background: "robotics researcher"
"""


def _cut(at: str) -> tuple[str, str]:
    i = FRONT.index(at)
    return FRONT[:i], FRONT[i:]


def test_a_passage_cut_inside_a_list_item_reads_as_the_whole_record():
    before, passage = _cut('    role: "CTO')
    lead = structure_lead(before, passage.split("\n", 1)[0])
    assert lead == 'founders_team:\n  - name: "Ken Mori"'
    units = answer_units(lead + "\n" + passage, "Aozora Robotics › metadata")
    assert units[0].text == "name: Ken Mori · role: CTO & Co-founder · background: robotics researcher"
    # alone, the role line says whose role it is nowhere
    assert answer_units(passage, "Aozora Robotics › metadata")[0].text == "role: CTO & Co-founder"


def test_a_passage_cut_inside_a_mapping_reads_with_its_parent_key():
    before, passage = _cut("  total_funding_rounds")
    assert structure_lead(before, passage.split("\n", 1)[0]) == "funding_history:"
    assert structure_lead("", "title: x") == ""  # a top-level line opens nothing


def _scored(question: str, passages: list[tuple[str, str, float, bool]], tokenizer: str = "bigram") -> list[Candidate]:
    scorer = SentenceScorer(tokenizer, lambda tokens: np.ones(len(tokens), np.float32))
    cands = [Candidate(pid, text, "Aozora Robotics › metadata" if added else "Aozora Robotics › 概要", "ja", first, added=added)
             for pid, text, first, added in passages]
    scorer.score(scorer.query_weights(question), cands, question)
    return cands


def _field_beats_prose(question: str, prose: tuple[str, str, float, bool],
                       fields: tuple[str, str, float, bool]) -> tuple[bool, list[Candidate]]:
    """Whether an added front-matter passage outranks a retrieved prose passage in the second stage
    (a Japanese question, the index's word tokenizer); the scored candidates for further checks."""
    cands = _scored(question, [prose, fields], "sudachi")
    scores = LexicalReranker(SecondStageConfig()).rerank(question, "ja", cands)
    return scores[1] > scores[0], cands


def test_a_bare_number_is_money_only_under_a_money_key():
    units = {u.unit.text: u for u in _scored("Aozora Roboticsはこれまで何回資金調達のラウンドを行ってきた？",
                                             [("a.md#0", FRONT, 1.0, False)])[0].units}
    assert units["total funding rounds: 7"].typed
    assert not units["seed round amount eur: 105000000"].typed  # an amount, not a count of rounds
    money = {u.unit.text: u for u in _scored("How much has Aozora Robotics raised in euros?", [("a.md#0", FRONT, 1.0, False)])[0].units}
    assert money["seed round amount eur: 105000000"].typed
    assert not money["total funding rounds: 7"].typed  # "funding" says what is counted, "rounds" what it is
    # a timestamp is no bare number: its seconds are not a count
    stamp = {u.unit.text: u for u in _scored("How many people work there?", [("b.md#0", "date: 2026-02-18T00:00:00+09:00", 1.0, False)])[0].units}
    assert not stamp["date: 2026-02-18T00:00:00+09:00"].typed


def test_japanese_words_of_record_fields_meet_english_keys():
    groups = dict(english_groups(["投資家", "合計", "日付"]))
    assert "investor" in groups["投資家"] and "total" in groups["合計"] and "date" in groups["日付"]


def test_a_front_matter_field_added_for_its_key_leads_its_document_only_when_it_answers():
    """Retrieval found the document's prose on its funding, not the field that counts its rounds."""
    question = "Aozora Roboticsはこれまで何回資金調達のラウンドを行ってきた？"
    prose = ("a.md#5", "同社は欧州の投資家から支援を受けている。", 1.0, False)
    other = ("b.md#0", "Hoshino Labsは倉庫ロボットの会社である。", 0.8, False)
    fields = ("a.md#1", "funding_history:\n  total_funding_rounds: 7", 0.0, True)
    team = ("a.md#2", 'founders_team:\n  - name: "Hana Sato"\n    role: "CEO"', 0.0, True)
    cands = _scored(question, [prose, other, fields, team])
    scores = LexicalReranker(SecondStageConfig()).rerank(question, "ja", cands)
    by_id = dict(zip((c.id for c in cands), scores))
    assert by_id["a.md#1"] > by_id["a.md#5"] > by_id["b.md#0"]  # first in its document, no higher
    assert by_id["a.md#2"] == -np.inf  # added and answering nothing: dropped
    # a question asking for no number keeps what retrieval found
    who = "Aozora Roboticsの資金調達のラウンドについて教えて"
    cands = _scored(who, [prose, other, fields])
    assert LexicalReranker(SecondStageConfig()).rerank(who, "ja", cands)[2] == -np.inf


def test_money_and_shares_count_nothing():
    """「何社」 asks for a count: €1.3B and 11% are an amount and a share, not one (they held the
    first place of their document against ``total_investors: 41``)."""
    from kotae.index.answer_type import holds_type

    question = "投資家は全部で何社あるの？"
    assert not holds_type("count", "主導投資家: ASML Holding NVが€1.3Bを投資", question)
    assert not holds_type("count", "ASMLの出資比率: 11%に相当", question)
    assert holds_type("count", "total investors: 41", question)
    assert holds_type("count", "顧客は450,000社", question)


def test_an_added_field_is_compared_with_the_units_that_hold_the_asked_kind():
    """The document's prose names the investors more than the field's English key does, but holds no
    count: the field that counts them leads."""
    question = "Aozora Roboticsに出資している投資家は全部で何社あるの？"
    prose = ("a.md#5", "主導投資家はHoshino Capitalで、共同投資家にはMori Venturesなどが並ぶ。", 1.0, False)
    fields = ("a.md#1", "funding_history:\n  total_investors: 41", 0.0, True)
    assert _field_beats_prose(question, prose, fields)[0]


def test_a_currency_named_in_the_question_meets_its_code_in_a_key():
    """"in euros" asks for ``funding_total_eur``, not ``funding_total_usd``."""
    from kotae.index.wordform import word_form

    assert word_form("euros") == word_form("euro") == word_form("eur") != word_form("usd") == word_form("dollars")
    question = "How much money has Aozora Robotics raised in total, in euros?"
    text = "funding_total_usd: 3050000000\nfunding_total_eur: 2570000000"
    units = {u.unit.text: u for u in _scored(question, [("a.md#0", text, 1.0, False)])[0].units}
    assert units["funding total eur: 2570000000"].score > units["funding total usd: 3050000000"].score


def test_a_japanese_noun_phrase_question_is_answered_by_the_field_its_head_noun_names():
    """「…のカテゴリ」 asks with no interrogative: its last noun names what is asked, and the
    field whose key is that noun (``category:``) answers it, above prose that shares other words."""
    from kotae.index.rerank import head_word

    question = "ケーススタディのメタデータ上のAozora Roboticsのカテゴリ"
    # with the index's word tokenizer (the bigram one ends on a bigram, no word)
    assert head_word(question, "sudachi") == "カテゴリー" and not head_word("Aozora Roboticsのカテゴリは何？", "sudachi")
    prose = ("a.md#5", "ユースケース: 倉庫の自動化、ピッキング、在庫管理", 1.0, False)
    fields = ("a.md#0", 'category: "robotics_vendor"\ntier: "flagship"', 0.0, True)
    assert _field_beats_prose(question, prose, fields)[0]


def test_the_field_a_noun_phrase_names_is_what_its_passage_is_quoted_by():
    """「…日本市場スコアの合計」: ``total: 79.5``, not ``market_relevance: 78``, whose key meets more of
    the question's other words."""
    question = "ケーススタディにおけるAozora Roboticsの日本市場スコアの合計"
    prose = ("a.md#5", "日本市場の優先度は3-4番目", 1.0, False)
    text = "japan_score:\n  market_relevance: 78\n  total: 79.5"
    fields = ("a.md#1", text, 0.0, True)
    beats, cands = _field_beats_prose(question, prose, fields)
    assert beats
    assert text[slice(*cands[1].highlight)] == "total: 79.5"
