"""Concurrent searches share one encoder pass and get exactly the answers they would alone."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from kotae.index.search import Retriever
from kotae.service.batch import QueryBatcher

QUESTIONS = [
    "Series C のリード投資家は？",
    "Who founded Mistral AI?",
    "Koyeb の買収はいつ？",
    "How much does Vibe Pro cost?",
    "データ主権とは何か",
    "What is Mistral Forge?",
]


class CountingEmbedder:
    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_queries(self, texts):
        self.calls.append(len(texts))
        return self.inner.embed_queries(texts)


def _fresh(corpus_retriever) -> tuple[Retriever, CountingEmbedder]:
    counting = CountingEmbedder(corpus_retriever.embedder)
    return Retriever(corpus_retriever.backend, counting, corpus_retriever.config, cache_size=0), counting


def _ranking(result):
    return [(h.doc_id, h.char_start) for h in result.hits]


def test_search_batch_matches_single_searches_with_one_encoder_pass(corpus_retriever):
    retriever, counting = _fresh(corpus_retriever)
    alone = [_ranking(retriever.search(q, 5)) for q in QUESTIONS]
    counting.calls.clear()
    batched = retriever.search_batch([(q, 5, None) for q in QUESTIONS])
    assert counting.calls == [len(QUESTIONS)]
    assert [_ranking(r) for r in batched] == alone


def test_requests_queued_behind_a_running_search_are_batched(corpus_retriever):
    retriever, counting = _fresh(corpus_retriever)

    async def run():
        batcher = QueryBatcher(ThreadPoolExecutor(1))
        return await asyncio.gather(*(batcher.search(retriever, q, 5) for q in QUESTIONS))

    results = asyncio.run(run())
    # requests that arrive together share encoder passes, and none is encoded twice
    assert len(counting.calls) < len(QUESTIONS) and sum(counting.calls) == len(QUESTIONS)
    assert [r.query for r in results] == QUESTIONS
    assert [_ranking(r) for r in results] == [_ranking(retriever.search(q, 5)) for q in QUESTIONS]
