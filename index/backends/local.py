"""The embedded default: FAISS + BM25 postings + SQLite in one directory (layout: index/persist.py).

An index is a list of immutable *segments* (each: FAISS vectors, keyword postings, SQLite rows)
plus, per generation, which segment rows are deleted. A write adds one small segment with the
new or changed documents and marks their old rows deleted, so a small upload costs time in
proportion to the upload, not the corpus. When segments pile up (or many rows are deleted)
the writer merges them into one, from stored postings and vectors, without re-embedding or
re-tokenising.

A generation (manifest + deletion lists) is published atomically by renaming (persist.publish):
a reader never sees a half-written index, and a crash leaves the previous generation live.
Inside the local backend a passage is a row number (its segment's offset + its row there);
rows never leave this module.

Lifetime: a :class:`LocalView` holds its segments' files open (memory maps, SQLite
connections). Publishing a newer generation deletes files no longer referenced, but POSIX
keeps open files readable, so searches running on an old view finish; ``close()`` it once no
search holds it (it is then unusable).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from kotae import __version__
from kotae.index import meta
from kotae.index.backends.base import (
    StagedChanges, Filters, IndexConfig, IndexMismatchError, IndexMissingError, IndexStats, Matches, StoredPassage, check_embedder, passage_id,
)
from kotae.index.corpus_root import corpus_root
from kotae.index.persist import (
    FORMAT_VERSION, SEGMENTS, current_generation, fsync_tree, new_build_dir, publish, read_manifest, remove_stale, write_lock,
)
from kotae.index.postings import Postings, SegmentedBM25
from kotae.index.tokenize import tokenize
from kotae.index.vectors import VectorIndex, choose_index
from kotae.ingest.document import Document, Passage

EMBEDDINGS = "embeddings.npy"
# Merge segments when there would be more than this many (each search visits every segment):
# the small ones into one, leaving the largest alone when it outweighs them, so that a small
# upload never pays for rebuilding the whole corpus's vector index (90 s at 10^5 passages).
# Everything is merged when more than MAX_DELETED_SHARE of all rows are deleted.
MAX_SEGMENTS = 8
MAX_DELETED_SHARE = 0.3
# Deleted rows of a segment are skipped by fetching this many more neighbours and dropping them;
# more deletions than this use a FAISS id selector instead.
OVERFETCH_MAX = 1000
# Stored passages kept in memory per open view (~1-2 kB each, so at most ~20 MB): every search
# reads its top candidates' rows (10-20), and the same passages come back question after question.
PASSAGE_CACHE = 10_000


def _config(manifest: dict[str, Any]) -> IndexConfig:
    e = manifest["embedder"]
    return IndexConfig(e["name"], int(e["dim"]), int(e.get("max_tokens", 0)), manifest["chunker"],
                       manifest["keyword"]["tokenizer"], manifest.get("vector_index_setting", "auto"), manifest.get("text_cleaning", 1))


def _stats(generation: Path, manifest: dict[str, Any]) -> IndexStats:
    return IndexStats(
        documents=manifest["counts"]["documents"], passages=manifest["counts"]["passages"],
        passages_by_doc_lang=manifest.get("by_doc_lang", {}), config=_config(manifest), built_at=manifest.get("built_at"),
        generation=generation.name, files=manifest.get("files", {}), corpus_root=manifest.get("corpus_root"),
        details={"backend": "local", "path": str(generation), "segments": len(manifest.get("segments", [])),
                 "vector_index": [s["vector_index"] for s in manifest.get("segments", [])]},
    )


def _main_lang(langs: list[str]) -> str:
    """The language most passages are in; ties go to the first code in sorted order."""
    counts = Counter(langs)
    return max(sorted(counts), key=lambda lang: counts[lang]) if counts else ""


# Per-row columns of a segment, saved beside its SQLite so a reader need not query every row.
COLUMNS = ("doc_ids", "langs", "ordinals")


class _Segment:
    """One segment's files, opened read-only."""

    def __init__(self, path: Path, vector_kind: str):
        self.path = path
        self.vectors = VectorIndex.load(path / "vectors.faiss", vector_kind)
        self.postings = Postings.load(path)
        self.meta = meta.MetaStore(path / "meta.sqlite")
        self.size = self.postings.size

    def columns(self) -> tuple[list[str], list[str], list[int]]:
        """(doc_id, lang, ordinal) of every row."""
        doc_ids, langs, ordinals = (np.load(self.path / f"rows-{c}.npy") for c in COLUMNS)
        return doc_ids.tolist(), langs.tolist(), ordinals.tolist()

    def embeddings(self) -> np.ndarray:
        return np.load(self.path / EMBEDDINGS, mmap_mode="r")


