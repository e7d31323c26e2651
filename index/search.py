"""Question in, ranked passages out: embed, search both sides, fuse, highlight."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kotae.index.fusion import Ranked, reciprocal_rank_fusion, weighted_score_fusion
from kotae.index.highlight import best_sentence
from kotae.index.store import Filters, SearchBackend
from kotae.index.tokenize import tokenize
from kotae.ingest.lang import detect_language

MODES = ("dense", "keyword", "hybrid")


@dataclass(frozen=True)
class RetrievalConfig:
    mode: str = "hybrid"
    fusion: str = "rrf"  # "rrf" or "weighted"
    rrf_k: int = 60
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    # The keyword side cannot match across languages, so its votes for passages in
    # another language than the question's are mostly noise.
    cross_lang_keyword_weight: float = 0.3
    candidates: int = 50
    tokenizer: str = "bigram"

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown retrieval mode {self.mode!r}; choose one of {', '.join(MODES)}")


@dataclass(frozen=True)
class Hit:
    row: int
    doc_id: str
    title: str
    section: str | None
    page: int | None
    char_start: int
    char_end: int
    text: str
    lang: str
    kind: str
    score: float
    scores: dict[str, float]
    highlight: tuple[int, int]

    def to_dict(self, citation: int) -> dict[str, Any]:
        """The passage shape of CONTRACTS.md §2."""
        return {
            "citation": citation,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "page": self.page,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "text": self.text,
            "lang": self.lang,
            "score": round(self.score, 6),
            "scores": {k: round(v, 6) for k, v in self.scores.items()},
            "highlight": list(self.highlight),
        }


@dataclass
class SearchResult:
    query: str
    lang: str
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, key: str) -> np.ndarray | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: str, value: np.ndarray) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)


class Retriever:
    def __init__(self, backend: SearchBackend, embedder, config: RetrievalConfig = RetrievalConfig(), cache_size: int = 1024):
        self.backend = backend
        self.embedder = embedder
        self.config = config
        self._cache = _LRU(cache_size)

    def embed_query(self, query: str) -> np.ndarray:
        cached = self._cache.get(query)
        if cached is None:
            cached = self.embedder.embed_queries([query])[0]
            self._cache.put(query, cached)
        return cached

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> SearchResult:
        cfg = self.config
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        lang = detect_language(query)
        tokens = tokenize(query, cfg.tokenizer)
        n = max(cfg.candidates, k)
        lists: dict[str, Ranked] = {}
        if cfg.mode in ("dense", "hybrid"):
            t = time.perf_counter()
            qvec = self.embed_query(query)
            timings["embed_ms"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            scores, rows = self.backend.dense(qvec, n, filters)
            lists["dense"] = Ranked(rows, scores)
            timings["dense_ms"] = (time.perf_counter() - t) * 1000
        if cfg.mode in ("keyword", "hybrid"):
            t = time.perf_counter()
            scores, rows = self.backend.keyword(tokens, n, filters)
            lists["bm25"] = Ranked(rows, scores)
            timings["keyword_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        fused = self._fuse(lists, lang)
        order = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        timings["fusion_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        components = {name: dict(zip(r.rows.tolist(), r.scores.tolist())) for name, r in lists.items()}
        query_tokens = set(tokens)
        hits = []
        for stored in self.backend.passages(order):
            p = stored.passage
            hits.append(
                Hit(
                    row=stored.row, doc_id=p.doc_id, title=stored.title, section=p.section, page=p.page,
                    char_start=p.char_start, char_end=p.char_end, text=p.text, lang=p.lang, kind=p.kind,
                    score=fused[stored.row],
                    scores={name: float(c[stored.row]) for name, c in components.items() if stored.row in c},
                    highlight=best_sentence(p.text, query_tokens),
                )
            )
        timings["passages_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return SearchResult(query, lang, hits, timings)

    def _fuse(self, lists: dict[str, Ranked], lang: str) -> dict[int, float]:
        cfg = self.config
        if len(lists) == 1:
            (only,) = lists.values()
            return dict(zip(only.rows.tolist(), only.scores.tolist()))
        same = self.backend.passage_langs() == lang
        keyword_weight = np.where(same, cfg.keyword_weight, cfg.keyword_weight * cfg.cross_lang_keyword_weight)
        weights = {"dense": cfg.dense_weight, "bm25": keyword_weight}
        if cfg.fusion == "weighted":
            return weighted_score_fusion(lists, weights)
        return reciprocal_rank_fusion(lists, weights, cfg.rrf_k)
