"""Ingest: passages/s and characters/s of the whole pipeline (read, chunk, embed, write FAISS +
BM25 + SQLite, publish) against the embedder alone on the same passages, and the peak RSS of a
`kotae ingest` process.

Pipeline and embedder-alone runs alternate (after one warm-up of each), so they see the same load.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kotae.bench.common import md_table, summary


def _passage_texts(index_dir: Path) -> list[str]:
    from kotae.index.backends.local import LocalBackend

    backend = LocalBackend(index_dir).open()
    try:
        return [s.passage.embed_text for d in backend.documents() for s in backend.document_passages(d["doc_id"])]
    finally:
        backend.close()


def peak_rss_of_cli(corpus: Path, index_dir: Path, cache_dir: Path) -> dict[str, float]:
    """One `kotae ingest --rebuild` process from scratch: wall seconds and peak RSS (MB)."""
    exe = Path(sys.executable).with_name("kotae")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-c", "import sys; from kotae.service.cli import main; sys.exit(main())"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    # stderr goes to a file, not a pipe: nobody reads a pipe while waiting, and a full one
    # (64 KiB of warnings) would block the child forever
    with tempfile.TemporaryFile() as log:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd + ["ingest", str(corpus), "--index", str(index_dir), "--cache-dir", str(cache_dir), "--rebuild", "--quiet"],
                                env=env, stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        if status != 0:
            log.seek(0)
            raise RuntimeError(f"kotae ingest failed: {log.read().decode(errors='replace')[-2000:]}")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


# About the size of corpus/ (78k characters): the two ingest benchmarks take alike long.
ENGLISH_CHARS = 80_000


def english_corpus(dest: Path, min_chars: int = ENGLISH_CHARS) -> Path:
    """An English prose corpus for the ingest benchmark: the first pages (in file-name order) of
    *The Debian Administrator's Handbook* until ``min_chars``, as the mixed ja+en evaluation set
    makes them (evals/sets/mixed.py; Debian package debian-handbook)."""
    from kotae.evals.sets.mixed import handbook_documents

    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    total = 0
    for name, text in handbook_documents().items():
        (dest / name).write_text(text, encoding="utf-8")
        total += len(text)
        if total >= min_chars:
            break
    return dest


def run(settings, work_dir: Path, runs: int = 5, name: str = "ingest") -> dict[str, Any]:
    from kotae.index.engine import get_embedder, run_ingest

    index_dir = work_dir / f"{name}-index"
    shutil.rmtree(index_dir, ignore_errors=True)
    s = settings.replace(index_dir=index_dir)
    run_ingest(s, rebuild=True, progress=False)  # warm-up (loads the model)
    texts = _passage_texts(index_dir)
    chars = sum(len(t) for t in texts)
    embedder = get_embedder(s.model, s.cache_dir)
    embedder.embed_passages(texts[:64], batch_size=s.embed_batch_size)  # warm-up
    pipeline, embed_only, embed_in_pipeline = [], [], []
    for r in range(runs):
        report = run_ingest(s, rebuild=True, progress=False)
        pipeline.append(report.seconds)
        embed_in_pipeline.append(report.embed_seconds)
        t = time.perf_counter()
        embedder.embed_passages(texts, batch_size=s.embed_batch_size)
        embed_only.append(time.perf_counter() - t)
        print(f"  ingest round {r + 1}/{runs}: pipeline {pipeline[-1]:.1f} s (embedding {embed_in_pipeline[-1]:.1f} s), "
              f"embedder alone {embed_only[-1]:.1f} s for {len(texts)} passages", flush=True)
    # Same-round ratios, then their median: robust to load changing between rounds.
    ratios = [e / p for p, e in zip(pipeline, embed_only)]
    n = len(texts)
    cli = peak_rss_of_cli(s.corpus_dir, work_dir / f"{name}-index-cli", s.cache_dir)
    shutil.rmtree(work_dir / f"{name}-index-cli", ignore_errors=True)
    med_p, med_e = statistics.median(pipeline), statistics.median(embed_only)
    return {
        "passages": n,
        "characters": chars,
        "runs": runs,
        "pipeline_s": summary(pipeline, 2),
        "pipeline_embedding_s": summary(embed_in_pipeline, 2),
        "embedder_alone_s": summary(embed_only, 2),
        "pipeline_passages_per_s": round(n / med_p, 2),
        "pipeline_chars_per_s": round(chars / med_p, 1),
        "embedder_passages_per_s": round(n / med_e, 2),
        "embedder_chars_per_s": round(chars / med_e, 1),
        "pipeline_over_embedder": {"median": round(statistics.median(ratios), 3), "min": round(min(ratios), 3), "max": round(max(ratios), 3)},
        "cli_cold": cli,
        "target": {"pipeline_over_embedder": ">= 0.9", "met": statistics.median(ratios) >= 0.9},
    }


def markdown(res: dict[str, Any], corpus: str = "corpus/") -> str:
    rows = [
        ["whole pipeline (read, chunk, embed, write, publish)", res["pipeline_s"]["median"], f"{res['pipeline_s']['min']}–{res['pipeline_s']['max']}",
         res["pipeline_passages_per_s"], res["pipeline_chars_per_s"]],
        ["embedder alone, same passages", res["embedder_alone_s"]["median"], f"{res['embedder_alone_s']['min']}–{res['embedder_alone_s']['max']}",
         res["embedder_passages_per_s"], res["embedder_chars_per_s"]],
    ]
    r = res["pipeline_over_embedder"]
    return "\n".join([
        f"{res['passages']} passages, {res['characters']:,} characters ({corpus}), {res['runs']} alternating runs after a warm-up.",
        "",
        md_table(["", "s (median)", "spread", "passages/s", "chars/s"], rows),
        "",
        f"- Pipeline ÷ embedder throughput (same round, median): **{r['median']}** (min {r['min']}, max {r['max']}; target ≥ 0.9: "
        f"{'met' if res['target']['met'] else 'missed'}).",
        f"- `kotae ingest --rebuild` as a fresh process (model load included): {res['cli_cold']['wall_s']} s, peak RSS {res['cli_cold']['peak_rss_mb']} MB.",
    ])
