"""PostgreSQL + pgvector: documents, passages and vectors in tables, for teams that outgrow one
machine (several `kotae serve` processes on one database, read replicas, managed PostgreSQL).

- Dense: a ``vector(dim)`` column with an HNSW index (inner product; vectors are unit length).
- Keyword: an inverted index in a table, ``kotae_postings(term, pkey, tf, length)``, made from
  the tokens kotae's own tokenizer produced, and ``kotae_df`` with document frequencies; BM25 is
  computed in SQL with the same Lucene formula and parameters as the local index
  (index/keyword.py), so both backends rank alike. (Scoring from per-passage term arrays instead
  took ~1 s per query at 10^4 passages: every passage sharing a common term had to be unpacked;
  bench/results/backends.md.) Fusion stays in kotae (index/search.py).
- Writes: one writer at a time (a session advisory lock); everything a writer did becomes visible
  in one transaction at commit, so a crash leaves the previous state, and readers never see a
  half-ingested document.
- Reads use their own connection, optionally to a streaming replica (``KOTAE_DATABASE_READ_URL``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from kotae import __version__
from kotae.index.backends.base import (
    StagedChanges, BackendError, Filters, IndexConfig, IndexLockedError, IndexMissingError, IndexStats, Matches, StoredPassage,
    check_embedder, passage_id,
)
from kotae.index.keyword import B, K1, lucene_idf
from kotae.index.tokenize import tokenize
from kotae.ingest.document import Document, Passage

SCHEMA_VERSION = 1
WRITE_LOCK = 0x6B6F746165  # advisory lock key ("kotae"): one writer per database
# HNSW parameters: pgvector's defaults, with ef_search raised so recall@10 stays >= 0.95 at 10^5
# passages (bench/results/postgres.md).
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 16, 64, 100

_PASSAGE_COLUMNS = "id, doc_id, ordinal, char_start, char_end, text, section, page, lang, kind, context, doc_lang"


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    return url


def _connect(url: str):
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise BackendError(f"cannot connect to PostgreSQL at {_redact(url)}: {str(exc).strip().splitlines()[0]}") from None


def _use_pgvector(conn, url: str, create_extension: bool = False) -> None:
    """Register pgvector's types on the connection (creating the extension first for a writer)."""
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        if create_extension:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
    except (psycopg.ProgrammingError, psycopg.errors.InsufficientPrivilege):
        conn.close()
        raise BackendError(f"the pgvector extension is not installed in {_redact(url)}: run `CREATE EXTENSION vector` "
                           "as a database owner (managed services: enable pgvector)") from None


def _main_lang(langs: list[str]) -> str:
    """The language most passages are in; ties go to the first code in sorted order (as local.py)."""
    counts = Counter(langs)
    return max(sorted(counts), key=lambda lang: counts[lang]) if counts else ""


def _table_exists(cur, name: str) -> bool:
    return cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]


def _read_record(cur) -> dict[str, Any] | None:
    if not _table_exists(cur, "kotae_meta"):
        return None
    row = cur.execute("SELECT value FROM kotae_meta WHERE key = 'index'").fetchone()
    return row[0] if row else None


def _stats(record: dict[str, Any], location: str) -> IndexStats:
    c = record["config"]
    config = IndexConfig(c["embedder"], c["dim"], c["max_tokens"], c["chunker"], c["tokenizer"], c["vector_index"], c["text_cleaning"])
    return IndexStats(
        documents=record["documents"], passages=record["passages"], passages_by_doc_lang=record["by_doc_lang"],
        config=config, built_at=record["built_at"], generation=f"postgres:{record['generation']}", files=record["files"],
        corpus_root=record.get("corpus_root"), passages_by_lang=record["by_lang"],
        details={"backend": "postgres", "database": location, "vector_index": record["vector_index"]},
    )


def _where(filters: Filters | None, table: str = "kotae_passages") -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if filters is not None:
        if filters.lang is not None:
            clauses.append(f"{table}.lang = %(f_lang)s")
            params["f_lang"] = filters.lang
        if filters.doc_lang is not None:
            clauses.append(f"{table}.doc_lang = %(f_doc_lang)s")
            params["f_doc_lang"] = filters.doc_lang
        if filters.doc_ids is not None:
            clauses.append(f"{table}.doc_id = ANY(%(f_doc_ids)s)")
            params["f_doc_ids"] = list(filters.doc_ids)
    return (" AND ".join(clauses) or "TRUE"), params


