"""BM25 keyword index over passages (bm25s), saved beside the vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

# BM25 (Lucene variant) parameters, shared with the PostgreSQL backend's SQL so that both rank alike.
K1 = 1.5
B = 0.75


def lucene_idf(df: np.ndarray, n: int) -> np.ndarray:
    """idf of terms with document frequencies ``df`` among ``n`` passages; 0 where df is 0."""
    df = np.asarray(df, dtype=np.float64)
    return np.where(df > 0, np.log1p((n - df + 0.5) / (df + 0.5)), 0.0).astype(np.float32)


class KeywordIndex:
    def __init__(self, bm25, size: int):
        self._bm25 = bm25
        self.size = size

    @classmethod
    def build(cls, token_lists: Sequence[list[str]]) -> "KeywordIndex":
        import bm25s

        bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
        # An empty passage list still needs an index that answers with no results.
        bm25.index([list(t) or [""] for t in token_lists] or [[""]], show_progress=False)
        return cls(bm25, len(token_lists))

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory))

    @classmethod
    def load(cls, directory: Path, size: int) -> "KeywordIndex":
        import bm25s

        return cls(bm25s.BM25.load(str(directory), mmap=True, show_progress=False), size)

    def doc_freq(self, tokens: list[str]) -> np.ndarray:
        """Number of passages containing each token (0 for tokens the index has never seen)."""
        vocab = self._bm25.vocab_dict
        indptr = self._bm25.scores["indptr"]
        out = np.zeros(len(tokens), dtype=np.float32)
        for i, t in enumerate(tokens):
            j = vocab.get(t)
            if j is not None and t:
                out[i] = float(indptr[j + 1] - indptr[j])
        return out

    def idf(self, tokens: list[str]) -> np.ndarray:
        """BM25 (Lucene) idf of each token; 0 for unknown tokens, which cannot match anything."""
        return lucene_idf(self.doc_freq(tokens), max(self.size, 1))

    def search(self, tokens: list[str], k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) with score > 0; `allowed` is a boolean mask over rows."""
        if not tokens or self.size == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        return top_positive(np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)[: self.size], k, allowed)


def top_positive(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k best (scores, rows) among rows scoring above 0 (and `allowed`, a boolean mask),
    best first, ties in row order: a row that matched no query term is never a keyword hit."""
    if allowed is not None:
        scores = np.where(allowed, scores, 0.0)
    k = min(k, int(np.count_nonzero(scores)))
    if k <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return scores[top], top.astype(np.int64)
