"""Searches that arrive while the reader thread is busy are answered together.

Encoding the question is most of a search's cost, and one encoder pass over eight short
questions costs little more than a pass over one. A request arriving at an idle server is
run at once, so a single user waits no longer; under load, everything that queued up behind
the running batch goes into the next one.

A batch is shared work, never a shared fate: when a batch fails, each of its requests is run
again alone, so only a request that fails by itself gets an error. A request whose caller has
gone (a closed chat stream cancels its future) is dropped before it costs anything.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from kotae.index.search import Retriever, SearchResult
from kotae.index.store import Filters

MAX_BATCH = 16


@dataclass
class _Request:
    retriever: Retriever
    query: str
    k: int
    filters: Filters | None
    future: asyncio.Future


Run = Callable[..., Awaitable[Any]]


async def _plain(executor: Executor, retriever: Retriever, fn: Callable[..., Any], *args) -> Any:
    return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)


class QueryBatcher:
    """`run(executor, retriever, fn, *args)` runs the work on the reader thread: by default
    plainly; the service passes Generations.run, which keeps the generation open until the
    thread is done with it."""

    def __init__(self, executor: Executor, max_batch: int = MAX_BATCH, run: Run = _plain):
        self._executor = executor
        self._max_batch = max_batch
        self._run = run
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
        try:
            while self._pending:
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                batch = [r for r in batch if not r.future.done()]  # abandoned by their callers
                # A new index may have been swapped in between requests: each batch goes
                # to the retriever its requests were made with (and hold a lease on).
                for retriever in {id(r.retriever): r.retriever for r in batch}.values():
                    group = [r for r in batch if r.retriever is retriever]
                    try:
                        group, results = await self._run(self._executor, retriever, _run_live, retriever, group)
                    except Exception as exc:  # noqa: BLE001 - which request failed is found out alone
                        if len(group) == 1:
                            _fail(group[0], exc)
                        else:
                            await self._one_by_one(retriever, group)
                        continue
                    for r, result in zip(group, results):
                        if not r.future.done():
                            r.future.set_result(result)
        finally:
            self._draining = False

    async def _one_by_one(self, retriever: Retriever, group: list[_Request]) -> None:
        for r in group:
            if r.future.done():
                continue
            try:
                result = await self._run(self._executor, retriever, _search_if_wanted, retriever, r)
            except Exception as exc:  # noqa: BLE001 - this request's own failure, for it alone
                _fail(r, exc)
                continue
            if not r.future.done():
                r.future.set_result(result)


def _run_live(retriever: Retriever, group: list[_Request]) -> tuple[list[_Request], list[SearchResult]]:
    """On the reader thread, when the batch's turn has come: the requests still wanted then
    (a caller may have gone while the batch waited for the thread), and their results."""
    live = [r for r in group if not r.future.done()]
    return live, (retriever.search_batch([(r.query, r.k, r.filters) for r in live]) if live else [])


def _search_if_wanted(retriever: Retriever, r: _Request) -> SearchResult | None:
    return None if r.future.done() else retriever.search(r.query, r.k, r.filters)


def _fail(request: _Request, exc: Exception) -> None:
    if not request.future.done():
        request.future.set_exception(exc)
