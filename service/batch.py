"""Searches that arrive while the reader thread is busy are answered together.

Encoding the question is most of a search's cost, and one encoder pass over eight short
questions costs little more than a pass over one. A request arriving at an idle server is
run at once, so a single user waits no longer; under load, everything that queued up behind
the running batch goes into the next one.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass

from kotae.index.search import Retriever, SearchResult
from kotae.index.backends import Filters

MAX_BATCH = 16


@dataclass
class _Request:
    retriever: Retriever
    query: str
    k: int
    filters: Filters | None
    future: asyncio.Future


class QueryBatcher:
    def __init__(self, executor: Executor, max_batch: int = MAX_BATCH):
        self._executor = executor
        self._max_batch = max_batch
        self._pending: list[_Request] = []
        self._draining = False

    async def search(self, retriever: Retriever, query: str, k: int, filters: Filters | None = None) -> SearchResult:
        loop = asyncio.get_running_loop()
        request = _Request(retriever, query, k, filters, loop.create_future())
        self._pending.append(request)
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await request.future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                # A new index may have been swapped in between requests: each batch goes
                # to the retriever its requests were made with.
                for retriever in {id(r.retriever): r.retriever for r in batch}.values():
                    group = [r for r in batch if r.retriever is retriever]
                    work = [(r.query, r.k, r.filters) for r in group]
                    try:
                        results = await loop.run_in_executor(self._executor, retriever.search_batch, work)
                    except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                        for r in group:
                            if not r.future.done():
                                r.future.set_exception(exc)
                        continue
                    for r, result in zip(group, results):
                        if not r.future.done():
                            r.future.set_result(result)
        finally:
            self._draining = False
