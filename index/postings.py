"""Keyword postings of one local index segment, and BM25 over several segments at once.

A segment stores, per term, the passages (rows) that contain it and how often, plus each
passage's token count. Scores are not precomputed (unlike bm25s): idf and the average length
come from all live passages of all segments at query time, so adding a small segment or
deleting passages never rewrites the others, and the ranking equals one BM25 index built over
the live passages (Lucene variant, index/keyword.py's K1 and B).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from kotae.index.keyword import B, K1, lucene_idf, top_positive

ARRAYS = ("terms", "indptr", "rows", "tfs", "lengths")
TERM_CACHE_POSTINGS = 2_000_000  # ~32 MB of cached term postings per open index (SegmentedBM25._term)
_NO_IDF = lucene_idf(np.array([0]), 1)[0]  # a term in no live passage


@dataclass
class Postings:
    terms: np.ndarray  # sorted unicode array, one per term
    indptr: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32 row of each posting, grouped by term
    tfs: np.ndarray  # int32 term frequency of each posting
    lengths: np.ndarray  # int32 token count of each row (an empty passage counts 1, as in bm25s)

    def __post_init__(self):
        self._vocab = {t: i for i, t in enumerate(self.terms.tolist())}

    @property
    def size(self) -> int:
        return len(self.lengths)

    @classmethod
    def build(cls, token_lists: Sequence[list[str]]) -> "Postings":
        counts = [Counter(t for t in tokens if t) for tokens in token_lists]
        vocab = sorted({t for c in counts for t in c})
        index = {t: i for i, t in enumerate(vocab)}
        term_ids = np.fromiter((index[t] for c in counts for t in c), dtype=np.int64)
        rows = np.repeat(np.arange(len(counts), dtype=np.int32), [len(c) for c in counts])
        tfs = np.fromiter((n for c in counts for n in c.values()), dtype=np.int32)
        lengths = np.array([max(len(t), 1) for t in token_lists], dtype=np.int32)
        return cls._from_triples(np.array(vocab, dtype=str), term_ids, rows, tfs, lengths)

    @classmethod
    def _from_triples(cls, terms: np.ndarray, term_ids: np.ndarray, rows: np.ndarray, tfs: np.ndarray, lengths: np.ndarray) -> "Postings":
        order = np.lexsort((rows, term_ids))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_ids, minlength=len(terms)), out=indptr[1:])
        return cls(terms, indptr, rows[order].astype(np.int32), tfs[order].astype(np.int32), lengths.astype(np.int32))

    @classmethod
    def merge(cls, parts: Sequence[tuple["Postings", np.ndarray]]) -> "Postings":
        """One segment from the kept rows (boolean mask) of several, rows renumbered in order."""
        vocab = np.unique(np.concatenate([p.terms for p, _ in parts])) if parts else np.array([], dtype=str)
        all_ids, all_rows, all_tfs, all_lengths = [], [], [], []
        offset = 0
        for p, keep in parts:
            remap = np.cumsum(keep) - 1 + offset
            local_terms = np.repeat(np.arange(len(p.terms)), np.diff(p.indptr))
            live = keep[p.rows]
            all_ids.append(np.searchsorted(vocab, p.terms)[local_terms[live]])
            all_rows.append(remap[p.rows[live]])
            all_tfs.append(p.tfs[live])
            all_lengths.append(p.lengths[keep])
            offset += int(keep.sum())
        cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)  # noqa: E731
        merged = cls._from_triples(vocab, cat(all_ids, np.int64), cat(all_rows, np.int32), cat(all_tfs, np.int32),
                                   cat(all_lengths, np.int32))
        # terms whose every posting was deleted are dropped
        used = np.diff(merged.indptr) > 0
        if used.all():
            return merged
        ids = np.repeat(np.cumsum(used) - 1, np.diff(merged.indptr))
        return cls._from_triples(merged.terms[used], ids, merged.rows, merged.tfs, merged.lengths)

    def save(self, directory: Path) -> None:
        for name in ARRAYS:
            np.save(directory / f"postings-{name}.npy", getattr(self, name))

    @classmethod
    def load(cls, directory: Path) -> "Postings":
        """Memory-mapped: opening an index reads only the vocabulary; postings are paged in as
        queries touch them, and shared between processes."""
        return cls(*(np.load(directory / f"postings-{name}.npy", mmap_mode="r") for name in ARRAYS))

    def __contains__(self, term: str) -> bool:
        return term in self._vocab

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        i = self._vocab.get(term)
        if i is None:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        return self.rows[self.indptr[i] : self.indptr[i + 1]], self.tfs[self.indptr[i] : self.indptr[i + 1]]


class SegmentedBM25:
    """BM25 over segments laid end to end (global row = segment offset + row), skipping deleted rows."""

    def __init__(self, segments: Sequence[Postings], live: np.ndarray):
        self._segments = list(segments)
        self._offsets = np.cumsum([0] + [s.size for s in self._segments])
        self._live = live  # boolean over global rows
        lengths = np.concatenate([s.lengths for s in self._segments]) if self._segments else np.zeros(0, np.int32)
        self._lengths = lengths.astype(np.float32)
        self.n = int(live.sum())
        self._avgdl = float(lengths[live].sum()) / max(self.n, 1)
        # Idfs never change in one generation, and one search asks for the same question and
        # translation terms several times (query weights, answer units, abstention, the other
        # language's query): each term's idf is computed once, as lucene_idf computes it over an
        # array. Only indexed terms are kept (unknown ones are a dictionary miss anyway), so the
        # cache is bounded by the vocabulary.
        self._idf: dict[str, np.float32] = {}
        # Per term, its live rows with their term frequency and BM25 length norm: fixed in one
        # generation too, and the same terms (a question's, their translations) come back query
        # after query. Bounded by postings held, not terms: a common term has many.
        self._terms: dict[str, tuple[np.ndarray, np.float32, np.ndarray, np.ndarray]] = {}
        self._held = 0
        # Searches run on several threads against one open index: two evicting at once could pop
        # the same oldest term (KeyError, a failed search), so inserts and evictions hold a lock.
        self._terms_lock = threading.Lock()

    def _postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Live global rows containing `term`, with their term frequencies."""
        rows, tfs = [], []
        for seg, offset in zip(self._segments, self._offsets):
            r, f = seg.postings(term)
            if len(r):
                g = r.astype(np.int64) + offset
                keep = self._live[g]
                rows.append(g[keep])
                tfs.append(f[keep])
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        return np.concatenate(rows), np.concatenate(tfs)

    def _term_idf(self, term: str) -> np.float32:
        idf = self._idf.get(term)
        if idf is None:
            # most terms asked about are not indexed (a question's translations, its rarer words):
            # a vocabulary look-up settles them, without postings or arithmetic
            df = len(self._postings(term)[0]) if any(term in s for s in self._segments) else 0
            if not df:
                return _NO_IDF
            idf = self._idf[term] = lucene_idf(np.array([df]), max(self.n, 1))[0]
        return idf

    def idf(self, tokens: list[str]) -> np.ndarray:
        return np.array([self._term_idf(t) for t in tokens], dtype=np.float32)

    def _term(self, term: str) -> tuple[np.ndarray, np.float32, np.ndarray, np.ndarray] | None:
        """(rows, idf, tf, tf + length norm) of a term in the live passages; None if it is in none."""
        got = self._terms.get(term)
        if got is None:
            rows, tfs = self._postings(term)
            if not len(rows):
                return None
            tf = tfs.astype(np.float32)
            got = (rows, lucene_idf(np.array([len(rows)]), self.n)[0], tf,
                   tf + K1 * (1 - B + B * self._lengths[rows] / self._avgdl))
            with self._terms_lock:
                if term not in self._terms:  # another thread may have cached it meanwhile
                    self._terms[term] = got
                    self._held += len(rows)
                while self._held > TERM_CACHE_POSTINGS and len(self._terms) > 1:
                    self._held -= len(self._terms.pop(next(iter(self._terms)))[0])
        return got

    def search(self, tokens: list[str], k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, global rows) with score > 0; `allowed` is a boolean mask over global rows."""
        if not tokens or self.n == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = np.zeros(len(self._live), dtype=np.float32)
        for term, count in Counter(t for t in tokens if t).items():  # a repeated query token counts again, as in bm25s
            found = self._term(term)
            if found is None:
                continue
            rows, idf, tf, norm = found
            scores[rows] += count * idf * tf / norm
        return top_positive(scores, k, allowed)
