"""Evaluation helper: the same index seen through another keyword tokenizer.

Comparing tokenizers must not re-embed the corpus, so the keyword side of a stored index is
rebuilt in memory from its passages (the same `embed_text` the build tokenises); everything
else is delegated to the real backend.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from kotae.index.backends import Filters, IndexStats, Matches, SearchBackend, StoredPassage
from kotae.index.keyword import KeywordIndex
from kotae.index.tokenize import tokenize


class RetokenizedBackend:
    def __init__(self, backend: SearchBackend, tokenizer: str):
        self._inner = backend
        self._stored: list[StoredPassage] = [sp for d in backend.documents() for sp in backend.document_passages(d["doc_id"])]
        self._keywords = KeywordIndex.build([tokenize(s.passage.embed_text, tokenizer) for s in self._stored])
        stats = backend.stats()
        self._stats = replace(stats, config=replace(stats.config, tokenizer=tokenizer))

    def stats(self) -> IndexStats:
        return self._stats

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.empty:
            return None
        return np.array([(filters.lang is None or s.passage.lang == filters.lang)
                         and (filters.doc_lang is None or s.doc_lang == filters.doc_lang)
                         and (filters.doc_ids is None or s.passage.doc_id in filters.doc_ids) for s in self._stored], dtype=bool)

    def keyword(self, tokens: list[str], k: int, filters: Filters | None = None) -> Matches:
        scores, rows = self._keywords.search(tokens, k, self._mask(filters))
        chosen = [self._stored[r] for r in rows.tolist()]
        return Matches(tuple(s.id for s in chosen), scores, tuple(s.doc_lang for s in chosen))

    def keyword_idf(self, tokens: list[str]) -> np.ndarray:
        return self._keywords.idf(tokens)

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> Matches:
        return self._inner.dense(query, k, filters)

    def passages(self, ids: Sequence[str]) -> list[StoredPassage]:
        return self._inner.passages(ids)

    def document_passages(self, doc_id: str) -> list[StoredPassage]:
        return self._inner.document_passages(doc_id)

    def documents(self) -> list[dict[str, Any]]:
        return self._inner.documents()

    def document(self, doc_id: str):
        return self._inner.document(doc_id)

    def close(self) -> None:
        """The inner backend belongs to the caller."""
