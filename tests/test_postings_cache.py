"""The local BM25's per-term caches (index/postings.py): term postings under concurrent searches
(the service searches one open index from several threads, and the cache evicts while they
run), and idfs, asked for again and again within one search."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from interleaved import run_interleaved  # noqa: E402

from kotae.index import postings  # noqa: E402
from kotae.index.keyword import lucene_idf  # noqa: E402


def test_concurrent_searches_evicting_the_term_cache_neither_fail_nor_change_results(monkeypatch):
    # a one-posting budget makes every search evict; a tiny switch interval interleaves the
    # threads inside the eviction (two of them popping the same oldest term failed a search)
    monkeypatch.setattr(postings, "TERM_CACHE_POSTINGS", 1)
    docs = [[f"t{j}" for j in range(i % 50, i % 50 + 20)] for i in range(400)]
    bm25 = postings.SegmentedBM25([postings.Postings.build(docs)], np.ones(len(docs), bool))
    expected = bm25.search(["t5", "t30"], 5)
    errors: list[str] = []

    def searches(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(300):
                bm25.search([f"t{j}" for j in rng.integers(0, 70, 3)], 5)
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(repr(exc))

    run_interleaved(searches, 8)
    assert not errors, errors[:3]
    rows, scores = bm25.search(["t5", "t30"], 5)
    assert np.array_equal(rows, expected[0]) and np.allclose(scores, expected[1])


def test_idf_equals_lucene_idf_and_reads_each_term_s_postings_at_most_once(monkeypatch):
    # a search asks for the same question and translation terms several times, most of them not
    # indexed: a known term's idf is computed once, an unknown one is settled by the vocabulary
    docs = [["wind", "turbine"], ["wind", "blade"], ["solar"], []]
    bm25 = postings.SegmentedBM25([postings.Postings.build(docs[:2]), postings.Postings.build(docs[2:])],
                                  np.array([True, True, True, True]))
    terms = ["wind", "blade", "solar", "hydrogen", "", "wind"]
    expected = lucene_idf(np.array([2, 1, 1, 0, 0, 2]), 4)
    first = bm25.idf(terms)
    assert first.dtype == np.float32 and np.array_equal(first, expected)

    def no_postings(term):
        raise AssertionError(f"postings of {term!r} read again")

    monkeypatch.setattr(bm25, "_postings", no_postings)
    assert np.array_equal(bm25.idf(terms), expected)
    assert bm25.idf([]).shape == (0,)