def _deleted(generation: Path, entry: dict[str, Any]) -> np.ndarray:
    name = entry.get("deleted")
    return np.load(generation / name) if name else np.zeros(0, np.int64)


class LocalView:
    """One published generation, opened read-only."""

    def __init__(self, index_dir: Path, generation: Path, manifest: dict[str, Any]):
        self._generation = generation
        self._manifest = manifest  # read once by the opener: ~80 ms of JSON at 10^5 passages
        self._docs: dict[str, list] = self._manifest["documents"]  # doc id -> [segment, passages, main language]
        self._segments = [_Segment(index_dir / SEGMENTS / s["name"], s["vector_index"]) for s in self._manifest["segments"]]
        self._offsets = np.cumsum([0] + [s.size for s in self._segments])
        self._live = np.ones(int(self._offsets[-1]), dtype=bool)
        doc_ids: list[str] = []
        langs: list[str] = []
        ids: list[str] = []
        for seg, offset, entry in zip(self._segments, self._offsets, self._manifest["segments"]):
            self._live[offset + _deleted(generation, entry)] = False
            d, la, o = seg.columns()
            doc_ids += d
            langs += la
            ids += [passage_id(x, y) for x, y in zip(d, o)]
        self._doc_ids = np.array(doc_ids, dtype=object)
        self._langs = np.array(langs, dtype=object)
        self._doc_langs = np.array([self._docs[d][2] if d in self._docs else "" for d in doc_ids], dtype=object)
        self._ids = ids
        self._rows = {pid: row for row, pid in enumerate(ids) if self._live[row]}
        self._bm25 = SegmentedBM25([s.postings for s in self._segments], self._live)
        self._passages: dict[int, StoredPassage] = {}  # row -> its passage, oldest first (PASSAGE_CACHE)
        self._passages_lock = threading.Lock()  # searches of several threads may evict at once
        langs, counts = np.unique(self._langs[self._live].astype(str), return_counts=True)
        self._stats = replace(_stats(generation, self._manifest),
                              passages_by_lang={str(la): int(c) for la, c in zip(langs, counts)})

    def stats(self) -> IndexStats:
        return self._stats

    def _mask(self, filters: Filters | None) -> np.ndarray:
        mask = self._live.copy()
        if filters is not None:
            if filters.lang is not None:
                mask &= self._langs == filters.lang
            if filters.doc_lang is not None:
                mask &= self._doc_langs == filters.doc_lang
            if filters.doc_ids is not None:
                mask &= np.isin(self._doc_ids, list(filters.doc_ids))
        return mask

    def _matches(self, scores: np.ndarray, rows: np.ndarray) -> Matches:
        rows = rows.tolist()
        return Matches(tuple(self._ids[r] for r in rows), scores, tuple(str(self._doc_langs[r]) for r in rows),
                       tuple(str(self._langs[r]) for r in rows))

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> Matches:
        mask = self._mask(filters)
        all_scores, all_rows = [], []
        for seg, offset in zip(self._segments, self._offsets):
            allowed = mask[offset : offset + seg.size]
            excluded = seg.size - int(allowed.sum())
            if excluded == seg.size:
                continue
            if excluded == 0:
                scores, rows = seg.vectors.search(query, k)
            elif excluded <= OVERFETCH_MAX and (filters is None or filters.empty):
                scores, rows = seg.vectors.search(query, k + excluded)
                keep = allowed[rows]
                scores, rows = scores[keep][:k], rows[keep][:k]
            else:
                scores, rows = seg.vectors.search(query, k, np.flatnonzero(allowed))
            all_scores.append(scores)
            all_rows.append(rows + offset)
        if not all_scores:
            return Matches.none()
        scores, rows = np.concatenate(all_scores), np.concatenate(all_rows)
        top = np.argsort(-scores, kind="stable")[:k]
        return self._matches(scores[top].astype(np.float32), rows[top])

    def keyword(self, tokens: list[str], k: int, filters: Filters | None = None) -> Matches:
        mask = None if filters is None or filters.empty else self._mask(filters)
        return self._matches(*self._bm25.search(tokens, k, mask))

    def keyword_idf(self, tokens: list[str]) -> np.ndarray:
        return self._bm25.idf(tokens)

    def _segment_of(self, row: int) -> int:
        return int(np.searchsorted(self._offsets, row, side="right") - 1)

    def _stored(self, row: int, passage: Passage, title: str) -> StoredPassage:
        return StoredPassage(self._ids[row], passage, title, str(self._doc_langs[row]))

    def passages(self, ids: Sequence[str]) -> list[StoredPassage]:
        rows = [self._rows[i] for i in ids if i in self._rows]
        found: dict[int, StoredPassage] = {}
        by_segment: dict[int, list[int]] = {}
        for row in rows:
            stored = self._passages.get(row)  # get, not `in` then [], which an eviction could split
            if stored is not None:
                found[row] = stored
            else:
                by_segment.setdefault(self._segment_of(row), []).append(row)
        fetched: dict[int, StoredPassage] = {}
        for si, seg_rows in by_segment.items():
            offset = int(self._offsets[si])
            for local, p, title in self._segments[si].meta.passages([r - offset for r in seg_rows]):
                fetched[local + offset] = self._stored(local + offset, p, title)
        if fetched:
            found.update(fetched)
            with self._passages_lock:
                self._passages.update(fetched)
                while len(self._passages) > PASSAGE_CACHE:
                    del self._passages[next(iter(self._passages))]
        return [found[r] for r in rows if r in found]

    def document_passages(self, doc_id: str) -> list[StoredPassage]:
        entry = self._docs.get(doc_id)
        if entry is None:
            return []
        offset = int(self._offsets[entry[0]])
        return [self._stored(local + offset, p, title) for local, p, title in self._segments[entry[0]].meta.passages_of(doc_id)]

    def documents(self) -> list[dict[str, Any]]:
        out = [d for si, seg in enumerate(self._segments) for d in seg.meta.documents() if self._docs.get(d["doc_id"], [None])[0] == si]
        return sorted(out, key=lambda d: d["doc_id"])

    def document(self, doc_id: str) -> Document | None:
        entry = self._docs.get(doc_id)
        return self._segments[entry[0]].meta.document(doc_id) if entry is not None else None

    def close(self) -> None:
        for seg in self._segments:
            seg.meta.close()


