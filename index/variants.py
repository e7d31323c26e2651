"""Evaluation helpers: the same index seen through another keyword tokenizer.

Comparing tokenizers must not re-embed the corpus, so the keyword index of a published
generation is rebuilt in memory from its stored passages (the same `embed_text` the build
tokenises) and everything else is delegated to the real backend.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np

from kotae.index.keyword import KeywordIndex
from kotae.index.store import Filters
from kotae.index.tokenize import tokenize


class RetokenizedBackend:
    def __init__(self, backend, tokenizer: str):
        self._inner = backend
        n = len(backend.passage_langs())
        stored = backend.passages(list(range(n)))
        self.keywords = KeywordIndex.build([tokenize(s.passage.embed_text, tokenizer) for s in stored])
        self.manifest: dict[str, Any] = copy.deepcopy(backend.manifest)
        self.manifest.setdefault("keyword", {})["tokenizer"] = tokenizer
        self._mask = getattr(backend, "_mask", lambda f: None)

    def keyword(self, tokens: list[str], k: int, filters: Filters | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.keywords.search(tokens, k, self._mask(filters))

    def keyword_idf(self, tokens: list[str]) -> np.ndarray:
        return self.keywords.idf(tokens)

    def dense(self, query, k, filters=None):
        return self._inner.dense(query, k, filters)

    def passages(self, rows: Sequence[int]):
        return self._inner.passages(rows)

    def passage_langs(self) -> np.ndarray:
        return self._inner.passage_langs()

    def passage_doc_langs(self) -> np.ndarray:
        inner = getattr(self._inner, "passage_doc_langs", None)
        return inner() if inner is not None else self._inner.passage_langs()

    def doc_ids_by_lang(self):
        return self._inner.doc_ids_by_lang()

    def documents(self):
        return self._inner.documents()

    def document(self, doc_id: str):
        return self._inner.document(doc_id)
