"""The alternative keyword side issue 12 asked to measure: PostgreSQL's own full-text search over
the same tokens — a ``tsvector`` per passage built from kotae's terms and their frequencies (no
parsing, no dictionary: the ``simple`` behaviour), a GIN index, and ``ts_rank`` — against the
postings BM25 that the postgres backend uses (index/backends/postgres.py).

It lives in bench/, not in the backend: it is measured, not used (ts_rank has no idf, so a common
term counts as much as a rare one; bench/results/backends.md shows what that does to the ranking).
"""

from __future__ import annotations

import time

TABLE = "kotae_bench_tsv"


def build(conn) -> float:
    """(Re)creates the tsvector table from the passages' stored terms; returns seconds taken."""
    t = time.perf_counter()
    conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    # 'term':1,2,..,tf : a lexeme with tf positions is what ts_rank counts as tf occurrences
    # (at most 256 positions per lexeme are kept, as in to_tsvector)
    conn.execute(f"""
        CREATE TABLE {TABLE} AS SELECT p.pkey, (
            SELECT coalesce(string_agg('''' || replace(replace(u.term, '\\', '\\\\'), '''', '''''') || ''':'
                   || (SELECT string_agg(g::text, ',') FROM generate_series(1, least(u.tf, 256)) g), ' '), '')
              FROM unnest(p.terms, p.tfs) AS u(term, tf))::tsvector AS tsv
          FROM kotae_passages p""")
    conn.execute(f"CREATE INDEX {TABLE}_gin ON {TABLE} USING gin (tsv)")
    conn.execute(f"VACUUM (ANALYZE) {TABLE}")
    return time.perf_counter() - t


def _query(tokens: list[str]) -> str:
    """An OR of the query's terms as tsquery text (any term may match, as in BM25)."""
    terms = sorted({t for t in tokens if t})
    return " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)


def search(conn, tokens: list[str], k: int, normalization: int = 0) -> list[str]:
    """Passage ids of the k best ``ts_rank`` matches."""
    query = _query(tokens)
    if not query:
        return []
    rows = conn.execute(
        f"""SELECT p.id FROM (
              SELECT v.pkey, ts_rank(v.tsv, q, %(norm)s) AS r FROM {TABLE} v, CAST(%(q)s AS tsquery) q
               WHERE v.tsv @@ q ORDER BY r DESC, v.pkey LIMIT %(k)s) s
            JOIN kotae_passages p ON p.pkey = s.pkey ORDER BY s.r DESC, s.pkey""",
        {"q": query, "k": k, "norm": normalization},
    ).fetchall()
    return [r[0] for r in rows]
