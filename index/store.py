"""The storage interface retrieval talks to, and its embedded implementation.

Retrieval needs five things from storage: nearest vectors, keyword matches, passages by row,
documents, and the per-row columns used for filters and fusion. FAISS + bm25s + SQLite in
one directory (LocalIndex) is the default; a distributed engine implements the same Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from kotae.index.keyword import KeywordIndex
from kotae.index.meta import MetaStore, StoredPassage
from kotae.index.persist import FORMAT_VERSION, IndexError_, current_generation, read_manifest
from kotae.index.vectors import VectorIndex
from kotae.ingest.document import Document


class IndexMissingError(IndexError_):
    pass


class IndexMismatchError(IndexError_):
    pass


@dataclass(frozen=True)
class Filters:
    lang: str | None = None
    doc_ids: tuple[str, ...] | None = None


class SearchBackend(Protocol):
    manifest: dict[str, Any]

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def keyword(self, tokens: list[str], k: int, filters: Filters | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def passages(self, rows: Sequence[int]) -> list[StoredPassage]: ...
    def passage_langs(self) -> np.ndarray: ...
    def documents(self) -> list[dict[str, Any]]: ...
    def document(self, doc_id: str) -> Document | None: ...


class LocalIndex:
    """One published generation, opened read-only."""

    def __init__(self, generation: Path):
        self.path = generation
        self.manifest = read_manifest(generation)
        n = self.manifest["counts"]["passages"]
        self.vectors = VectorIndex.load(generation / "vectors.faiss", self.manifest["vector_index"])
        self.keywords = KeywordIndex.load(generation / "bm25", n)
        self.meta = MetaStore(generation / "meta.sqlite")
        doc_ids, langs = self.meta.columns()
        self._doc_ids = np.array(doc_ids, dtype=object)
        self._langs = np.array(langs, dtype=object)
        self._doc_langs: np.ndarray | None = None

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or (filters.lang is None and filters.doc_ids is None):
            return None
        mask = np.ones(len(self._langs), dtype=bool)
        if filters.lang is not None:
            mask &= self._langs == filters.lang
        if filters.doc_ids is not None:
            mask &= np.isin(self._doc_ids, list(filters.doc_ids))
        return mask

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> tuple[np.ndarray, np.ndarray]:
        mask = self._mask(filters)
        return self.vectors.search(query, k, None if mask is None else np.flatnonzero(mask))

    def keyword(self, tokens: list[str], k: int, filters: Filters | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.keywords.search(tokens, k, self._mask(filters))

    def keyword_idf(self, tokens: list[str]) -> np.ndarray:
        return self.keywords.idf(tokens)

    def passages(self, rows: Sequence[int]) -> list[StoredPassage]:
        return self.meta.passages(rows)

    def passage_langs(self) -> np.ndarray:
        return self._langs

    def passage_doc_langs(self) -> np.ndarray:
        """Per row, the main language of the passage's document (most passages). A table or
        an English quotation inside a Japanese report is still part of a Japanese document;
        retrieval weighs lexical evidence by this, not by the fragment's own language."""
        if self._doc_langs is None:
            out = self._langs.copy()
            if len(out):
                doc_codes, doc_idx = np.unique(self._doc_ids.astype(str), return_inverse=True)
                lang_codes, lang_idx = np.unique(self._langs.astype(str), return_inverse=True)
                counts = np.zeros((len(doc_codes), len(lang_codes)), dtype=np.int64)
                np.add.at(counts, (doc_idx, lang_idx), 1)
                out = lang_codes[counts.argmax(axis=1)][doc_idx].astype(object)
            self._doc_langs = out
        return self._doc_langs

    def doc_ids_by_lang(self) -> dict[str, tuple[str, ...]]:
        """Document ids grouped by their main language (see passage_doc_langs)."""
        langs = self.passage_doc_langs()
        out: dict[str, set[str]] = {}
        for doc_id, lang in zip(self._doc_ids.tolist(), langs.tolist()):
            out.setdefault(str(lang), set()).add(doc_id)
        return {lang: tuple(sorted(ids)) for lang, ids in out.items()}

    def documents(self) -> list[dict[str, Any]]:
        return self.meta.documents()

    def document(self, doc_id: str) -> Document | None:
        return self.meta.document(doc_id)

    def close(self) -> None:
        self.meta.close()


def open_index(index_dir: Path, embedder_name: str | None = None) -> LocalIndex:
    generation = current_generation(index_dir)
    if generation is None:
        raise IndexMissingError(f"no index at {index_dir}; build one with `kotae ingest CORPUS_DIR --index {index_dir}`")
    manifest = read_manifest(generation)
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(f"index at {index_dir} has format {manifest.get('format')}, this kotae reads {FORMAT_VERSION}; rebuild it with `kotae ingest --rebuild`")
    built_with = manifest["embedder"]["name"]
    if embedder_name is not None and built_with != embedder_name:
        raise IndexMismatchError(
            f"index at {index_dir} was built with embedder {built_with!r} (dim {manifest['embedder']['dim']}), "
            f"but the configured embedder is {embedder_name!r}; rebuild with `kotae ingest --rebuild` "
            f"or set KOTAE_MODEL={built_with}"
        )
    return LocalIndex(generation)
