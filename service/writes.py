"""Document writes: upload and delete, one at a time, each changing the corpus file and the
index together or not at all; and, at start-up, reconciling the two after a crash.

The file is changed first (ingest reads the corpus folder), then the index is updated on the
writer thread; if that fails, the file change is undone. Both steps run shielded from the
request's cancellation, so a client that hangs up cannot leave them half done. A crash between
them is repaired at the next start-up: `reconcile` puts back set-aside files, reports every
document whose file and index disagree (/readyz, GET /v1/documents) and re-indexes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from concurrent.futures import Executor
from pathlib import Path, PurePosixPath
from typing import Any, Callable, TypeVar

from kotae.index.build import Prepared, prepare_document
from kotae.index.engine import build_config, open_warm_retriever, run_ingest
from kotae.index.corpus_root import OtherCorpusError
from kotae.index.backends import IndexLockedError
from kotae.ingest.discover import SUPPORTED_SUFFIXES, CorpusUnavailable as CorpusMissing, SourceFile, discover
from kotae.ingest.read import IngestError, read_document
from kotae.service import corpus
from kotae.service.failures import CorpusUnavailable, ServiceError
from kotae.service.generations import Generations
from kotae.service.jobs import Job, Jobs
from kotae.settings import Settings

log = logging.getLogger("kotae.service")
T = TypeVar("T")
MAX_WAITING_WRITES = 32  # uploads and deletes queued for the index write; more get 429
# Another process writing the same index (replicas sharing a database): wait this long for it
# before answering 409.
LOCKED_WAIT_SECONDS = 30.0


async def on(pool: Executor, fn: Callable[..., T], *args, **kwargs) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool, lambda: fn(*args, **kwargs))


class DocumentWriter:
    def __init__(self, settings: Settings, generations: Generations, writer: Executor, prep: Executor, jobs: Executor):
        self.settings = settings
        self.generations = generations
        self._writer = writer  # the index write: one ingest at a time
        self._prep = prep  # reading an upload before anything changes
        self._job_pool = jobs  # embedding large uploads, so they never hold up the two above
        self._lock: asyncio.Lock | None = None
        self.jobs = Jobs(settings.upload_jobs)
        self.ingesting = False
        self.reindexing = False
        self.drift: list[dict[str, str]] = []  # documents whose corpus file and index disagree
        self.drift_error: str | None = None  # why the corpus could not be reconciled
        self._waiting = 0

    def start(self) -> None:
        self._lock = asyncio.Lock()

    async def _serialised(self, work):
        """Run `work()` alone (one index write at a time), shielded from the caller's
        cancellation so a client that hangs up cannot leave it half done; 429 when too many
        writes are already waiting, rather than holding their connections without bound."""
        if self._waiting >= MAX_WAITING_WRITES:
            raise ServiceError(429, f"{self._waiting} writes are already waiting for the index; retry shortly",
                               None, "too_many_writes", {"Retry-After": "5"})
        self._waiting += 1

        async def locked():
            try:
                assert self._lock is not None
                async with self._lock:
                    return await work()
            finally:
                self._waiting -= 1

        return await asyncio.shield(asyncio.ensure_future(locked()))

    # -- upload ---------------------------------------------------------------------------------

    async def upload(self, doc_id: str, data: bytes) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body): 201 new, 200 replaced, 202 a job for a large file."""
        kind = SUPPORTED_SUFFIXES.get(PurePosixPath(doc_id).suffix.lower())
        if kind is None:
            raise ServiceError(415, f"file: {doc_id[:200]!r} is not a supported file type; upload .txt, .md, .markdown or .pdf",
                               "file", "unsupported_media_type")
        root = corpus.corpus_root(self.settings.corpus_dir)
        doc_id, path = corpus.resolve(root, doc_id)
        retriever = self.generations.check()
        cfg = build_config(self.settings)
        source = SourceFile(doc_id, path, kind)
        # Read it first, so that a file that cannot be indexed changes nothing.
        try:
            read = await on(self._prep, read_document, source, data, cfg.chunk, retriever.embedder.count_tokens, cfg.limits)
        except IngestError as exc:
            raise ServiceError(422, f"file: {doc_id!r} cannot be indexed: it {exc}", "file", "unreadable_document") from None
        if len(read.passages) > self.settings.sync_upload_passages:
            embedder = retriever.embedder

            async def work(job: Job) -> dict[str, Any]:
                def progress(n: int) -> None:
                    job.embedded += n

                job.status = "embedding"
                try:
                    ready = await on(self._job_pool, prepare_document, source, data, embedder, cfg, progress)
                except IngestError as exc:
                    raise ServiceError(422, f"file: {doc_id!r} cannot be indexed: it {exc}", "file", "unreadable_document") from None
                job.status = "indexing"
                return await self._commit_upload(doc_id, path, data, {doc_id: ready})

            job = self.jobs.submit(doc_id, len(read.passages), work)
            return 202, job.to_dict()
        body = await self._commit_upload(doc_id, path, data)
        return (200 if body["replaced"] else 201), body

    async def _commit_upload(self, doc_id: str, path: Path, data: bytes, prepared: dict[str, Prepared] | None = None) -> dict[str, Any]:
        async def work():
            root = corpus.corpus_root(self.settings.corpus_dir)  # again: it may have gone meanwhile
            written = await on(self._writer, corpus.write_file, root, path, data)
            try:
                report = await self._ingest(prepared=prepared)
            except BaseException:
                await on(self._writer, written.undo, root)
                raise
            return written, report

        written, report = await self._serialised(work)
        status = next((f for f in report.files if f.doc_id == doc_id), None)
        return {"doc_id": doc_id, "replaced": written.previous is not None, "status": status.status if status else "unknown",
                "passages": status.passages if status else 0, "warnings": list(status.warnings) if status else [],
                "index": {"documents": report.documents, "passages": report.passages,
                          "embedded": report.embedded, "seconds": round(report.seconds, 2)}}

    # -- delete ---------------------------------------------------------------------------------

    async def delete(self, doc_id: str) -> dict[str, Any]:
        root = corpus.corpus_root(self.settings.corpus_dir)
        doc_id, path = corpus.resolve(root, doc_id)
        retriever = self.generations.check()
        known = doc_id in retriever.stats.files
        if not path.is_file() and not known:
            raise ServiceError(404, f"doc_id: no document with id {doc_id!r}", "doc_id", "not_found")

        async def work():
            hidden = await on(self._writer, corpus.set_aside, path)
            try:
                report = await self._ingest(allow_empty=True)
            except BaseException:
                if hidden is not None:
                    await on(self._writer, corpus.put_back, hidden)
                raise
            if hidden is not None:
                hidden.unlink(missing_ok=True)
                corpus.remove_empty_parents(path, root)
            return report

        report = await self._serialised(work)
        return {"doc_id": doc_id, "deleted": True,
                "index": {"documents": report.documents, "passages": report.passages, "seconds": round(report.seconds, 2)}}

    # -- the index write ------------------------------------------------------------------------

    async def _ingest(self, prepared: dict[str, Prepared] | None = None, allow_empty: bool = False):
        self.ingesting = True
        try:
            report, retriever = await on(self._writer, self._ingest_and_open, prepared, allow_empty)
        except IndexLockedError:
            raise ServiceError(409, "another ingest is writing the index (KOTAE_INDEX_DIR); nothing was changed, "
                                    "retry when it has finished", None, "index_locked", {"Retry-After": "10"}) from None
        except OtherCorpusError:
            # Never rebuild an index from another corpus folder on a write (index/corpus_root.py);
            # the message names no server paths, the CLI's does.
            raise ServiceError(409, "the index (KOTAE_INDEX_DIR) holds the documents of another corpus folder than "
                                    "KOTAE_CORPUS_DIR; nothing was changed. Serve this folder with its own index, or "
                                    "rebuild the index from it with `kotae ingest --rebuild`", None, "other_corpus") from None
        except CorpusMissing as exc:
            raise CorpusUnavailable(f"the corpus folder (KOTAE_CORPUS_DIR) is unavailable ({corpus._reason(exc)}); "
                                    "nothing was changed") from None
        finally:
            self.ingesting = False
        if retriever is not None:
            self.generations.swap(retriever)
        return report

    def _ingest_and_open(self, prepared: dict[str, Prepared] | None, allow_empty: bool):
        deadline = time.monotonic() + LOCKED_WAIT_SECONDS
        while True:
            try:
                report = run_ingest(self.settings, progress=False, prepared=prepared, allow_empty=allow_empty)
                break
            except IndexLockedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return report, (open_warm_retriever(self.settings) if report.changed else None)

    # -- start-up reconciliation ----------------------------------------------------------------

    async def reconcile(self) -> None:
        """Repair what a crash left: set-aside files back, then re-index if any document's
        file and index disagree. A missing corpus folder is reported, never indexed."""
        assert self._lock is not None
        async with self._lock:
            try:
                root = corpus.corpus_root(self.settings.corpus_dir)
                for line in await on(self._writer, corpus.recover, root):
                    log.warning("kotae: %s", line)
                self.drift = await on(self._writer, self._find_drift)
                if not self.drift:
                    return
                log.warning("kotae: %d documents differ between the corpus folder and the index; re-indexing", len(self.drift))
                self.reindexing = True
                await self._ingest()
                self.drift = await on(self._writer, self._find_drift)
            except ServiceError as exc:
                self.drift_error = exc.message
                log.warning("kotae: could not reconcile the corpus with the index: %s", exc.message)
            except Exception as exc:  # noqa: BLE001 - reported by /readyz; the server keeps serving
                # /readyz is open to anyone: the details (with paths) go to the server log only.
                self.drift_error = f"the index was not updated ({type(exc).__name__}; see the server log)"
                log.warning("kotae: could not reconcile the corpus with the index: %s", exc)
            finally:
                self.reindexing = False

    def _find_drift(self) -> list[dict[str, str]]:
        retriever = self.generations.retriever
        if retriever is None:
            return []
        indexed = retriever.stats.files
        files, _skipped = discover(Path(self.settings.corpus_dir))
        drift = []
        on_disk = set()
        for f in files:
            on_disk.add(f.doc_id)
            entry = indexed.get(f.doc_id)
            if entry is None:
                drift.append({"doc_id": f.doc_id, "problem": "in the corpus folder but not indexed"})
            elif entry.get("status") != "skipped" and entry.get("hash") and entry["hash"] != _digest(f.path):
                drift.append({"doc_id": f.doc_id, "problem": "changed since it was indexed"})
        for doc_id, entry in sorted(indexed.items()):
            if doc_id not in on_disk and entry.get("status") != "skipped":
                drift.append({"doc_id": doc_id, "problem": "indexed but its file is gone"})
        return drift


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
