"""The live index generation and how long a retired one lives.

Every read leases the live retriever for as long as it uses it (a search waiting in the batch
queue included), and the work handed to a thread holds its own lease until the thread has
finished with it, even if the request that asked for it was cancelled meanwhile. An ingest that
publishes a new generation swaps it in; the retired one is closed only when its last lease
ends, so no search ever runs on a closed index, however long it waited in the queue.

Several processes may share one index (``kotae serve`` replicas on one PostgreSQL database, or
on one index folder): :func:`follow` swaps in the generations the others publish, within
``refresh_seconds``. (Searches on PostgreSQL see other processes' rows at once; what the view
keeps from its opening - counts, the file list, BM25's passage count and average length - is
what goes stale until then.)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from kotae.index.search import Retriever
from kotae.service.failures import NotReady
from kotae.settings import Settings

T = TypeVar("T")
log = logging.getLogger("kotae.service")


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
        self._open: dict[int, _Generation] = {}  # by id(retriever): every generation not closed yet
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

    def hold(self, retriever: Retriever | None = None) -> tuple[Retriever, Callable[..., None]]:
        """Take a lease on `retriever`'s generation (the live one if None; 503 if none): the
        retriever and the lease's release, which may be called from any thread, more than once."""
        with self._lock:
            if retriever is None:
                self.check()
                gen = self._live
            else:
                gen = self._open.get(id(retriever))
                if gen is None:
                    raise RuntimeError("this index generation is already closed")
            assert gen is not None
            gen.leases += 1
        released = False

        def release(*_ignored) -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                gen.leases -= 1
                close = gen.retired and gen.leases == 0
            if close:
                self._retire(gen)

        return gen.retriever, release

    @contextmanager
    def lease(self) -> Iterator[Retriever]:
        retriever, release = self.hold()
        try:
            yield retriever
        finally:
            release()

    async def run(self, pool: Executor, retriever: Retriever, fn: Callable[..., T], *args) -> T:
        """`fn(*args)` on `pool`, holding `retriever`'s generation open until the thread is
        done with it: a cancelled caller stops waiting, but the lease ends with the work."""
        _, release = self.hold(retriever)
        try:
            work = pool.submit(fn, *args)
        except BaseException:
            release()
            raise
        work.add_done_callback(release)
        return await asyncio.wrap_future(work)

    def swap(self, retriever: Retriever) -> None:
        """Make `retriever` the live generation; the previous one closes when unused."""
        live = self._live
        if live is None or live.retriever is not retriever:
            self._replace(_Generation(retriever))

    def close_all(self) -> None:
        """At shutdown: nothing is live any more; what is leased closes at its last release."""
        self._replace(None)

    def _replace(self, new: _Generation | None) -> None:
        with self._lock:
            old, self._live = self._live, new
            if new is not None:
                self._open[id(new.retriever)] = new
                self.error = None
            if old is None:
                return
            old.retired = True
            close = old.leases == 0
        if close:
            self._retire(old)

    def _retire(self, gen: _Generation) -> None:
        with self._lock:
            self._open.pop(id(gen.retriever), None)
        self._close(gen.retriever)
        self.closed += 1


async def follow(generations: Generations, settings: Settings, writer: Executor, busy: Callable[[], bool]) -> None:
    """Every ``settings.refresh_seconds``: if the index's published generation is not the live
    one (another process wrote it), open it and make it live. Runs on the `writer` pool, so it
    never overlaps this process's own ingests, which swap in their result themselves."""
    from kotae.index.backends import make_backend
    from kotae.index.engine import open_warm_retriever

    backend = make_backend(settings)
    loop = asyncio.get_running_loop()

    def newer(live: Retriever) -> Retriever | None:
        published = backend.generation()
        if published is None or published == live.stats.generation:
            return None
        return open_warm_retriever(settings)

    try:
        while True:
            await asyncio.sleep(settings.refresh_seconds)
            live = generations.retriever
            if live is None or busy():
                continue
            try:
                fresh = await loop.run_in_executor(writer, newer, live)
            except Exception as exc:  # noqa: BLE001 - the live generation keeps serving; try again later
                log.warning("kotae: could not check the index for other processes' writes: %s", exc)
                continue
            if fresh is None:
                continue
            if generations.retriever is live:
                generations.swap(fresh)
                log.info("kotae: switched to generation %s, published by another process", fresh.stats.generation)
            else:  # this process's own ingest swapped in a newer one meanwhile
                close_retriever(fresh)
    finally:
        backend.close()
