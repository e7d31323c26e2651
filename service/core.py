"""What the HTTP layer calls: one object holding the live retriever and doing the work.

Threads: every read of the index (search, documents) runs on one *reader* thread (searches
that queue up there are batched, see batch.py), so the
retriever's SQLite connection and query cache are never used concurrently, and the event loop
never blocks on CPU work. Ingest (embedding an upload, rebuilding the index) runs on a separate
*writer* thread, so searches keep being answered during an upload. When an ingest publishes a
new index generation, a new Retriever is opened and swapped in with one reference assignment;
the old one is closed on the reader thread, after the searches already queued on it.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, AsyncIterator, Callable, Sequence, TypeVar

from kotae.index.search import Retriever, SearchResult
from kotae.index.store import Filters
from kotae.index.tokenize import tokenize
from kotae.ingest.discover import SUPPORTED_SUFFIXES, SourceFile
from kotae.service.batch import QueryBatcher
from kotae.service.answer import Answer, CitationFilter, answer_question, extractive_answer, llm_messages
from kotae.service.llm import LLMClient, LLMError
from kotae.settings import Settings

T = TypeVar("T")


class ServiceError(Exception):
    """An error with an HTTP status, the request field it concerns, and a message."""

    def __init__(self, status: int, message: str, field: str | None = None, code: str = "invalid_request"):
        super().__init__(message)
        self.status, self.message, self.field, self.code = status, message, field, code


class NotReady(ServiceError):
    def __init__(self, message: str):
        super().__init__(503, message, None, "not_ready")


@dataclass
class Turn:
    role: str
    content: str


_FOLLOW_UP = re.compile(r"^(?:それ|その|そこ|これ|この|あれ|彼|彼女|では|じゃあ|なぜ|いつ|どこ|"
                        r"(?:and|but|what about|how about|why|when|where|it|its|they|their|that|this|those|these|he|she)\b)",
                        re.IGNORECASE)


def retrieval_query(turns: Sequence[Turn]) -> str:
    """The last user message; a short or anaphoric follow-up is completed by the previous
    user message ("それはいつ？" after "Koyebを買収したのは誰？")."""
    users = [t.content.strip() for t in turns if t.role == "user" and t.content.strip()]
    if not users:
        return ""
    last = users[-1]
    if len(users) >= 2 and (len(tokenize(last)) < 6 or _FOLLOW_UP.match(last)):
        return f"{users[-2]}\n{last}"
    return last


class KotaeService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.retriever: Retriever | None = None
        self.error: str | None = None
        self.started = time.time()
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="kotae-read")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="kotae-ingest")
        self._batcher = QueryBatcher(self._reader)
        self._write_lock: asyncio.Lock | None = None
        self._loading: asyncio.Task | None = None
        self.llm: LLMClient | None = None
        if settings.llm_base_url:
            self.llm = LLMClient(settings.llm_base_url, settings.llm_model or "default", settings.llm_api_key, settings.llm_timeout)
        self.ingesting = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the index and load the model in the background: /healthz answers at once,
        /readyz once this has finished."""
        self._write_lock = asyncio.Lock()
        self._loading = asyncio.create_task(self._load())

    async def _load(self) -> None:
        from kotae.index.engine import open_retriever

        try:
            retriever = await self._on(self._writer, open_retriever, self.settings)
            # The first query pays for lazy initialisation (tokenizer, kernels): pay it now.
            await self._on(self._reader, retriever.search, "warm up", 1)
            self.retriever, self.error = retriever, None
        except Exception as exc:  # noqa: BLE001 - reported by /readyz and every read
            self.error = f"{type(exc).__name__}: {exc}"

    async def wait_ready(self) -> None:
        if self._loading is not None:
            await asyncio.shield(self._loading)

    async def stop(self) -> None:
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        if self.llm is not None:
            await self.llm.aclose()
        self._reader.shutdown(wait=False, cancel_futures=True)
        self._writer.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    async def _on(pool: ThreadPoolExecutor, fn: Callable[..., T], *args) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, lambda: fn(*args))

    def _live(self) -> Retriever:
        if self.retriever is None:
            if self.error:
                raise NotReady(f"the index could not be opened: {self.error}")
            raise NotReady("the index and the embedding model are still loading; retry in a few seconds")
        return self.retriever

    def status(self) -> dict[str, Any]:
        if self.retriever is None:
            return {"ready": False, "reason": self.error or "loading the index and the embedding model"}
        m = self.retriever.backend.manifest
        info = getattr(self.retriever.embedder, "info", None)
        return {
            "ready": True,
            "documents": m["counts"]["documents"],
            "passages": m["counts"]["passages"],
            "embedder": {"name": m["embedder"]["name"], "dim": m["embedder"]["dim"],
                         "max_tokens": getattr(info, "max_tokens", m["embedder"].get("max_tokens"))},
            "index_built_at": m.get("built_at"),
            "generation": Path(getattr(self.retriever.backend, "path", "")).name or None,
            "retrieval_mode": self.retriever.config.mode,
            "generation_model": self.settings.llm_model or None if self.llm else None,
            "ingesting": self.ingesting,
        }

    # -- reads ----------------------------------------------------------------------------------

    async def search(self, query: str, k: int, filters: Filters | None = None) -> SearchResult:
        return await self._batcher.search(self._live(), query, k, filters)

    async def ask(self, question: str, k: int, history: Sequence[Turn] = (), query: str | None = None) -> Answer:
        result = await self.search(query or question, k)
        return await answer_question(question, result, self.llm, _history(history))

    async def ask_stream(self, question: str, k: int, history: Sequence[Turn] = (), query: str | None = None) -> AsyncIterator[str | Answer]:
        """Pieces of the answer text as they are ready, then the finished :class:`Answer`
        (whose ``text`` is everything streamed plus the sources list)."""
        result = await self.search(query or question, k)
        extractive = extractive_answer(question, result)
        extractive.timings = dict(result.timings)
        if self.llm is not None and extractive.found:
            f = CitationFilter(len(result.hits))
            sent = []
            try:
                async for piece in self.llm.stream(llm_messages(question, result.hits, result.lang, _history(history))):
                    out = f.feed(piece)
                    if out:
                        sent.append(out)
                        yield out
                rest = f.finish()
                if rest:
                    sent.append(rest)
                    yield rest
                if "".join(sent).strip():
                    yield Answer("".join(sent).strip(), f.citations(result.hits), True, result.lang, "llm", None, extractive.timings)
                    return
                error = "the language model sent an empty answer"
            except LLMError as exc:
                error = str(exc)
            if sent:  # failed half way: keep what was said, note it, and stop
                note = "\n\n(" + error + ")"
                yield note
                yield Answer("".join(sent).strip() + note, f.citations(result.hits), True, result.lang, "llm", error, extractive.timings)
                return
            extractive.warning = f"{error}; showing the extractive answer instead"
        for piece in _pieces(extractive.body):
            yield piece
        yield extractive

    async def documents(self) -> dict[str, Any]:
        retriever = self._live()
        docs = await self._on(self._reader, retriever.backend.documents)
        files = retriever.backend.manifest.get("files", {})
        for d in docs:
            d["status"] = "indexed"
            d["warnings"] = d.get("warnings") or files.get(d["doc_id"], {}).get("warnings", [])
        indexed = {d["doc_id"] for d in docs}
        skipped = [{"doc_id": doc_id, "status": f.get("status", "skipped"), "reason": f.get("reason", "")}
                   for doc_id, f in sorted(files.items()) if doc_id not in indexed]
        return {"documents": docs, "skipped": skipped}

    async def document(self, doc_id: str) -> dict[str, Any]:
        retriever = self._live()
        doc = await self._on(self._reader, retriever.backend.document, doc_id)
        if doc is None:
            raise ServiceError(404, f"no document with id {doc_id!r}", "doc_id", "not_found")
        passages = []
        if hasattr(retriever.backend, "meta"):
            stored = await self._on(self._reader, retriever.backend.meta.passages_of, doc_id)
            passages = [{"char_start": s.passage.char_start, "char_end": s.passage.char_end, "section": s.passage.section,
                         "page": s.passage.page, "lang": s.passage.lang} for s in stored]
        return {"doc_id": doc.doc_id, "title": doc.title, "kind": doc.kind, "encoding": doc.encoding,
                "content_hash": doc.content_hash, "metadata": doc.metadata, "page_starts": list(doc.page_starts),
                "warnings": list(doc.warnings), "chars": len(doc.text), "text": doc.text, "passages": passages}

    # -- writes ---------------------------------------------------------------------------------

    def target_path(self, doc_id: str) -> Path:
        """Where a document id lives in the corpus folder; refuses ids that would leave it."""
        from kotae.ingest.docid import resolve_doc_path

        try:
            return resolve_doc_path(Path(self.settings.corpus_dir), doc_id)
        except ValueError as exc:
            raise ServiceError(422, f"{exc}; use a relative path like 'notes/q3.md'", "doc_id") from None

    async def upload(self, doc_id: str, data: bytes) -> dict[str, Any]:
        from kotae.index.engine import build_config
        from kotae.ingest.read import IngestError, read_document

        kind = SUPPORTED_SUFFIXES.get(PurePosixPath(doc_id).suffix.lower())
        if kind is None:
            raise ServiceError(415, f"{doc_id!r}: unsupported file type; upload .txt, .md, .markdown or .pdf",
                               "file", "unsupported_media_type")
        path = self.target_path(doc_id)
        self._live()
        # Read it first, so that a file that cannot be indexed changes nothing.
        try:
            await self._on(self._writer, read_document, SourceFile(doc_id, path, kind), data, build_config(self.settings).chunk)
        except IngestError as exc:
            raise ServiceError(422, f"{doc_id!r} cannot be indexed: it {exc}", "file", "unreadable_document") from None
        assert self._write_lock is not None
        async with self._write_lock:
            replaced = path.exists()
            previous = path.read_bytes() if replaced else None
            _write_atomic(path, data)
            try:
                report = await self._ingest()
            except Exception:
                # Leave the corpus as it was: the index was not changed either.
                if previous is None:
                    path.unlink(missing_ok=True)
                else:
                    _write_atomic(path, previous)
                raise
        status = next((f for f in report.files if f.doc_id == doc_id), None)
        return {"doc_id": doc_id, "replaced": replaced, "status": status.status if status else "unknown",
                "passages": status.passages if status else 0, "warnings": list(status.warnings) if status else [],
                "index": {"documents": report.documents, "passages": report.passages,
                          "embedded": report.embedded, "seconds": round(report.seconds, 2)}}

    async def delete(self, doc_id: str) -> dict[str, Any]:
        retriever = self._live()
        path = self.target_path(doc_id)
        known = doc_id in retriever.backend.manifest.get("files", {})
        if not path.is_file() and not known:
            raise ServiceError(404, f"no document with id {doc_id!r}", "doc_id", "not_found")
        assert self._write_lock is not None
        async with self._write_lock:
            path.unlink(missing_ok=True)
            report = await self._ingest()
        return {"doc_id": doc_id, "deleted": True,
                "index": {"documents": report.documents, "passages": report.passages, "seconds": round(report.seconds, 2)}}

    async def _ingest(self):
        from kotae.index.persist import IndexLockedError

        self.ingesting = True
        try:
            report, retriever = await self._on(self._writer, self._ingest_and_open)
        except IndexLockedError as exc:
            raise ServiceError(409, str(exc), None, "index_locked") from None
        finally:
            self.ingesting = False
        old, self.retriever = self.retriever, retriever
        if old is not None and old is not retriever:
            # Queued after the searches already running on it.
            self._reader.submit(old.backend.close)
        return report

    def _ingest_and_open(self):
        from kotae.index.engine import open_retriever, run_ingest

        report = run_ingest(self.settings, progress=False)
        return report, (open_retriever(self.settings) if report.changed else self.retriever)


def _history(turns: Sequence[Turn]) -> list[dict[str, str]]:
    return [{"role": t.role, "content": t.content} for t in turns]


def _pieces(text: str, size: int = 12) -> list[str]:
    """Split a finished answer into small pieces, so a streaming client shows it progressively."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
