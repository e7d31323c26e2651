"""PostgreSQL + pgvector: documents, passages and vectors in tables, for teams that outgrow one
machine (several `kotae serve` processes on one database, read replicas, managed PostgreSQL).

- Dense: a ``vector(dim)`` column with an HNSW index (inner product; vectors are unit length).
- Keyword: the tokens kotae's own tokenizer produced, stored per passage (``terms``/``tfs``
  arrays) and as an impact-ordered inverted index, ``kotae_postings(term, impact, pkey)``, with
  ``kotae_df`` holding document frequencies. One SQL statement takes each query term's ``DEPTH``
  postings of highest impact (an index range, however common the term), ranks the passages found
  by their partial score, and computes the exact BM25 of the best ``POOL`` of them from their
  term arrays, with the same Lucene formula and parameters as the local index
  (index/keyword.py). Summing every posting of every query term instead took 0.6-4 s per query
  at 10^5 passages (common terms have 10^5 postings); bench/results/backends.md has the ranking
  agreement with the local BM25 and the latency of both, and of a ``tsvector`` + ``ts_rank``
  alternative. Fusion stays in kotae (index/search.py).
- Writes: one writer at a time (a session advisory lock); everything a writer did becomes visible
  in one transaction at commit, so a crash leaves the previous state, and readers never see a
  half-ingested document.
- Reads use their own connection, optionally to a streaming replica (``KOTAE_DATABASE_READ_URL``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
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

SCHEMA_VERSION = 2
WRITE_LOCK = 0x6B6F746165  # advisory lock key ("kotae"): one writer per database
# HNSW parameters: pgvector's defaults, with ef_search raised so recall@10 stays >= 0.95 at 10^5
# passages (bench/results/postgres.md).
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 16, 64, 100
# Keyword search reads each query term's DEPTH best postings and rescores the POOL passages with
# the best partial sums exactly. A term in at most DEPTH passages is read whole, so on small
# indexes (and for the rare, high-idf terms that decide rankings) the result is exact BM25.
# At 10^5 synthetic passages (bench/results/backends.md) depth 1000 / 2000 / 4000 kept 96% / 98% /
# 99% of the local top 10 at p50 43 / 58 / 76 ms; a pool of 1000 reached 99.8% at 146 ms; ranking
# by an optimistic bound for the cut-off terms instead of the partial sum lost agreement (93%).
KEYWORD_DEPTH, KEYWORD_POOL = 2000, 300

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
        config=config, built_at=record["built_at"], generation=_generation_name(record["index_id"], record["generation"]),
        files=record["files"],
        corpus_root=record.get("corpus_root"), passages_by_lang=record["by_lang"],
        details={"backend": "postgres", "database": location, "vector_index": record["vector_index"]},
    )


def _generation_name(index_id: str, generation: int) -> str:
    """Names a generation uniquely across databases (two indexes both at generation 5 differ), as
    the local backend's generation folders are: `kotae ask` uses a running server only if it
    serves the very generation the CLI would open (service/remote.py)."""
    return f"postgres:{index_id}:{generation}"


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
            # The planner cannot know how many postings a query term has (the terms are a
            # parameter): guessing few, it would read a common term's whole posting list through
            # a bitmap and sort it, instead of the first DEPTH entries of the ordered index.
            cur.execute("SET enable_bitmapscan = off")
        self._stats = _stats(record, location)
        self._avgdl = record["total_length"] / max(record["passages"], 1)

    def stats(self) -> IndexStats:
        return self._stats

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> Matches:
        if k <= 0:
            return Matches.none()
        where, params = _where(filters)
        rows = self._conn.execute(
            f"SELECT id, doc_lang, -(embedding <#> %(q)s), lang FROM kotae_passages WHERE {where} "
            f"ORDER BY embedding <#> %(q)s LIMIT %(k)s",
            {**params, "q": np.asarray(query, dtype=np.float32).reshape(-1), "k": k},
        ).fetchall()
        return Matches(tuple(r[0] for r in rows), np.array([r[2] for r in rows], dtype=np.float32), tuple(r[1] for r in rows),
                       tuple(r[3] for r in rows))

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
        where, params = _where(filters, "p")
        if filters is not None and filters.doc_ids is not None:
            # a few documents: score all their passages, no index needed
            candidates = f"SELECT p.pkey FROM kotae_passages p WHERE {where}"
        else:
            restrict = "" if where == "TRUE" else f"JOIN kotae_passages p ON p.pkey = x.pkey AND {where}"
            candidates = f"""SELECT t.pkey FROM q CROSS JOIN LATERAL (
                    SELECT x.pkey, x.impact FROM kotae_postings x {restrict} WHERE x.term = q.term
                     ORDER BY x.impact DESC, x.pkey LIMIT %(depth)s) t
                 GROUP BY t.pkey ORDER BY sum(q.w * t.impact) DESC, t.pkey LIMIT %(pool)s"""
        rows = self._conn.execute(
            f"""WITH q AS (SELECT * FROM unnest(%(terms)s::text[], %(w)s::float8[]) AS q(term, w)),
                c AS ({candidates})
                SELECT p.id, p.doc_lang, sum(q.w * u.tf / (u.tf + %(k1)s * (1 - %(b)s + %(b)s * p.length / %(avgdl)s))) AS score
                  FROM c JOIN kotae_passages p ON p.pkey = c.pkey CROSS JOIN q
                  -- each query term looked up in the passage's term array (cheaper than unnesting it)
                  CROSS JOIN LATERAL (SELECT p.tfs[array_position(p.terms, q.term)] AS tf) u
                 WHERE u.tf IS NOT NULL
                 GROUP BY p.pkey, p.id, p.doc_lang ORDER BY score DESC, p.pkey LIMIT %(k)s""",
            {**params, "terms": terms, "w": weights, "k1": K1, "b": B, "avgdl": self._avgdl, "k": k,
             "depth": KEYWORD_DEPTH, "pool": max(KEYWORD_POOL, k)},
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
            length int NOT NULL, terms text[] COLLATE "C" NOT NULL, tfs int[] NOT NULL, impacts real[] NOT NULL,
            embedding vector({int(dim)}) NOT NULL)""")
    cur.execute("CREATE INDEX kotae_passages_doc ON kotae_passages (doc_id, ordinal)")
    # Terms compare bytewise (COLLATE "C"): equality is all kotae needs, and locale-aware
    # comparison would slow every index lookup on databases created with another collation.
    cur.execute('CREATE TABLE kotae_postings (term text COLLATE "C" NOT NULL, impact real NOT NULL, pkey bigint NOT NULL)')
    cur.execute('CREATE TABLE kotae_df (term text COLLATE "C" PRIMARY KEY, df int NOT NULL)')