class PostgresView:
    """Searches over the database. Every query sees the latest committed ingest; ``stats()`` is
    the state when the view was opened (the service opens a new view after each of its ingests)."""

    def __init__(self, url: str, location: str):
        self._conn = _connect(url)
        with self._conn.cursor() as cur:
            record = _read_record(cur)
            if record is None or record.get("schema") != SCHEMA_VERSION:
                self._conn.close()
                raise IndexMissingError(f"no kotae index in {location}; build one with `KOTAE_BACKEND=postgres kotae ingest CORPUS_DIR`")
        _use_pgvector(self._conn, url)
        with self._conn.cursor() as cur:
            # strict_order: filtered HNSW scans go on until k rows pass the filter (pgvector >= 0.8)
            cur.execute(f"SET hnsw.ef_search = {HNSW_EF_SEARCH}")
            cur.execute("SET hnsw.iterative_scan = strict_order")
        self._stats = _stats(record, location)
        self._avgdl = record["total_length"] / max(record["passages"], 1)

    def stats(self) -> IndexStats:
        return self._stats

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> Matches:
        if k <= 0:
            return Matches.none()
        where, params = _where(filters)
        rows = self._conn.execute(
            f"SELECT id, doc_lang, -(embedding <#> %(q)s) FROM kotae_passages WHERE {where} "
            f"ORDER BY embedding <#> %(q)s LIMIT %(k)s",
            {**params, "q": np.asarray(query, dtype=np.float32).reshape(-1), "k": k},
        ).fetchall()
        return Matches(tuple(r[0] for r in rows), np.array([r[2] for r in rows], dtype=np.float32), tuple(r[1] for r in rows))

    def _df(self, terms: list[str]) -> dict[str, int]:
        rows = self._conn.execute("SELECT term, df FROM kotae_df WHERE term = ANY(%s)", (terms,)).fetchall()
        return dict(rows)

    def keyword_idf(self, tokens: list[str]) -> np.ndarray:
        df = self._df(sorted(set(tokens)))
        return lucene_idf(np.array([df.get(t, 0) for t in tokens]), max(self._stats.passages, 1))

    def keyword(self, tokens: list[str], k: int, filters: Filters | None = None) -> Matches:
        if not tokens or k <= 0 or not self._stats.passages:
            return Matches.none()
        counts = Counter(t for t in tokens if t)  # a repeated query token counts again, as in bm25s
        terms = sorted(counts)
        idf = self.keyword_idf(terms)
        weights = [float(w) * counts[t] for t, w in zip(terms, idf)]
        where, params = _where(filters, "f")
        restrict = "" if where == "TRUE" else f"JOIN kotae_passages f ON f.pkey = x.pkey AND {where}"
        rows = self._conn.execute(
            f"""SELECT p.id, p.doc_lang, s.score FROM (
                  SELECT x.pkey, sum(q.w * x.tf / (x.tf + %(k1)s * (1 - %(b)s + %(b)s * x.length / %(avgdl)s))) AS score
                    FROM kotae_postings x JOIN unnest(%(terms)s::text[], %(w)s::float8[]) AS q(term, w) ON q.term = x.term
                    {restrict}
                   GROUP BY x.pkey ORDER BY score DESC, x.pkey LIMIT %(k)s) s
                JOIN kotae_passages p ON p.pkey = s.pkey WHERE s.score > 0 ORDER BY s.score DESC, p.id""",
            {**params, "terms": terms, "w": weights, "k1": K1, "b": B, "avgdl": self._avgdl, "k": k},
        ).fetchall()
        return Matches(tuple(r[0] for r in rows), np.array([r[2] for r in rows], dtype=np.float32), tuple(r[1] for r in rows))

    @staticmethod
    def _stored(r, titles: dict[str, str]) -> StoredPassage:
        p = Passage(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])
        return StoredPassage(r[0], p, titles.get(r[1], r[1]), r[11])

    def _titles(self, doc_ids: set[str]) -> dict[str, str]:
        return dict(self._conn.execute("SELECT doc_id, title FROM kotae_documents WHERE doc_id = ANY(%s)", (list(doc_ids),)).fetchall())

    def passages(self, ids: Sequence[str]) -> list[StoredPassage]:
        if not ids:
            return []
        rows = self._conn.execute(f"SELECT {_PASSAGE_COLUMNS} FROM kotae_passages WHERE id = ANY(%s)", (list(ids),)).fetchall()
        titles = self._titles({r[1] for r in rows})
        found = {r[0]: self._stored(r, titles) for r in rows}
        return [found[i] for i in ids if i in found]

    def document_passages(self, doc_id: str) -> list[StoredPassage]:
        rows = self._conn.execute(f"SELECT {_PASSAGE_COLUMNS} FROM kotae_passages WHERE doc_id = %s ORDER BY ordinal", (doc_id,)).fetchall()
        titles = self._titles({doc_id})
        return [self._stored(r, titles) for r in rows]

    def documents(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT d.doc_id, d.title, d.kind, d.encoding, d.content_hash, d.metadata, d.warnings, length(d.text), "
            "(SELECT count(*) FROM kotae_passages p WHERE p.doc_id = d.doc_id) FROM kotae_documents d ORDER BY d.doc_id"
        ).fetchall()
        return [{"doc_id": r[0], "title": r[1], "kind": r[2], "encoding": r[3], "content_hash": r[4], "metadata": r[5],
                 "warnings": r[6], "chars": r[7], "passages": r[8]} for r in rows]

    def document(self, doc_id: str) -> Document | None:
        r = self._conn.execute(
            "SELECT doc_id, text, title, kind, encoding, content_hash, metadata, page_starts, warnings FROM kotae_documents WHERE doc_id = %s",
            (doc_id,),
        ).fetchone()
        if r is None:
            return None
        return Document(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(r[7]), tuple(r[8]))

    def close(self) -> None:
        self._conn.close()


