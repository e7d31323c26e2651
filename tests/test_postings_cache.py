"""The local BM25's per-term cache (index/postings.py) under concurrent searches: the service
searches one open index from several threads, and the cache evicts while they run."""

from __future__ import annotations

import sys
import threading

import numpy as np

from kotae.index import postings


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

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=searches, args=(seed,)) for seed in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    rows, scores = bm25.search(["t5", "t30"], 5)
    assert np.array_equal(rows, expected[0]) and np.allclose(scores, expected[1])
