"""ONNX Runtime int8 vs torch for e5 query encoding: speed and gold-set quality (kotae.evals).

    python -m kotae.bench.onnx_quality      # writes bench/results/onnx.json and onnx.md

Same index, same retriever configuration; only the query encoder differs. Quality is measured with
the evaluation engineer's API (``kotae.evals.evaluate``), not with metric code of our own.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from kotae.bench.common import machine, md_table, write_result

REPO = Path(__file__).resolve().parents[1]


class _OnnxQueries:
    """The same embedder with queries encoded by the ONNX int8 session."""

    def __init__(self, inner, encoder):
        self.inner, self.encoder, self.info = inner, encoder, inner.info

    def embed_queries(self, texts):
        return self.encoder.encode([self.inner.prefixes.query + t for t in texts])

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _latency(fn, queries: list[str], runs: int) -> dict[str, float]:
    for q in queries[:3]:
        fn(q)
    medians = []
    for _ in range(runs):
        times = []
        for q in queries:
            t = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t) * 1000)
        medians.append(statistics.median(times))
    return {"median": round(statistics.median(medians), 1), "min": round(min(medians), 1), "max": round(max(medians), 1), "runs": runs}


def run(runs: int = 5) -> dict[str, Any]:
    import numpy as np
    import torch

    from kotae.bench.query import gold_questions
    from kotae.evals import evaluate, load_gold
    from kotae.index.embedders import onnx_query
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    s = load_settings(corpus_dir=REPO / "corpus", index_dir=REPO / ".kotae" / "bench" / "index",
                      cache_dir=REPO / ".kotae" / "cache", query_cache_size=0)
    run_ingest(s, progress=False)
    torch_r = open_retriever(s)
    e = torch_r.embedder
    encoder = onnx_query.load(e.model, Path(e.info.source), e.info.max_tokens, {"model": s.model})
    onnx_r = open_retriever(s)
    onnx_r.embedder = _OnnxQueries(e, encoder)

    qs = gold_questions(20)
    prefixed = [e.prefixes.query + q for q in qs]
    cos = np.sum(encoder.encode(prefixed) * e.embed_queries(qs), axis=1)
    speed = {}
    os_threads = torch.get_num_threads()
    for threads in (os_threads, 1):
        torch.set_num_threads(threads)
        speed[f"torch_{threads}_threads_ms"] = _latency(lambda q: e.embed_queries([q]), qs, runs)
    torch.set_num_threads(os_threads)
    speed["onnx_int8_1_thread_ms"] = _latency(lambda q: encoder.encode([e.prefixes.query + q]), qs, runs)

    gold = load_gold(REPO / "evals" / "gold.jsonl")
    ev = evaluate(gold, {"torch": torch_r, "onnx-int8": onnx_r}, progress=False)
    result = {"benchmark": "onnx-int8 query encoding", "machine": machine(), "speed": speed,
              "cosine_to_torch": {"min": round(float(cos.min()), 4), "mean": round(float(cos.mean()), 4)},
              "quality": ev.means(), "statistics": ev.summary(n_boot=1000, n_perm=2000).get("statistics")}
    result["keep_onnx"] = all(result["quality"]["onnx-int8"][m] >= result["quality"]["torch"][m] - 1e-9
                              for m in ("hit@1", "hit@5", "mrr@10", "ndcg@10"))
    write_result("onnx", result, markdown(result))
    return result


def markdown(r: dict[str, Any]) -> str:
    q = r["quality"]
    metrics = ["hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10", "recall@10"]
    rows = [[name] + [round(q[name][m], 3) for m in metrics] for name in q]
    sp = [[k, v["median"], f"{v['min']}–{v['max']}"] for k, v in r["speed"].items()]
    return "\n".join([
        "# ONNX Runtime int8 vs torch for e5 query encoding", "",
        md_table(["query encoder"] + metrics, rows), "",
        md_table(["one query", "median ms", "spread of run medians"], sp), "",
        f"Cosine of int8 to torch query vectors: min {r['cosine_to_torch']['min']}, mean {r['cosine_to_torch']['mean']}.",
        "", f"Decision: {'keep ONNX int8' if r['keep_onnx'] else 'keep torch as the default (int8 loses quality); ONNX int8 stays available as KOTAE_EMBED_BACKEND=onnx'}.",
    ])


if __name__ == "__main__":
    run()
