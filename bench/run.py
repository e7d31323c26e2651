"""`make bench`: ingest, query path (HTTP + in-process), scale; JSON + Markdown in bench/results/.

    python -m kotae.bench.run                      # everything, the committed reference run
    python -m kotae.bench.run --only query         # one part
    python -m kotae.bench.run --scale-sizes 1000000 --scale-profile 1m   # make bench-scale-1m
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from kotae.bench import common, ingest, query, scale

REPO = Path(__file__).resolve().parents[1]
# ingest: corpus/; ingest-en: English prose (bench/ingest.py english_corpus); query: the query path
PARTS = ["ingest", "ingest-en", "query", "scale"]
_KEYS = {"ingest": "ingest", "ingest-en": "ingest_en", "query": "query"}  # part -> bench.json key


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="kotae benchmarks")
    ap.add_argument("--only", choices=PARTS, action="append", help="run only these parts (repeatable)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs after a warm-up, for every timing")
    ap.add_argument("--questions", type=int, default=40, help="gold questions per query pass")
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--ingest-runs", type=int, default=None, help="default: --runs")
    ap.add_argument("--ingest-docs", type=int, default=None, help="ingest only the first N corpus files (default: all)")
    ap.add_argument("--scale-sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--scale-profile", default="default", choices=["default", "1m", "tiny"])
    ap.add_argument("--scale-name", default="scale")
    ap.add_argument("--out", type=Path, default=common.RESULTS)
    a = ap.parse_args(argv)
    parts = a.only or PARTS

    from kotae.settings import load_settings

    work = REPO / ".kotae" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    settings = load_settings(corpus_dir=REPO / "corpus", index_dir=work / "index", cache_dir=REPO / ".kotae" / "cache")
    started = time.time()
    result: dict[str, Any] = {"benchmark": "kotae", "machine": common.machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                              "settings": {"model": settings.model, "retrieval_mode": settings.retrieval_mode,
                                           "embed_batch_size": settings.embed_batch_size, "vector_index": settings.vector_index,
                                           "embed_backend": getattr(settings, "embed_backend", "torch")}}
    prior = a.out / "bench.json"
    if a.only and prior.is_file():  # keep the other parts of the last full run
        old = json.loads(prior.read_text(encoding="utf-8"))
        result.update({_KEYS[p]: old[_KEYS[p]] for p in _KEYS if p not in parts and _KEYS[p] in old})
    md = ["# kotae benchmark", ""]
    if "ingest" in parts:
        print("ingest", flush=True)
        ingest_settings = settings
        if a.ingest_docs:
            import shutil

            subset = work / "ingest-corpus"
            shutil.rmtree(subset, ignore_errors=True)
            subset.mkdir()
            for f in sorted(p for p in settings.corpus_dir.iterdir() if p.is_file())[: a.ingest_docs]:
                shutil.copy2(f, subset / f.name)
            ingest_settings = settings.replace(corpus_dir=subset)
        result["ingest"] = ingest.run(ingest_settings, work, runs=a.ingest_runs or a.runs)
        result["ingest"]["documents"] = len([p for p in ingest_settings.corpus_dir.iterdir() if p.is_file()])
    if "ingest-en" in parts:
        print("ingest, English prose", flush=True)
        en_settings = settings.replace(corpus_dir=ingest.english_corpus(work / "ingest-corpus-en"))
        result["ingest_en"] = ingest.run(en_settings, work, runs=a.ingest_runs or a.runs, name="ingest-en")
        result["ingest_en"]["documents"] = len([p for p in en_settings.corpus_dir.iterdir() if p.is_file()])
    if "query" in parts:
        from kotae.index.engine import run_ingest

        print("query path", flush=True)
        run_ingest(settings, progress=False)  # the served index (incremental: cheap when current)
        result["query"] = query.run(settings, query.gold_questions(a.questions), runs=a.runs, cold_runs=a.cold_runs)
    m = result["machine"]
    md.append(f"Machine: {m['cpus']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, no GPU, Python {m['python']}; "
              f"load average at start {m['load_avg_at_start']} (a shared machine: medians and same-run ratios, not single numbers).")
    md.append("")
    if "ingest" in result:
        md += ["## Ingest", "", ingest.markdown(result["ingest"]), ""]
    if "ingest_en" in result:
        md += ["## Ingest, English prose", "", ingest.markdown(result["ingest_en"], "English prose: the first pages of the Debian "
                                                                 "Administrator's Handbook, as in the mixed ja+en set"), ""]
    if "query" in result:
        md += ["## Query path", "", query.markdown(result["query"]), ""]
    if "scale" in parts:
        print("scale", flush=True)
        scale.run(a.scale_sizes, runs=a.runs, profile=a.scale_profile, name=a.scale_name, out_dir=a.out)
    md += ["## Scale", "", f"See [{a.scale_name}.md]({a.scale_name}.md) (10⁴ and 10⁵ synthetic passages; 10⁶ in scale-1m.md when run).", ""]
    result["seconds"] = round(time.time() - started, 1)
    if set(parts) & set(_KEYS) or not prior.is_file():
        common.write_result("bench", result, "\n".join(md), a.out)
    print(f"done in {result['seconds']} s")


if __name__ == "__main__":
    main()
