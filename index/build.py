"""Build or update the index of a corpus: read, chunk, embed what changed, publish atomically."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from kotae import __version__
from kotae.index.corpus_root import check_corpus, manifest_fields
from kotae.index.keyword import KeywordIndex
from kotae.index import meta
from kotae.index.persist import FORMAT_VERSION, current_generation, new_build_dir, publish, read_manifest, remove_stale, write_lock
from kotae.index.tokenize import tokenize
from kotae.index.vectors import VectorIndex, choose_index
from kotae.ingest.chunk import ChunkSettings
from kotae.ingest import clean
from kotae.ingest.discover import CorpusUnavailable, SourceFile, discover
from kotae.ingest.document import Document, Passage
from kotae.ingest.read import IngestError, ReadLimits, content_hash, read_document, too_large

EMBEDDINGS = "embeddings.npy"
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
    chunk: ChunkSettings
    tokenizer: str = "bigram"
    vector_index: str = "auto"
    batch_size: int = 32
    limits: ReadLimits = ReadLimits()


def _compatible(manifest: dict[str, Any], embedder_name: str, cfg: BuildConfig) -> bool:
    return (
        manifest.get("format") == FORMAT_VERSION
        and manifest["embedder"]["name"] == embedder_name
        and manifest["chunker"] == asdict(cfg.chunk)
        and manifest.get("text_cleaning", 1) == clean.TEXT_CLEANING
    )


@dataclass(frozen=True)
class Prepared:
    """A document read and embedded ahead of an ingest (a large upload, outside the index
    write lock), so the ingest that publishes it only has to assemble the generation."""

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


class _Previous:
    """The live generation, as a source of passages and vectors that need no re-embedding."""

    def __init__(self, generation: Path | None, embedder_name: str, cfg: BuildConfig, rebuild: bool):
        self.hashes: dict[str, str] = {}
        self.meta = None
        self.keyword_tokenizer: str | None = None
        if generation is None or rebuild:
            return
        manifest = read_manifest(generation)
        if not _compatible(manifest, embedder_name, cfg):
            print("index settings changed (embedder, chunker or text cleaning): re-embedding every document", file=sys.stderr)
            return
        self.hashes = {d: f["hash"] for d, f in manifest["files"].items() if f["status"] != "skipped"}
        self.keyword_tokenizer = manifest.get("keyword", {}).get("tokenizer")  # a new one rebuilds BM25 only
        self.meta = meta.MetaStore(generation / "meta.sqlite")
        self.vectors = np.load(generation / EMBEDDINGS, mmap_mode="r")

    def reuse(self, doc_id: str, digest: str) -> tuple[Document, list[Passage], np.ndarray] | None:
        if self.meta is None or self.hashes.get(doc_id) != digest:
            return None
        doc = self.meta.document(doc_id)
        stored = self.meta.passages_of(doc_id)
        if doc is None or not stored:
            return None
        return doc, [s.passage for s in stored], np.asarray(self.vectors[[s.row for s in stored]])

    def close(self) -> None:
        if self.meta is not None:
            self.meta.close()


def ingest(
    corpus_dir: Path,
    index_dir: Path,
    load_embedder: Callable[[], Any],
    embedder_name: str,
    cfg: BuildConfig,
    rebuild: bool = False,
    progress: bool = True,
    replace_corpus: bool = False,
    prepared: dict[str, Prepared] | None = None,
    allow_empty: bool = False,
) -> IngestReport:
    """Index `corpus_dir` into `index_dir`. Only new or changed files are embedded; the
    embedder is loaded only if something needs embedding; `prepared` documents whose file
    still has the prepared content are taken as they are. An index built from another corpus
    folder is replaced only with `rebuild` or `replace_corpus` (index/corpus_root.py).

    A corpus folder that is missing, unreadable, or empty while the index holds documents
    raises CorpusUnavailable: that is far more often an unmounted disk or a wrong path than
    a deliberate removal of everything (`allow_empty`, or `rebuild`, says it is deliberate)."""
    from tqdm import tqdm

    started = time.perf_counter()
    prepared = prepared or {}
    files, skipped_links = discover(corpus_dir)
    with write_lock(index_dir):
        check_corpus(index_dir, corpus_dir, [f.doc_id for f in files], replace_corpus or rebuild)
        remove_stale(index_dir)
        previous = _Previous(current_generation(index_dir), embedder_name, cfg, rebuild)
        try:
            if not files and previous.hashes and not (allow_empty or rebuild):
                raise CorpusUnavailable(
                    f"corpus folder {corpus_dir} holds no documents but the index has {len(previous.hashes)}; "
                    "nothing was changed. If they were really all removed, run `kotae ingest --rebuild`")
            statuses = [FileStatus(s.doc_id, "skipped", s.reason) for s in skipped_links]
            docs: list[Document] = []
            passages: list[Passage] = []
            vectors: list[np.ndarray | None] = []  # per document; None = to embed
            embedder = None
            fresh = 0  # passages of prepared documents: embedded, but not by this call
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
                reused = previous.reuse(source.doc_id, digest)
                ready = prepared.get(source.doc_id)
                if reused is None and ready is not None and ready.digest == digest:
                    doc, doc_passages, doc_vectors = ready.document, ready.passages, ready.vectors
                    fresh += len(doc_passages)
                    statuses.append(FileStatus(source.doc_id, "indexed", passages=len(doc_passages), warnings=list(doc.warnings)))
                elif reused is not None:
                    doc, doc_passages, doc_vectors = reused
                    statuses.append(FileStatus(source.doc_id, "unchanged", passages=len(doc_passages), warnings=list(doc.warnings)))
                else:
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
                    doc, doc_passages, doc_vectors = read.document, read.passages, None
                    statuses.append(FileStatus(source.doc_id, "indexed", passages=len(doc_passages), warnings=list(doc.warnings)))
                docs.append(doc)
                passages.extend(doc_passages)
                vectors.append(doc_vectors)
            embedded, embed_seconds, matrix = _embed_missing(docs, passages, vectors, embedder, cfg, progress)
            embedded += fresh
            old_docs = set(previous.hashes)
            removed = sorted(old_docs - {d.doc_id for d in docs})
            changed = embedded > 0 or bool(removed) or previous.meta is None or len(docs) != len(old_docs)
            changed = changed or previous.keyword_tokenizer != cfg.tokenizer
            if changed or current_generation(index_dir) is None:
                _write_generation(index_dir, docs, passages, matrix, statuses, cfg, embedder_name, embedder, corpus_dir)
        finally:
            previous.close()
    return IngestReport(
        index_dir=str(index_dir),
        files=sorted(statuses, key=lambda s: s.doc_id),
        documents=len(docs),
        passages=len(passages),
        embedded=embedded,
        reused=len(passages) - embedded,
        removed=removed,
        seconds=time.perf_counter() - started,
        embed_seconds=embed_seconds,
        changed=changed,
    )


def _embed_missing(docs, passages, vectors, embedder, cfg: BuildConfig, progress: bool) -> tuple[int, float, np.ndarray]:
    from tqdm import tqdm

    dim = embedder.info.dim if embedder is not None else next((v.shape[1] for v in vectors if v is not None), 0)
    matrix = np.zeros((len(passages), dim), dtype=np.float32)
    todo: list[int] = []
    pos = 0
    for doc, vec in zip(docs, vectors):
        n = _count(passages, pos, doc.doc_id)
        if vec is None:
            todo.extend(range(pos, pos + n))
        else:
            matrix[pos : pos + n] = vec
        pos += n
    if not todo:
        return 0, 0.0, matrix
    started = time.perf_counter()
    with tqdm(total=len(todo), desc="embedding", unit="passage", disable=not progress, file=sys.stderr) as bar:
        matrix[todo] = embedder.embed_passages([passages[i].embed_text for i in todo], batch_size=cfg.batch_size, progress=bar.update)
    return len(todo), time.perf_counter() - started, matrix


def _count(passages: list[Passage], start: int, doc_id: str) -> int:
    n = 0
    while start + n < len(passages) and passages[start + n].doc_id == doc_id:
        n += 1
    return n


def _write_generation(index_dir, docs, passages, matrix, statuses, cfg: BuildConfig, embedder_name: str, embedder,
                      corpus_dir: Path) -> Path:
    build = new_build_dir(index_dir)
    spec = choose_index(len(passages), cfg.vector_index)
    dim = int(matrix.shape[1])
    np.save(build / EMBEDDINGS, matrix)
    vindex = VectorIndex.build(matrix, dim, spec.kind, spec.params)
    vindex.save(build / "vectors.faiss")
    KeywordIndex.build([tokenize(p.embed_text, cfg.tokenizer) for p in passages]).save(build / "bm25")
    meta.create(build / "meta.sqlite", docs, passages)
    info = embedder.info if embedder is not None else None
    manifest = {
        "format": FORMAT_VERSION,
        "kotae_version": __version__,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **manifest_fields(corpus_dir, index_dir),
        "embedder": {"name": embedder_name, "dim": dim, "max_tokens": info.max_tokens if info else cfg.chunk.max_tokens},
        "chunker": asdict(cfg.chunk),
        "text_cleaning": clean.TEXT_CLEANING,
        "keyword": {"library": "bm25s", "tokenizer": cfg.tokenizer},
        "vector_index": vindex.kind,
        "vector_index_params": vindex.params,
        "counts": {"documents": len(docs), "passages": len(passages)},
        "files": {s.doc_id: {"status": s.status if s.status == "skipped" else "indexed", "reason": s.reason, "passages": s.passages,
                             "warnings": s.warnings, "hash": next((d.content_hash for d in docs if d.doc_id == s.doc_id), None)}
                  for s in statuses},
    }
    return publish(index_dir, build, manifest)
