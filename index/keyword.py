"""BM25 keyword index over passages (bm25s), saved beside the vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


class KeywordIndex:
    def __init__(self, bm25, size: int):
        self._bm25 = bm25
        self.size = size

    @classmethod
    def build(cls, token_lists: Sequence[list[str]]) -> "KeywordIndex":
        import bm25s

        bm25 = bm25s.BM25()
        # An empty passage list still needs an index that answers with no results.
        bm25.index([list(t) or [""] for t in token_lists] or [[""]], show_progress=False)
        return cls(bm25, len(token_lists))

    def save(self, directory: Path) -> None:
        self._bm25.save(str(directory))

    @classmethod
    def load(cls, directory: Path, size: int) -> "KeywordIndex":
        import bm25s

        return cls(bm25s.BM25.load(str(directory), mmap=True, show_progress=False), size)

    def search(self, tokens: list[str], k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) with score > 0; `allowed` is a boolean mask over rows."""
        if not tokens or self.size == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)[: self.size]
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        k = min(k, int(np.count_nonzero(scores)))
        if k == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return scores[top], top.astype(np.int64)