def _write_segment(index_dir: Path, docs: list[Document], passages: list[Passage], matrix: np.ndarray, postings: Postings,
                   vector_index: str) -> dict[str, Any]:
    """A new immutable segment under segments/, written and synced before any manifest names it."""
    build = new_build_dir(index_dir / SEGMENTS)
    np.save(build / EMBEDDINGS, matrix)
    vindex = VectorIndex.build(matrix, matrix.shape[1], choose_index(len(passages), vector_index).kind)
    vindex.save(build / "vectors.faiss")
    postings.save(build)
    columns = ([p.doc_id for p in passages], [p.lang for p in passages], [p.ordinal for p in passages])
    for name, values in zip(COLUMNS, columns):
        np.save(build / f"rows-{name}.npy", np.array(values, dtype=np.int64 if name == "ordinals" else str))
    meta.create(build / "meta.sqlite", docs, passages)
    fsync_tree(build)
    name = "seg-" + build.name.removeprefix(".build-")
    os.rename(build, build.parent / name)
    return {"name": name, "passages": len(passages), "vector_index": vindex.kind, "vector_index_params": vindex.params}


def _small_segments(entries: list[dict[str, Any]], deleted: list[set]) -> list[int]:
    """Which segments to merge when there are too many: all but the largest, if together they
    hold fewer live rows than it; else all of them."""
    live = [e["passages"] - len(rows) for e, rows in zip(entries, deleted)]
    largest = max(range(len(live)), key=live.__getitem__)
    rest = [si for si in range(len(live)) if si != largest]
    return rest if sum(live[si] for si in rest) < live[largest] else list(range(len(live)))


