"""The live index generation and how long a retired one lives.

Every read leases the live retriever for as long as it uses it (a search waiting in the batch
queue included). An ingest that publishes a new generation swaps it in; the retired one is
closed only when its last lease ends, so no search ever runs on a closed index, however long
it waited in the queue.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from kotae.index.search import Retriever
from kotae.service.failures import NotReady


class _Generation:
    __slots__ = ("retriever", "leases", "retired")

    def __init__(self, retriever: Retriever):
        self.retriever, self.leases, self.retired = retriever, 0, False


def close_retriever(retriever: Retriever) -> None:
    retriever.backend.close()


class Generations:
    def __init__(self, close: Callable[[Retriever], None] = close_retriever):
        self._lock = threading.Lock()  # leases end on the event loop and on worker threads
        self._live: _Generation | None = None
        self._close = close
        self.error: str | None = None  # why the first generation could not be opened
        self.closed = 0  # retired generations closed so far (tests and /readyz)

    @property
    def retriever(self) -> Retriever | None:
        live = self._live
        return live.retriever if live is not None else None

    def check(self) -> Retriever:
        """The live retriever, or 503 while there is none."""
        live = self._live
        if live is None:
            if self.error:
                raise NotReady(f"the index could not be opened: {self.error}")
            raise NotReady("the index and the embedding model are still loading; retry in a few seconds")
        return live.retriever

    @contextmanager
    def lease(self) -> Iterator[Retriever]:
        with self._lock:
            self.check()
            gen = self._live
            assert gen is not None
            gen.leases += 1
        try:
            yield gen.retriever
        finally:
            with self._lock:
                gen.leases -= 1
                close = gen.retired and gen.leases == 0
            if close:
                self._retire(gen)

    def swap(self, retriever: Retriever) -> None:
        """Make `retriever` the live generation; the previous one closes when unused."""
        with self._lock:
            old = self._live
            if old is not None and old.retriever is retriever:
                return
            self._live, self.error = _Generation(retriever), None
            if old is None:
                return
            old.retired = True
            close = old.leases == 0
        if close:
            self._retire(old)

    def _retire(self, gen: _Generation) -> None:
        self._close(gen.retriever)
        self.closed += 1

    def close_all(self) -> None:
        with self._lock:
            live, self._live = self._live, None
            if live is None:
                return
            live.retired = True
            close = live.leases == 0
        if close:
            self._retire(live)
