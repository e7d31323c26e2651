"""The one storage interface retrieval, the service, evals and bench talk to.

A backend stores documents, their passages and one vector per passage, and answers the five
questions retrieval asks: nearest vectors, keyword matches, passages by id, documents, and
statistics. Passages are named by stable string ids (``<doc_id>#<ordinal>``); how a backend
numbers them inside (FAISS rows, table keys) is its own business.

Reads go through a :class:`SearchBackend`, a consistent view that does not change while it is
open; writes through an :class:`IndexWriter`, whose :meth:`~IndexWriter.commit` publishes all
its changes at once or none of them (a crash before it leaves the previous state readable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from kotae.ingest.document import Document, Passage


class BackendError(RuntimeError):
    """A problem with the stored index, phrased for the user."""


class IndexMissingError(BackendError):
    pass


class IndexMismatchError(BackendError):
    pass


class IndexLockedError(BackendError):
    pass


def passage_id(doc_id: str, ordinal: int) -> str:
    return f"{doc_id}#{ordinal}"


def passage_doc(pid: str) -> str:
    """The document id of a passage id (the inverse of :func:`passage_id`)."""
    return pid.rsplit("#", 1)[0]


@dataclass(frozen=True)
class Filters:
    lang: str | None = None  # the passage's own language
    doc_lang: str | None = None  # the main language of the passage's document
    doc_ids: tuple[str, ...] | None = None

    @property
    def empty(self) -> bool:
        return self.lang is None and self.doc_lang is None and self.doc_ids is None


@dataclass(frozen=True)
class Matches:
    """One side's ranked list, best first."""

    ids: tuple[str, ...]
    scores: np.ndarray
    doc_langs: tuple[str, ...]  # main language of each passage's document
    langs: tuple[str, ...] = ()  # each passage's own language (dense searches; empty = not given)

    @classmethod
    def none(cls) -> "Matches":
        return cls((), np.zeros(0, np.float32), ())


@dataclass(frozen=True)
class StoredPassage:
    id: str
    passage: Passage
    title: str
    doc_lang: str  # main language of the document (most passages): a table in English inside a
    # Japanese report still belongs to a Japanese document, and retrieval weighs it so


@dataclass(frozen=True)
class IndexConfig:
    """What the stored vectors and tokens were made with; a change of embedder or chunker means
    re-embedding everything, a change of tokenizer re-tokenising it."""

    embedder: str
    dim: int
    max_tokens: int
    chunker: dict[str, Any]
    tokenizer: str
    vector_index: str = "auto"
    text_cleaning: int = 1  # version of ingest/clean.py's display text (1: indexes from before it was recorded)

    def to_dict(self) -> dict[str, Any]:
        return {"embedder": {"name": self.embedder, "dim": self.dim, "max_tokens": self.max_tokens},
                "chunker": dict(self.chunker), "text_cleaning": self.text_cleaning, "keyword": {"tokenizer": self.tokenizer},
                "vector_index": self.vector_index}


@dataclass(frozen=True)
class IndexStats:
    documents: int
    passages: int
    passages_by_doc_lang: dict[str, int]
    config: IndexConfig
    built_at: str | None
    generation: str | None  # what a reader is looking at: a local generation, a database
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # the last ingest's record per doc id
    corpus_root: str | None = None  # the corpus folder it was built from (index/corpus_root.py)
    passages_by_lang: dict[str, int] = field(default_factory=dict)  # by the passage's own language
    details: dict[str, Any] = field(default_factory=dict)  # backend-specific (vector index type, location)

    def describe(self) -> dict[str, Any]:
        return {**self.config.to_dict(), "counts": {"documents": self.documents, "passages": self.passages},
                "built_at": self.built_at, "generation": self.generation, **self.details}


