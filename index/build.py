"""Bring an index up to date with a corpus folder: read and chunk what changed, embed it, and
hand it to the storage backend's writer, which publishes everything at once."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kotae.index.backends.base import Backend, IndexConfig, IndexStats, IndexWriter, SearchBackend
from kotae.index.corpus_root import check_corpus
from kotae.ingest import clean
from kotae.ingest.chunk import ChunkSettings
from kotae.ingest.discover import CorpusUnavailable, SourceFile, discover
from kotae.ingest.document import Document, Passage
from kotae.ingest.read import IngestError, ReadLimits, content_hash, read_document, too_large

LARGE_FILE_BYTES = 5_000_000  # files above this get their own progress line


@dataclass
class FileStatus:
    doc_id: str
    status: str  # "indexed", "unchanged" or "skipped"
    reason: str = ""
    passages: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    index_dir: str
    files: list[FileStatus]
    documents: int
    passages: int
    embedded: int
    reused: int
    removed: list[str]
    seconds: float
    embed_seconds: float
    changed: bool

    @property
    def skipped(self) -> list[FileStatus]:
        return [f for f in self.files if f.status == "skipped"]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passages_per_second"] = round(self.embedded / self.embed_seconds, 2) if self.embed_seconds else None
        return d


@dataclass(frozen=True)
class BuildConfig:
    """Made from Settings by engine.build_config, which holds the defaults."""

    chunk: ChunkSettings
    tokenizer: str
    vector_index: str
    batch_size: int
    limits: ReadLimits


def _compatible(previous: IndexStats | None, embedder_name: str, cfg: BuildConfig) -> bool:
    """Whether the stored vectors can be kept: same embedder, same chunker settings."""
    return previous is not None and previous.config.embedder == embedder_name and previous.config.chunker == asdict(cfg.chunk)


@dataclass
class _Read:
    """A file read and chunked this run, waiting for its vectors."""

    document: Document
    passages: list[Passage]


@dataclass(frozen=True)
class Prepared:
    """A document read and embedded ahead of an ingest (a large upload, outside the index
    write lock), so the ingest that publishes it only has to hand it to the writer."""

    digest: str
    document: Document
    passages: list[Passage]
    vectors: np.ndarray


def prepare_document(source: SourceFile, data: bytes, embedder, cfg: BuildConfig,
                     progress: Callable[[int], None] | None = None) -> Prepared:
    """Read and embed one file exactly as `ingest` would (IngestError if it cannot be)."""
    read = read_document(source, data, cfg.chunk, embedder.count_tokens, cfg.limits)
    vectors = embedder.embed_passages([p.embed_text for p in read.passages], batch_size=cfg.batch_size, progress=progress)
    return Prepared(content_hash(data), read.document, read.passages, np.asarray(vectors, dtype=np.float32))


def ingest(
    corpus_dir: Path,
    backend: Backend,
    load_embedder: Callable[[], Any],
    embedder_name: str,
    cfg: BuildConfig,
    rebuild: bool = False,
    progress: bool = True,
    replace_corpus: bool = False,
    prepared: dict[str, Prepared] | None = None,
    allow_empty: bool = False,
) -> IngestReport:
    """Bring the index in `backend` up to date with `corpus_dir`. Only new or changed files
    are read and embedded (the embedder is loaded only then); unchanged ones stay as stored.
    `prepared` documents whose file still has the prepared content are taken as they are.
    An index built from another corpus folder is replaced only with `rebuild` or
    `replace_corpus` (index/corpus_root.py).

    A corpus folder that is missing, unreadable, or empty while the index holds documents
    raises CorpusUnavailable: that is far more often an unmounted disk or a wrong path than
    a deliberate removal of everything (`allow_empty`, or `rebuild`, says it is deliberate)."""
    from tqdm import tqdm

    started = time.perf_counter()
    prepared = prepared or {}
    files, skipped_links = discover(corpus_dir)
    writer = backend.writer()
    stored: SearchBackend | None = None  # the index as it was, while its passages are compared
    try:
        previous = writer.previous()
        corpus_key = backend.corpus_key(corpus_dir)
        check_corpus(previous, corpus_key, corpus_dir, backend.location, [f.doc_id for f in files], replace_corpus or rebuild)
        keep = _compatible(previous, embedder_name, cfg) and not rebuild
        if previous is not None and not keep:
            if not rebuild:
                print("index settings changed (embedder or chunker): re-embedding every document", file=sys.stderr)
            writer.reset()
        # Another text cleaning (ingest/clean.py) changes the passages of some documents only:
        # unchanged files are read again, and only those whose passages differ are embedded again.
        recheck = keep and previous is not None and previous.config.text_cleaning != clean.TEXT_CLEANING
        stored = backend.open(embedder_name) if recheck else None
        old_files = previous.files if (keep and previous is not None) else {}
        hashes = {d: f.get("hash") for d, f in old_files.items() if f.get("status") != "skipped"}
        if not files and hashes and not (allow_empty or rebuild):
            raise CorpusUnavailable(
                f"corpus folder {corpus_dir} holds no documents but the index has {len(hashes)}; "
                "nothing was changed. If they were really all removed, run `kotae ingest --rebuild`")
        statuses = [FileStatus(s.doc_id, "skipped", s.reason) for s in skipped_links]
        fresh: list[_Read] = []
        ready: list[Prepared] = []  # embedded before this call (prepared uploads)
        kept: dict[str, str] = {}  # unchanged doc id -> hash
        embedder = None
        bar = tqdm(files, desc="reading", unit="file", disable=not progress, file=sys.stderr)
        for source in bar:
            try:
                size = source.path.stat().st_size
                large = too_large(source.kind, size, cfg.limits)
                if large:
                    statuses.append(FileStatus(source.doc_id, "skipped", large))
                    continue
                if progress and size > LARGE_FILE_BYTES:
                    bar.write(f"reading {source.doc_id} ({size / 1e6:.1f} MB)", file=sys.stderr)
                data = source.path.read_bytes()
            except OSError as exc:
                statuses.append(FileStatus(source.doc_id, "skipped", f"cannot be read ({exc.strerror})"))
                continue
            digest = content_hash(data)
            if hashes.get(source.doc_id) == digest and stored is None:
                old = old_files[source.doc_id]
                statuses.append(FileStatus(source.doc_id, "unchanged", passages=old.get("passages", 0), warnings=list(old.get("warnings", []))))
                kept[source.doc_id] = digest
                continue
            if source.doc_id in prepared and prepared[source.doc_id].digest == digest:
                p = prepared[source.doc_id]
                ready.append(p)
                statuses.append(FileStatus(source.doc_id, "indexed", passages=len(p.passages), warnings=list(p.document.warnings)))
                continue
            if embedder is None:
                embedder = load_embedder()
            try:
                read = read_document(source, data, cfg.chunk, embedder.count_tokens, cfg.limits)
            except IngestError as exc:
                statuses.append(FileStatus(source.doc_id, "skipped", str(exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - one hostile file never stops the ingest
                statuses.append(FileStatus(source.doc_id, "skipped", f"could not be read (unexpected {type(exc).__name__}: {str(exc)[:120]})"))
                continue
            if stored is not None and hashes.get(source.doc_id) == digest and \
                    [s.passage for s in stored.document_passages(source.doc_id)] == read.passages:
                statuses.append(FileStatus(source.doc_id, "unchanged", passages=len(read.passages), warnings=list(read.document.warnings)))
                kept[source.doc_id] = digest
                continue
            fresh.append(_Read(read.document, read.passages))
            statuses.append(FileStatus(source.doc_id, "indexed", passages=len(read.passages), warnings=list(read.document.warnings)))
        embedded, embed_seconds = _embed_and_upsert(writer, fresh, embedder, cfg, progress)
        for p in ready:
            writer.upsert(p.document, p.passages, p.vectors)
        embedded += sum(len(p.passages) for p in ready)
        fresh += [_Read(p.document, p.passages) for p in ready]
        live = set(kept) | {r.document.doc_id for r in fresh}
        removed = sorted(set(hashes) - live)
        writer.delete(removed)
        tokenizer_changed = previous is not None and previous.config.tokenizer != cfg.tokenizer
        changed = embedded > 0 or bool(removed) or not keep or recheck or len(live) != len(hashes) or tokenizer_changed
        changed = changed or _record(statuses, fresh, kept) != old_files or previous.corpus_root != corpus_key
        if changed:
            ready_dim = next((p.vectors.shape[1] for p in ready), None)
            writer.commit(_index_config(embedder_name, embedder, previous if keep else None, cfg, ready_dim), _record(statuses, fresh, kept),
                          corpus_key)
    finally:
        writer.close()
        if stored is not None:
            stored.close()
    n_passages = sum(s.passages for s in statuses if s.status != "skipped")
    return IngestReport(
        index_dir=backend.location,
        files=sorted(statuses, key=lambda s: s.doc_id),
        documents=len(live),
        passages=n_passages,
        embedded=embedded,
        reused=n_passages - embedded,
        removed=removed,
        seconds=time.perf_counter() - started,
        embed_seconds=embed_seconds,
        changed=changed,
    )


def _index_config(embedder_name: str, embedder, previous: IndexStats | None, cfg: BuildConfig, ready_dim: int | None) -> IndexConfig:
    if embedder is not None:
        dim, max_tokens = embedder.info.dim, embedder.info.max_tokens
    elif previous is not None:
        dim, max_tokens = previous.config.dim, previous.config.max_tokens
    else:  # only prepared documents, or nothing at all
        dim, max_tokens = ready_dim or 0, cfg.chunk.max_tokens
    return IndexConfig(embedder_name, dim, max_tokens, asdict(cfg.chunk), cfg.tokenizer, cfg.vector_index, clean.TEXT_CLEANING)


def _record(statuses: list[FileStatus], fresh: list[_Read], kept: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The ingest record of every file, stored with the index (reasons for skips, hashes)."""
    hashes = {r.document.doc_id: r.document.content_hash for r in fresh} | kept
    return {s.doc_id: {"status": "skipped" if s.status == "skipped" else "indexed", "reason": s.reason, "passages": s.passages,
                       "warnings": s.warnings, "hash": hashes.get(s.doc_id)}
            for s in sorted(statuses, key=lambda s: s.doc_id)}


def _embed_and_upsert(writer: IndexWriter, fresh: list[_Read], embedder, cfg: BuildConfig, progress: bool) -> tuple[int, float]:
    """Embed every new passage in one pass (batches span documents), then hand each document
    with its vectors to the writer."""
    from tqdm import tqdm

    texts = [p.embed_text for r in fresh for p in r.passages]
    matrix, seconds = np.zeros((0, embedder.info.dim if embedder is not None else 0), np.float32), 0.0
    if texts:
        started = time.perf_counter()
        with tqdm(total=len(texts), desc="embedding", unit="passage", disable=not progress, file=sys.stderr) as bar:
            matrix = embedder.embed_passages(texts, batch_size=cfg.batch_size, progress=bar.update)
        seconds = time.perf_counter() - started
    pos = 0
    for r in fresh:
        writer.upsert(r.document, r.passages, matrix[pos : pos + len(r.passages)])
        pos += len(r.passages)
    return len(texts), seconds