def _create_search_indexes(cur, vector_index: str) -> str:
    """After the first load: building an index once is much faster than inserting row by row into it."""
    # a query term's postings, highest impact first, are one index range (index-only scans)
    cur.execute("CREATE INDEX kotae_postings_impact ON kotae_postings (term, impact DESC, pkey)")
    return _create_vector_index(cur, vector_index)


def _create_vector_index(cur, vector_index: str) -> str:
    if vector_index == "flat":
        return "flat"
    cur.execute(f"CREATE INDEX kotae_passages_hnsw ON kotae_passages USING hnsw (embedding vector_ip_ops) "
                f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")
    return "hnsw"


@dataclass
class _Terms:
    """A passage's keyword terms: term frequencies and length in tokens."""

    tf: Counter
    length: int

    @classmethod
    def of(cls, tokens: list[str]) -> "_Terms":
        # an empty passage counts as one token, as in bm25s
        return cls(Counter(t for t in tokens if t), max(len(tokens), 1))

    def impacts(self, avgdl: float) -> list[float]:
        """Each term's BM25 term-frequency part (the score is idf times it) at ``avgdl``: what
        orders a term's postings. Rounded to float4, exactly as stored, so deletes find the rows."""
        tf = np.fromiter(self.tf.values(), dtype=np.float64, count=len(self.tf))
        return (tf / (tf + K1 * (1 - B + B * self.length / avgdl))).astype(np.float32).tolist()


def _copy_postings(cur, postings: list[tuple[str, float, int]]) -> None:
    with cur.copy("COPY kotae_postings FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["text", "float4", "int8"])
        for row in postings:
            copy.write_row(row)


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
            # A commit acknowledged before its WAL is flushed (a server with synchronous_commit
            # off) leaves its rows without hint bits for a while, so the VACUUM below could not
            # mark their pages all-visible, and every keyword search would visit the heap.
            cur.execute("SET LOCAL synchronous_commit = on")
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
                old = cur.execute("SELECT pkey, terms, impacts, length, lang, doc_lang FROM kotae_passages WHERE doc_id = ANY(%s)",
                                  (gone,)).fetchall()
                for _, terms, _, length, lang, doc_lang in old:
                    df.subtract(terms)
                    counts.add(-1, -length, lang, doc_lang)
                # each posting by its full index key: a common term's whole posting list is never scanned
                cur.execute("DELETE FROM kotae_postings x USING unnest(%s::text[], %s::real[], %s::bigint[]) AS d(term, impact, pkey) "
                            "WHERE x.term = d.term AND x.impact = d.impact AND x.pkey = d.pkey",
                            ([t for _, terms, _, _, _, _ in old for t in terms], [i for _, _, imp, _, _, _ in old for i in imp],
                             [pk for pk, terms, _, _, _, _ in old for _ in terms]))
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
            index_id = secrets.token_hex(4) if rebuild else self._record["index_id"]
            record = {
                "schema": SCHEMA_VERSION, "kotae_version": __version__, "index_id": index_id, "generation": generation,
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
        terms = [[_Terms.of(tokenize(p.embed_text, tokenizer)) for p in passages] for _, passages, _ in docs]
        for doc_terms, (_, passages, _) in zip(terms, docs):
            doc_lang = _main_lang([p.lang for p in passages])
            for t, p in zip(doc_terms, passages):
                df.update(t.tf.keys())
                counts.add(1, t.length, p.lang, doc_lang)
        avgdl = counts.total_length / max(counts.passages, 1)  # after this commit, as the readers will see it
        # pkeys: the single writer (advisory lock) numbers new passages after the largest one
        pkey = cur.execute("SELECT coalesce(max(pkey), 0) FROM kotae_passages").fetchone()[0]
        postings = []
        with cur.copy("COPY kotae_passages (id, pkey, doc_id, ordinal, char_start, char_end, text, section, page, lang, kind, "
                      "context, doc_lang, length, terms, tfs, impacts, embedding) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "int8", "text", "int4", "int4", "int4", "text", "text", "int4", "text", "text", "text", "text",
                            "int4", "text[]", "int4[]", "float4[]", "vector"])
            for doc_terms, (doc, passages, vectors) in zip(terms, docs):
                doc_lang = _main_lang([p.lang for p in passages])
                for t, p, v in zip(doc_terms, passages, vectors):
                    pkey += 1
                    impacts = t.impacts(avgdl)
                    postings.extend(zip(t.tf.keys(), impacts, repeat(pkey)))
                    copy.write_row((passage_id(p.doc_id, p.ordinal), pkey, p.doc_id, p.ordinal, p.char_start, p.char_end, p.text,
                                    p.section, p.page, p.lang, p.kind, p.context, doc_lang, t.length,
                                    list(t.tf.keys()), list(t.tf.values()), impacts, v))
        _copy_postings(cur, postings)

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
        cur.execute("DELETE FROM kotae_df WHERE term = ANY(%s) AND df <= 0", ([t for t, c in changed.items() if c < 0],))

    @staticmethod
    def _retokenize(cur, tokenizer: str) -> int:
        """A new keyword tokenizer: every stored passage's terms again (vectors stay). Returns the
        new total token count."""
        rows = [(pkey, _Terms.of(tokenize(f"{context}\n{text}" if context else text, tokenizer)))
                for pkey, context, text in cur.execute("SELECT pkey, context, text FROM kotae_passages").fetchall()]
        avgdl = sum(t.length for _, t in rows) / max(len(rows), 1)
        df: Counter[str] = Counter()
        updates, postings = [], []
        for pkey, t in rows:
            df.update(t.tf.keys())
            impacts = t.impacts(avgdl)
            updates.append((t.length, list(t.tf.keys()), list(t.tf.values()), impacts, pkey))
            postings.extend(zip(t.tf.keys(), impacts, repeat(pkey)))
        cur.execute("TRUNCATE kotae_df, kotae_postings")
        cur.executemany("UPDATE kotae_passages SET length = %s, terms = %s, tfs = %s, impacts = %s::real[] WHERE pkey = %s", updates)
        _copy_postings(cur, postings)
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
        self._probe = None  # the connection generation() asks over, opened when first needed

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

    def generation(self) -> str | None:
        """Asked of the read database (a replica publishes a generation once it has replayed it),
        over one connection kept for the purpose."""
        import psycopg

        try:
            return self._published()
        except psycopg.OperationalError:  # the kept connection was dropped (a restart, a failover)
            self.close()
            return self._published()

    def _published(self) -> str | None:
        if self._probe is None or self._probe.closed:
            self._probe = _connect(self._read_url)
        with self._probe.cursor() as cur:
            if not _table_exists(cur, "kotae_meta"):
                return None
            # two numbers, not the whole record (its file list grows with the corpus)
            row = cur.execute("SELECT (value->>'schema')::int, value->>'index_id', (value->>'generation')::int FROM kotae_meta "
                              "WHERE key = 'index'").fetchone()
        return _generation_name(row[1], row[2]) if row is not None and row[0] == SCHEMA_VERSION else None

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()

    def corpus_key(self, corpus_dir: Path) -> str:
        """The absolute path: processes on several machines may ingest, so no folder is "beside" the index."""
        return str(Path(corpus_dir).resolve())
