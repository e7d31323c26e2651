"""What the HTTP layer calls: one small facade over the service's parts.

* generations.py - the live index generation; leases, swap, close when unused; and following
                   the generations other processes publish in a shared index
* asking.py      - searches (batched, see batch.py) and answers (answer.py)
* catalog.py     - the document list and one document
* writes.py      - uploads, deletes and start-up reconciliation (corpus.py: the file side;
                   jobs.py: large uploads in the background)

Threads: every read of the index (search, documents) runs on one *reader* thread, so the
retriever's SQLite connection and query cache are never used concurrently, and the event loop
never blocks on CPU work. The index write (ingest) runs on a *writer* thread, and reading and
checking an upload on a third, embedding a large upload (a job) on a fourth, so searches keep
being answered during an upload and small uploads never wait for a large one.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

from kotae.index.search import SearchResult
from kotae.index.backends import Filters
from kotae.service.answer import Answer
from kotae.service.asking import Answering, retrieval_query
from kotae.service.catalog import Catalog
from kotae.service.failures import NotReady, ServiceError
from kotae.service.generations import Generations, follow
from kotae.service.llm import LLMClient
from kotae.service.texts import Turn
from kotae.service.writes import DocumentWriter, on
from kotae.settings import Settings

__all__ = ["KotaeService", "NotReady", "ServiceError", "Turn", "retrieval_query"]


class KotaeService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.started = time.time()
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="kotae-read")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="kotae-ingest")
        self._prep = ThreadPoolExecutor(1, thread_name_prefix="kotae-prepare")
        self._jobs = ThreadPoolExecutor(1, thread_name_prefix="kotae-upload-job")
        self.llm: LLMClient | None = None
        if settings.llm_base_url:
            self.llm = LLMClient(settings.llm_base_url, settings.llm_model or "default", settings.llm_api_key, settings.llm_timeout)
        self.generations = Generations()
        self.answering = Answering(self.generations, self._reader, self.llm)
        self.writes = DocumentWriter(settings, self.generations, self._writer, self._prep, self._jobs)
        self.catalog = Catalog(self.generations, self._reader, self.writes)
        self._loading: asyncio.Task | None = None
        self._following: asyncio.Task | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the index and load the model in the background: /healthz answers at once,
        /readyz once this has finished; then reconcile the corpus with the index."""
        self.writes.start()
        self._loading = asyncio.create_task(self._load())

    async def _load(self) -> None:
        from kotae.index.engine import open_warm_retriever

        try:
            # the first question would pay for lazy initialisation (tokenizer, kernels, dictionaries)
            retriever = await on(self._writer, open_warm_retriever, self.settings)
            self.generations.swap(retriever)
        except Exception as exc:  # noqa: BLE001 - reported by /readyz and every read
            self.generations.error = f"{type(exc).__name__}: {exc}"
            return
        await self.writes.reconcile()
        if self.settings.refresh_seconds > 0:
            self._following = asyncio.create_task(
                follow(self.generations, self.settings, self._writer, lambda: self.writes.ingesting))

    async def wait_ready(self) -> None:
        if self._loading is not None:
            await asyncio.shield(self._loading)

    async def stop(self) -> None:
        for task in (self._loading, self._following):
            if task is not None and not task.done():
                task.cancel()
        self.writes.jobs.cancel_all()
        if self.llm is not None:
            await self.llm.aclose()
        for pool in (self._reader, self._writer, self._prep, self._jobs):
            pool.shutdown(wait=False, cancel_futures=True)
        self.generations.close_all()

    def status(self) -> dict[str, Any]:
        retriever = self.generations.retriever
        if retriever is None:
            return {"ready": False, "reason": self.generations.error or "loading the index and the embedding model"}
        stats = retriever.stats
        info = getattr(retriever.embedder, "info", None)
        return {
            "ready": True,
            "documents": stats.documents,
            "passages": stats.passages,
            "embedder": {"name": stats.config.embedder, "dim": stats.config.dim,
                         "max_tokens": getattr(info, "max_tokens", stats.config.max_tokens)},
            "index_built_at": stats.built_at,
            "generation": stats.generation,
            "retrieval_mode": retriever.config.mode,
            "generation_model": self.settings.llm_model or None if self.llm else None,
            "ingesting": self.writes.ingesting,
            "drift": len(self.writes.drift),
            "drift_error": self.writes.drift_error,
            "reindexing": self.writes.reindexing,
            "upload_jobs": self.writes.jobs.active(),
        }

    def check_ready(self) -> None:
        self.generations.check()

    # -- reads ----------------------------------------------------------------------------------

    async def search(self, query: str, k: int, filters: Filters | None = None) -> SearchResult:
        return await self.answering.search(query, k, filters)

    async def ask(self, question: str, k: int, history: Sequence[Turn] = (), query: str | None = None) -> Answer:
        return await self.answering.ask(question, k, history, query)

    def ask_stream(self, question: str, k: int, history: Sequence[Turn] = (), query: str | None = None) -> AsyncIterator[str | Answer]:
        return self.answering.ask_stream(question, k, history, query)

    async def documents(self) -> dict[str, Any]:
        return await self.catalog.documents()

    async def document(self, doc_id: str) -> dict[str, Any]:
        return await self.catalog.document(doc_id)

    # -- writes ---------------------------------------------------------------------------------

    async def upload(self, doc_id: str, data: bytes) -> tuple[int, dict[str, Any]]:
        return await self.writes.upload(doc_id, data)

    async def delete(self, doc_id: str) -> dict[str, Any]:
        return await self.writes.delete(doc_id)

    def job(self, job_id: str) -> dict[str, Any]:
        return self.writes.jobs.get(job_id).to_dict()