class SearchBackend(Protocol):
    """A read-only, consistent view of the index."""

    def stats(self) -> IndexStats: ...

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> Matches:
        """The k passages nearest to a unit query vector (inner product = cosine)."""
        ...

    def keyword(self, tokens: list[str], k: int, filters: Filters | None = None) -> Matches:
        """The k best BM25 matches of the (tokenised) query; only scores > 0."""
        ...

    def keyword_idf(self, tokens: list[str]) -> np.ndarray:
        """BM25 idf of each token over the whole index; 0 for unknown tokens."""
        ...

    def passages(self, ids: Sequence[str]) -> list[StoredPassage]:
        """The stored passages with these ids, in that order; unknown ids are left out."""
        ...

    def document_passages(self, doc_id: str) -> list[StoredPassage]: ...

    def documents(self) -> list[dict[str, Any]]: ...

    def document(self, doc_id: str) -> Document | None: ...

    def close(self) -> None: ...


class IndexWriter(Protocol):
    """Changes that become visible together at :meth:`commit`, or not at all."""

    def previous(self) -> IndexStats | None:
        """What is published now (None: nothing yet) — the base ingest compares files against."""
        ...

    def reset(self) -> None:
        """Start from an empty index (the embedder or chunker changed, or a rebuild was asked)."""
        ...

    def upsert(self, document: Document, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        """Add a document or replace all of its passages."""
        ...

    def delete(self, doc_ids: Sequence[str]) -> None: ...

    def commit(self, config: IndexConfig, files: dict[str, dict[str, Any]], corpus_root: str | None = None) -> None:
        """Publish every change atomically, with the ingest record of every file and the corpus
        folder (as :meth:`Backend.corpus_key` names it)."""
        ...

    def close(self) -> None:
        """Release the writer; uncommitted changes are dropped."""
        ...


class StagedChanges:
    """The upserts and deletes a writer holds until its commit: the part every backend's
    writer shares. A document upserted after a delete (or the reverse) keeps only the last."""

    def __init__(self) -> None:
        self._upserts: dict[str, tuple[Document, list[Passage], np.ndarray]] = {}
        self._deleted: set[str] = set()

    def upsert(self, document: Document, passages: Sequence[Passage], vectors: np.ndarray) -> None:
        if len(passages) != len(vectors):
            raise ValueError(f"{document.doc_id}: {len(passages)} passages but {len(vectors)} vectors")
        self._upserts[document.doc_id] = (document, list(passages), np.asarray(vectors, dtype=np.float32))
        self._deleted.discard(document.doc_id)

    def delete(self, doc_ids: Sequence[str]) -> None:
        for d in doc_ids:
            self._upserts.pop(d, None)
            self._deleted.add(d)


class Backend(Protocol):
    """A place indexes are stored: opens read views and writers."""

    name: str
    location: str  # where, for messages and reports: a folder, a database URL without password

    def open(self, embedder: str | None = None) -> SearchBackend:
        """The current index; raises IndexMissingError, or IndexMismatchError if it was built
        with another embedder than ``embedder``."""
        ...

    def writer(self) -> IndexWriter:
        """The single writer (raises IndexLockedError while another one is open)."""
        ...

    def generation(self) -> str | None:
        """The generation published now, as :attr:`IndexStats.generation` names it (None if there
        is no index yet): a cheap question, asked often by a service that shares the index with
        other processes to notice their writes."""
        ...

    def close(self) -> None:
        """Releases what :meth:`generation` keeps open (views and writers close themselves)."""
        ...

    def corpus_key(self, corpus_dir: Path) -> str:
        """How the index records the corpus folder it is built from."""
        ...


def check_embedder(stats: IndexStats, embedder: str | None, where: str) -> None:
    built_with = stats.config.embedder
    if embedder is not None and built_with != embedder:
        raise IndexMismatchError(
            f"index at {where} was built with embedder {built_with!r} (dim {stats.config.dim}), "
            f"but the configured embedder is {embedder!r}; rebuild with `kotae ingest --rebuild` "
            f"or set KOTAE_MODEL={built_with}"
        )
