"""Issue 11: e5 rates passages in the question's own language higher than equally relevant
ones in the other language, so the dense side adds an offset to the other language's cosines,
unless the question's own words are found in its own language."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from kotae.index.backends.base import Filters, IndexStats, Matches
from kotae.index.search import RetrievalConfig, Retriever
from kotae.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from fake_index import FakeLanguages  # noqa: E402


class _Backend(FakeLanguages):
    """Passages with a fixed cosine and BM25 score each; filters by passage language."""

    def __init__(self, passages: dict[str, tuple[str, float, float]], says_langs: bool = True):
        super().__init__(lang for lang, _, _ in passages.values())
        self.passages = passages  # id -> (language, cosine, BM25 score of the question's words)
        self.says_langs = says_langs  # whether matches carry passage languages (else: filtered searches)

    def _top(self, column: int, k: int, filters: Filters | None) -> Matches:
        rows = [(pid, p[column], p[0]) for pid, p in self.passages.items()
                if (filters is None or filters.lang in (None, p[0])) and p[column] > 0]
        rows.sort(key=lambda r: -r[1])
        rows = rows[:k]
        langs = tuple(r[2] for r in rows) if self.says_langs else ()
        return Matches(tuple(r[0] for r in rows), np.array([r[1] for r in rows], dtype=np.float32), tuple(r[2] for r in rows), langs)

    def dense(self, query, k, filters=None):
        return self._top(1, k, filters)

    def keyword(self, tokens, k, filters=None):
        return self._top(2, k, filters)


ENGLISH = {f"en{i}#0": ("en", 0.835 - 0.01 * i, 0.0) for i in range(5)}  # on-topic for nothing
JAPANESE = {"ja0#0": ("ja", 0.812, 0.0), "ja1#0": ("ja", 0.70, 0.0)}


def _dense(passages, offset: float, match: float = 0.0, says_langs: bool = True):
    """The dense side of an English question whose words the keyword side found `match` well."""
    r = Retriever(_Backend(passages, says_langs), None, RetrievalConfig(dense_cross_lang_offset=offset, rerank="none", lang_min_passages=1,
                                                            cross_lang_expansion="none"))
    return r._dense(np.zeros(4, np.float32), 3, None, {}, "en", match)


@pytest.mark.parametrize("says_langs", [True, False])  # one deeper search, or one search per language
def test_other_language_passage_becomes_a_candidate_and_keeps_its_cosine(says_langs):
    ranked, raw = _dense({**ENGLISH, **JAPANESE}, 0.015, says_langs=says_langs)
    assert ranked.ids == ("en0#0", "ja0#0", "en1#0", "en2#0")  # 0.812 + 0.015 passes 0.825
    # the question's language keeps its candidates and the list its floor (what fusion normalises from)
    assert ranked.scores.min() == pytest.approx(0.815)
    assert raw["ja0#0"] == pytest.approx(0.812)  # abstention reads the cosine, not the shifted score
    before, _ = _dense({**ENGLISH, **JAPANESE}, 0.0)
    assert "ja0#0" not in before.ids  # the question's language filled the top 3


def test_no_offset_when_the_question_words_are_found():
    ranked, raw = _dense({**ENGLISH, **JAPANESE}, 0.015, match=1.0)
    assert ranked.ids == ("en0#0", "en1#0", "en2#0") and raw == {}


def test_weak_word_matches_shrink_the_offset():
    ranked, _ = _dense({**ENGLISH, **JAPANESE}, 0.015, match=0.5)
    assert dict(zip(ranked.ids, ranked.scores.tolist()))["ja0#0"] == pytest.approx(0.812 + 0.0075)


def test_match_strength_is_the_best_keyword_score_over_its_share_of_the_ideal():
    from kotae.index.fusion import Ranked
    from kotae.index.keyword import K1

    r = Retriever(_Backend(ENGLISH), None, RetrievalConfig(rerank="none", cross_lang_expansion="none"))
    ideal = 2.0 * (K1 + 1.0)  # one token of idf 2, matched at saturation
    share = Settings().weak_keyword_ratio * ideal
    best = lambda score: Ranked(("en0#0",), np.array([score], dtype=np.float32))
    assert r._match_strength(["library"], best(share / 2)) == pytest.approx(0.5)
    assert r._match_strength(["library"], best(share * 3)) == 1.0
    assert r._match_strength(["library"], None) == 0.0  # nothing matched


def test_an_other_language_passage_below_the_floor_stays_out():
    ranked, _ = _dense({**ENGLISH, **JAPANESE}, 0.002)  # 0.814 < 0.815
    assert ranked.ids == ("en0#0", "en1#0", "en2#0")


def test_a_one_language_index_is_unchanged():
    ranked, raw = _dense(ENGLISH, 0.015)
    assert ranked.ids == ("en0#0", "en1#0", "en2#0") and raw == {}


def test_an_other_language_passage_below_the_deeper_list_is_still_found():
    # twelve English passages within 0.011 of each other fill the one deeper search (3 x 4)
    close = {f"en{i}#0": ("en", 0.835 - 0.001 * i, 0.0) for i in range(12)}
    ranked, raw = _dense({**close, "ja0#0": ("ja", 0.8235, 0.0)}, 0.015)
    assert ranked.ids[0] == "ja0#0" and raw["ja0#0"] == pytest.approx(0.8235)


@pytest.mark.parametrize(
    "by_doc_lang, by_lang, question, lifted",
    [
        ({"ja": 60}, {"ja": 40, "en": 20}, "en", ["ja"]),  # English question, Japanese reports: lift their text
        ({"ja": 60}, {"ja": 40, "en": 20}, "ja", []),  # not their English front matter for a Japanese question
        ({"ja": 40, "en": 25}, {"ja": 40, "en": 25}, "ja", ["en"]),  # English documents: lifted
        ({"ja": 60}, {"ja": 60}, "en", []),  # no passage in the question's language: nothing to correct
    ],
)
def test_the_lifted_languages_are_those_of_enough_documents(by_doc_lang, by_lang, question, lifted):
    backend = _Backend({})
    backend._stats = IndexStats(60, 60, by_doc_lang, backend._stats.config, None, None, passages_by_lang=by_lang)
    r = Retriever(backend, None, RetrievalConfig(rerank="none", cross_lang_expansion="none"))
    assert r._lifted_languages(question) == lifted