def _create_tables(cur, dim: int) -> None:
    cur.execute("""
        CREATE TABLE kotae_documents (
            doc_id text PRIMARY KEY, title text NOT NULL, kind text NOT NULL, encoding text NOT NULL,
            content_hash text NOT NULL, metadata jsonb NOT NULL, page_starts jsonb NOT NULL, warnings jsonb NOT NULL,
            text text NOT NULL)""")
    cur.execute(f"""
        CREATE TABLE kotae_passages (
            id text PRIMARY KEY, pkey bigint NOT NULL UNIQUE, doc_id text NOT NULL REFERENCES kotae_documents ON DELETE CASCADE,
            ordinal int NOT NULL, char_start int NOT NULL, char_end int NOT NULL, text text NOT NULL, section text,
            page int, lang text NOT NULL, kind text NOT NULL, context text NOT NULL, doc_lang text NOT NULL,
            length int NOT NULL, terms text[] NOT NULL, tfs int[] NOT NULL, embedding vector({int(dim)}) NOT NULL)""")
    cur.execute("CREATE INDEX kotae_passages_doc ON kotae_passages (doc_id, ordinal)")
    cur.execute("CREATE TABLE kotae_postings (term text NOT NULL, pkey bigint NOT NULL, tf int NOT NULL, length int NOT NULL)")
    cur.execute("CREATE TABLE kotae_df (term text PRIMARY KEY, df int NOT NULL)")


def _create_search_indexes(cur, vector_index: str) -> str:
    """After the first load: building an index once is much faster than inserting row by row into it."""
    # term first, the rest included: a query term's postings are one index range
    cur.execute("CREATE INDEX kotae_postings_term ON kotae_postings (term) INCLUDE (pkey, tf, length)")
    return _create_vector_index(cur, vector_index)


def _create_vector_index(cur, vector_index: str) -> str:
    if vector_index == "flat":
        return "flat"
    cur.execute(f"CREATE INDEX kotae_passages_hnsw ON kotae_passages USING hnsw (embedding vector_ip_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")
    return "hnsw"


@dataclass
class _Counts:
    """What the index record counts, updated by each commit's changes."""

    documents: int = 0
    passages: int = 0
    total_length: int = 0
    by_doc_lang: Counter = field(default_factory=Counter)
    by_lang: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, record: dict[str, Any]) -> "_Counts":
        return cls(record["documents"], record["passages"], record["total_length"], Counter(record["by_doc_lang"]),
                   Counter(record["by_lang"]))

    def add(self, passages: int, length: int, lang: str, doc_lang: str) -> None:
        self.passages += passages
        self.total_length += length
        self.by_lang[lang] += passages
        self.by_doc_lang[doc_lang] += passages


