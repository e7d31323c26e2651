"""ONNX int8 on both sides: passages *and* queries embedded by the dynamically quantised e5,
against today's float32 (passages by torch, queries by ONNX float32), on one gold set.

Issue 14 asked whether int8 applied consistently keeps quality within 0.5 point hit@1; if so it
would be offered as an ingest option with its measured speed-up. int8 *queries* against float32
passages had lost 5 points hit@5 (results/onnx.md); this measures the consistent variant.

    python -m kotae.bench.int8            # writes bench/results/int8.json and int8.md

Both indexes are built from scratch from the same corpus by the same ingest; only the embedder
differs, so their ingest CPU-seconds compare the two embedders' work.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from kotae.bench.common import machine, md_table, write_result

REPO = Path(__file__).resolve().parents[1]
METRICS = ("hit@1", "hit@5", "mrr@10")


def _int8_passages(embedder) -> None:
    """Embed passages with the int8 graph the query encoder already runs (same tokenizer,
    truncation, pooling and prefixes), instead of torch float32."""
    embedder._encode = lambda texts: embedder.query_encoder.encode(list(texts))


def run(corpus: Path, gold: Path) -> dict[str, Any]:
    from kotae.evals import evaluate, load_gold
    from kotae.index.engine import get_embedder, open_retriever, run_ingest
    from kotae.settings import load_settings

    work = REPO / ".kotae" / "bench"
    variants = {"float32 (default)": ("auto", work / "int8" / "float32"), "int8 both sides": ("onnx-int8", work / "int8" / "int8")}
    questions = load_gold(gold)
    out: dict[str, Any] = {"benchmark": "ONNX int8 on passages and queries", "machine": machine(), "corpus": str(corpus),
                           "gold": str(gold), "variants": {}}
    for name, (backend, index) in variants.items():
        shutil.rmtree(index, ignore_errors=True)
        settings = load_settings(corpus_dir=corpus, index_dir=index, embed_backend=backend, query_cache_size=0)
        embedder = get_embedder(settings.model, settings.cache_dir, backend)
        if backend == "onnx-int8":
            _int8_passages(embedder)
        cpu, wall = time.process_time(), time.perf_counter()
        report = run_ingest(settings, progress=False, replace_corpus=True)
        row = {"passages": report.passages, "embedded": report.embedded,
               "ingest_cpu_s": round(time.process_time() - cpu, 2), "ingest_wall_s": round(time.perf_counter() - wall, 2)}
        means = evaluate(questions, {name: open_retriever(settings)}, progress=False).means()[name]
        row.update({m: round(means[m], 3) for m in METRICS})
        out["variants"][name] = row
        print(f"  {name}: {row}", flush=True)
    base, int8 = out["variants"]["float32 (default)"], out["variants"]["int8 both sides"]
    out["ingest_cpu_ratio"] = round(int8["ingest_cpu_s"] / base["ingest_cpu_s"], 2)
    out["delta_hit@1_points"] = round((int8["hit@1"] - base["hit@1"]) * 100, 1)
    out["decision"] = "offered as an option" if out["delta_hit@1_points"] >= -0.5 else "not offered: loses more than 0.5 point hit@1"
    return out


def markdown(r: dict[str, Any]) -> str:
    rows = [[name, v["passages"], v["embedded"], v["ingest_cpu_s"]] + [v[m] for m in METRICS] for name, v in r["variants"].items()]
    m = r["machine"]
    return "\n".join([
        "# ONNX int8 on both sides (passages and queries)", "",
        f"Machine: {m['cpus']} cores ({m['cpu']}); load average at start {m['load_avg_at_start']}. Corpus `{Path(r['corpus']).name}/`, "
        f"questions `{Path(r['gold']).name}`; same ingest, only the embedder differs.", "",
        md_table(["variant", "passages", "embedded", "ingest CPU-s"] + list(METRICS), rows), "",
        f"- hit@1 change: **{r['delta_hit@1_points']} points** → {r['decision']}.",
        f"- Ingest CPU, int8 ÷ float32: **{r['ingest_cpu_ratio']}**.",
    ])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="ONNX int8 on passages and queries vs float32")
    ap.add_argument("--corpus", type=Path, default=REPO / "corpus")
    ap.add_argument("--gold", type=Path, default=REPO / "evals" / "gold.jsonl")
    a = ap.parse_args(argv)
    res = run(a.corpus, a.gold)
    write_result("int8", res, markdown(res))


if __name__ == "__main__":
    main()