class LocalWriter(StagedChanges):
    """The next generation: the previous one's segments, their deleted rows, and one new segment."""

    def __init__(self, index_dir: Path):
        super().__init__()
        self._index_dir = index_dir
        self._lock = write_lock(index_dir)
        self._lock.__enter__()  # raises IndexLockedError while another writer holds it
        remove_stale(index_dir)
        generation = current_generation(index_dir)
        self._base: tuple[Path, dict[str, Any]] | None = None
        if generation is not None:
            manifest = read_manifest(generation)
            if manifest.get("format") == FORMAT_VERSION:
                self._base = (generation, manifest)
        self._keep_base = self._base is not None

    def previous(self) -> IndexStats | None:
        return _stats(*self._base) if self._base is not None else None

    def reset(self) -> None:
        self._keep_base = False

    def _fresh(self, config: IndexConfig) -> tuple[list[Document], list[Passage], np.ndarray, Postings]:
        order = sorted(self._upserts)
        docs = [self._upserts[d][0] for d in order]
        passages = [p for d in order for p in self._upserts[d][1]]
        parts = [self._upserts[d][2].reshape(-1, config.dim) for d in order]
        matrix = np.concatenate(parts) if parts else np.zeros((0, config.dim), np.float32)
        return docs, passages, matrix, Postings.build([tokenize(p.embed_text, config.tokenizer) for p in passages])

    def commit(self, config: IndexConfig, files: dict[str, dict[str, Any]], corpus_root: str | None = None) -> None:
        base_gen, base = self._base if (self._base is not None and self._keep_base) else (None, None)
        entries = [dict(s) for s in base["segments"]] if base else []
        doc_map: dict[str, list] = {d: list(v) for d, v in base["documents"].items()} if base else {}
        deleted = [set(_deleted(base_gen, e).tolist()) for e in entries] if base else []
        for doc_id in sorted((self._deleted | set(self._upserts)) & set(doc_map)):
            si = doc_map.pop(doc_id)[0]
            store = meta.MetaStore(self._index_dir / SEGMENTS / entries[si]["name"] / "meta.sqlite")
            try:
                deleted[si].update(row for row, _, _ in store.passages_of(doc_id))
            finally:
                store.close()
        tokenizer_changed = base is not None and base["keyword"]["tokenizer"] != config.tokenizer
        total = sum(e["passages"] for e in entries)
        n_deleted = sum(len(d) for d in deleted)
        merge = bool(entries) and (tokenizer_changed or len(entries) + bool(self._upserts) > MAX_SEGMENTS
                                   or n_deleted > MAX_DELETED_SHARE * max(total, 1))
        if merge:
            everything = tokenizer_changed or n_deleted > MAX_DELETED_SHARE * max(total, 1)
            chosen = list(range(len(entries))) if everything else _small_segments(entries, deleted)
            entries, deleted, doc_map = self._merged(entries, deleted, doc_map, config, tokenizer_changed, chosen)
        if self._upserts:
            docs, passages, matrix, postings = self._fresh(config)
            entries.append(_write_segment(self._index_dir, docs, passages, matrix, postings, config.vector_index))
            deleted.append(set())
            for doc in docs:
                langs = [p.lang for p in self._upserts[doc.doc_id][1]]
                doc_map[doc.doc_id] = [len(entries) - 1, len(langs), _main_lang(langs)]
        build = new_build_dir(self._index_dir)
        for i, (entry, rows) in enumerate(zip(entries, deleted)):
            entry["deleted"] = None
            if rows:
                entry["deleted"] = f"deleted-{i}.npy"
                np.save(build / entry["deleted"], np.array(sorted(rows), dtype=np.int64))
        by_lang = Counter()
        for _, n, lang in doc_map.values():
            by_lang[lang] += n
        manifest = {
            "format": FORMAT_VERSION,
            "kotae_version": __version__,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "corpus_root": corpus_root,
            "embedder": {"name": config.embedder, "dim": config.dim, "max_tokens": config.max_tokens},
            "chunker": dict(config.chunker),
            "text_cleaning": config.text_cleaning,
            "keyword": {"tokenizer": config.tokenizer},
            "vector_index_setting": config.vector_index,
            "segments": entries,
            "documents": dict(sorted(doc_map.items())),
            "counts": {"documents": len(doc_map), "passages": sum(n for _, n, _ in doc_map.values())},
            "by_doc_lang": {k: v for k, v in sorted(by_lang.items()) if v},
            "files": files,
        }
        publish(self._index_dir, build, manifest)
        self._upserts.clear()
        self._deleted.clear()

    def _merged(self, entries, deleted, doc_map, config: IndexConfig, retokenize: bool, chosen: list[int]):
        """The live rows of the `chosen` segments in one new segment, after the others (no
        re-embedding); the documents' segment numbers follow."""
        docs: list[Document] = []
        passages: list[Passage] = []
        vectors: list[np.ndarray] = []
        parts: list[tuple[Postings, np.ndarray]] = []
        kept = [si for si in range(len(entries)) if si not in chosen]
        renumber = {si: i for i, si in enumerate(kept)}
        new_map = {d: [renumber[v[0]], *v[1:]] for d, v in doc_map.items() if v[0] in renumber}
        for si in chosen:
            entry, rows = entries[si], deleted[si]
            seg = _Segment(self._index_dir / SEGMENTS / entry["name"], entry["vector_index"])
            try:
                keep = np.ones(seg.size, dtype=bool)
                keep[sorted(rows)] = False
                live_docs = sorted(d for d, v in doc_map.items() if v[0] == si)
                docs += [seg.meta.document(d) for d in live_docs]
                live_rows = np.flatnonzero(keep)
                passages += [p for _, p, _ in seg.meta.passages(live_rows.tolist())]
                vectors.append(np.asarray(seg.embeddings()[live_rows]))
                parts.append((seg.postings, keep))
                for d in live_docs:
                    new_map[d] = [len(kept), *doc_map[d][1:]]
            finally:
                seg.meta.close()
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, config.dim), np.float32)
        postings = (Postings.build([tokenize(p.embed_text, config.tokenizer) for p in passages]) if retokenize
                    else Postings.merge(parts))
        entry = _write_segment(self._index_dir, docs, passages, matrix, postings, config.vector_index)
        return [entries[si] for si in kept] + [entry], [deleted[si] for si in kept] + [set()], new_map

    def close(self) -> None:
        self._lock.__exit__(None, None, None)


class LocalBackend:
    name = "local"

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        self.location = str(self.index_dir)

    def open(self, embedder: str | None = None) -> LocalView:
        generation = current_generation(self.index_dir)
        if generation is None:
            raise IndexMissingError(f"no index at {self.index_dir}; build one with `kotae ingest CORPUS_DIR --index {self.index_dir}`")
        manifest = read_manifest(generation)
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexMismatchError(f"index at {self.index_dir} has format {manifest.get('format')}, this kotae reads "
                                     f"{FORMAT_VERSION}; rebuild it with `kotae ingest --rebuild`")
        check_embedder(_stats(generation, manifest), embedder, str(self.index_dir))
        return LocalView(self.index_dir, generation, manifest)

    def writer(self) -> LocalWriter:
        return LocalWriter(self.index_dir)

    def generation(self) -> str | None:
        current = current_generation(self.index_dir)
        return current.name if current is not None else None

    def close(self) -> None:
        """Nothing is kept open between calls."""

    def corpus_key(self, corpus_dir: Path) -> str:
        return corpus_root(corpus_dir, self.index_dir)