class PostgresWriter(StagedChanges):
    """Collects upserts and deletes; :meth:`commit` applies them in one transaction."""

    def __init__(self, url: str, location: str):
        super().__init__()
        self._location = location
        self._conn = _connect(url)
        _use_pgvector(self._conn, url, create_extension=True)
        if not self._conn.execute("SELECT pg_try_advisory_lock(%s)", (WRITE_LOCK,)).fetchone()[0]:
            self._conn.close()
            raise IndexLockedError(f"another ingest is writing {location}; wait for it to finish")
        with self._conn.cursor() as cur:
            self._record = _read_record(cur)
        self._reset = False

    def previous(self) -> IndexStats | None:
        if self._record is None or self._record.get("schema") != SCHEMA_VERSION:
            return None
        return _stats(self._record, self._location)

    def reset(self) -> None:
        self._reset = True

    def commit(self, config: IndexConfig, files: dict[str, dict[str, Any]], corpus_root: str | None = None) -> None:
        previous = self.previous()
        tokenizer_changed = previous is not None and previous.config.tokenizer != config.tokenizer
        rebuild = self._reset or previous is None or previous.config.dim != config.dim
        with self._conn.transaction(), self._conn.cursor() as cur:
            if rebuild:
                cur.execute("DROP TABLE IF EXISTS kotae_postings, kotae_passages, kotae_df, kotae_documents")
                _create_tables(cur, config.dim)
            else:
                vector_index = self._record["vector_index"]
            cur.execute("CREATE TABLE IF NOT EXISTS kotae_meta (key text PRIMARY KEY, value jsonb NOT NULL)")
            df: Counter[str] = Counter()
            # Counts kept by deltas: recounting means scanning every passage (and its vector),
            # seconds at 10^5 passages, on every small upload.
            counts = _Counts() if rebuild else _Counts.of(self._record)
            gone = sorted(self._deleted | set(self._upserts))
            if gone and not rebuild:
                old = cur.execute("SELECT pkey, terms, length, lang, doc_lang FROM kotae_passages WHERE doc_id = ANY(%s)",
                                  (gone,)).fetchall()
                for _, terms, length, lang, doc_lang in old:
                    df.subtract(terms)
                    counts.add(-1, -length, lang, doc_lang)
                cur.execute("DELETE FROM kotae_postings WHERE term = ANY(%s) AND pkey = ANY(%s)",
                            (sorted({t for _, terms, _, _, _ in old for t in terms}), [row[0] for row in old]))
                counts.documents -= len(cur.execute("DELETE FROM kotae_documents WHERE doc_id = ANY(%s) RETURNING doc_id",
                                                    (gone,)).fetchall())
            self._insert(cur, config.tokenizer, df, counts)
            if rebuild:
                vector_index = _create_search_indexes(cur, config.vector_index)
            if tokenizer_changed and not rebuild:
                counts.total_length = self._retokenize(cur, config.tokenizer)
            else:
                self._apply_df(cur, df)
            generation = (self._record or {}).get("generation", 0) + 1
            record = {
                "schema": SCHEMA_VERSION, "kotae_version": __version__, "generation": generation,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "corpus_root": corpus_root,
                "config": {"embedder": config.embedder, "dim": config.dim, "max_tokens": config.max_tokens,
                           "chunker": dict(config.chunker), "tokenizer": config.tokenizer, "vector_index": config.vector_index,
                           "text_cleaning": config.text_cleaning},
                "vector_index": vector_index, "documents": counts.documents, "passages": counts.passages,
                "total_length": counts.total_length, "by_doc_lang": {k: v for k, v in sorted(counts.by_doc_lang.items()) if v},
                "by_lang": {k: v for k, v in sorted(counts.by_lang.items()) if v},
                "files": files,
            }
            cur.execute("INSERT INTO kotae_meta VALUES ('index', %s::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        (json.dumps(record, ensure_ascii=False),))
        if rebuild:
            # Fresh tables have no visibility map yet: without it every index-only scan of the
            # postings visits the heap (3-5x slower keyword search until autovacuum comes by).
            self._conn.execute("VACUUM (ANALYZE) kotae_postings, kotae_passages")
        self._record = record
        self._upserts.clear()
        self._deleted.clear()
        self._reset = False

    def _insert(self, cur, tokenizer: str, df: Counter, counts: "_Counts") -> None:
        docs = [self._upserts[d] for d in sorted(self._upserts)]
        counts.documents += len(docs)
        with cur.copy("COPY kotae_documents FROM STDIN") as copy:
            for doc, _, _ in docs:
                copy.write_row((doc.doc_id, doc.title, doc.kind, doc.encoding, doc.content_hash,
                                json.dumps(doc.metadata, ensure_ascii=False), json.dumps(list(doc.page_starts)),
                                json.dumps(list(doc.warnings), ensure_ascii=False), doc.text))
        # pkeys: the single writer (advisory lock) numbers new passages after the largest one
        pkey = cur.execute("SELECT coalesce(max(pkey), 0) FROM kotae_passages").fetchone()[0]
        postings = []
        with cur.copy("COPY kotae_passages (id, pkey, doc_id, ordinal, char_start, char_end, text, section, page, lang, kind, "
                      "context, doc_lang, length, terms, tfs, embedding) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "int8", "text", "int4", "int4", "int4", "text", "text", "int4", "text", "text", "text", "text",
                            "int4", "text[]", "int4[]", "vector"])
            for doc, passages, vectors in docs:
                doc_lang = _main_lang([p.lang for p in passages])
                for p, v in zip(passages, vectors):
                    pkey += 1
                    tokens = tokenize(p.embed_text, tokenizer)
                    tf = Counter(t for t in tokens if t)
                    df.update(tf.keys())
                    length = max(len(tokens), 1)  # an empty passage counts as one token, as in bm25s
                    counts.add(1, length, p.lang, doc_lang)
                    postings.extend((t, pkey, n, length) for t, n in tf.items())
                    copy.write_row((passage_id(p.doc_id, p.ordinal), pkey, p.doc_id, p.ordinal, p.char_start, p.char_end, p.text,
                                    p.section, p.page, p.lang, p.kind, p.context, doc_lang, length,
                                    list(tf.keys()), list(tf.values()), v))
        with cur.copy("COPY kotae_postings FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "int8", "int4", "int4"])
            for row in postings:
                copy.write_row(row)

    @staticmethod
    def _apply_df(cur, df: Counter) -> None:
        changed = {t: c for t, c in df.items() if c}
        if not changed:
            return
        cur.execute(
            "INSERT INTO kotae_df SELECT * FROM unnest(%s::text[], %s::int[]) "
            "ON CONFLICT (term) DO UPDATE SET df = kotae_df.df + EXCLUDED.df",
            (list(changed), list(changed.values())),
        )
        cur.execute("DELETE FROM kotae_df WHERE df <= 0")

    @staticmethod
    def _retokenize(cur, tokenizer: str) -> int:
        """A new keyword tokenizer: every stored passage's terms again (vectors stay). Returns the
        new total token count."""
        rows = cur.execute("SELECT pkey, context, text FROM kotae_passages").fetchall()
        df: Counter[str] = Counter()
        updates, postings = [], []
        for pkey, context, text in rows:
            tokens = tokenize(f"{context}\n{text}" if context else text, tokenizer)
            tf = Counter(t for t in tokens if t)
            df.update(tf.keys())
            length = max(len(tokens), 1)
            updates.append((length, list(tf.keys()), list(tf.values()), pkey))
            postings.extend((t, pkey, n, length) for t, n in tf.items())
        cur.executemany("UPDATE kotae_passages SET length = %s, terms = %s, tfs = %s WHERE pkey = %s", updates)
        cur.execute("TRUNCATE kotae_df, kotae_postings")
        with cur.copy("COPY kotae_postings FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "int8", "int4", "int4"])
            for row in postings:
                copy.write_row(row)
        PostgresWriter._apply_df(cur, df)
        return sum(u[0] for u in updates)

    def close(self) -> None:
        if not self._conn.closed:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
            self._conn.close()


class PostgresBackend:
    name = "postgres"

    def __init__(self, url: str, read_url: str | None = None):
        self._url, self._read_url = url, read_url or url
        self.location = _redact(url)

    def open(self, embedder: str | None = None) -> PostgresView:
        view = PostgresView(self._read_url, _redact(self._read_url))
        try:
            check_embedder(view.stats(), embedder, view.stats().details["database"])
        except BackendError:
            view.close()
            raise
        return view

    def writer(self) -> PostgresWriter:
        return PostgresWriter(self._url, self.location)

    def corpus_key(self, corpus_dir: Path) -> str:
        """The absolute path: processes on several machines may ingest, so no folder is "beside" the index."""
        return str(Path(corpus_dir).resolve())
