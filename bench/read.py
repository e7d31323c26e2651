"""Reading speed: ``read_document`` (decode, structure, chunk, clean, language tags, token counts
with the embedder's tokenizer) in MB/s on >= 1 MB of English prose and >= 1 MB of Japanese prose.

English prose: the long descriptions of the Python packages installed beside kotae (their
METADATA files: READMEs written for people), generated here, never committed. Japanese prose:
the Japanese documents of corpus/, repeated as separate documents up to the size.

    python -m kotae.bench.read            # writes bench/results/read.json and read.md
"""

from __future__ import annotations

import argparse
import statistics
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from kotae.bench.common import machine, md_table, summary, write_result

REPO = Path(__file__).resolve().parents[1]
MIN_BYTES = 1_000_000
_DOC_BYTES = 40_000  # documents of a realistic size, not one 1 MB file


def english_documents(min_bytes: int = MIN_BYTES) -> list[bytes]:
    """README text of installed packages, cut into ~40 kB documents, at least ``min_bytes`` in all."""
    texts = []
    for dist in sorted(metadata.distributions(), key=lambda d: d.metadata.get("Name") or ""):
        body = dist.metadata.get_payload() if hasattr(dist.metadata, "get_payload") else None
        body = body or dist.metadata.get("Description") or ""
        if len(body) > 2000 and sum(ch.isascii() for ch in body) > 0.97 * len(body):
            texts.append(body)
    return _cut(texts, min_bytes)


def japanese_documents(corpus: Path = REPO / "corpus", min_bytes: int = MIN_BYTES) -> list[bytes]:
    from kotae.ingest.lang import detect_language

    texts = [p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*")) if p.suffix in (".txt", ".md")]
    texts = [t for t in texts if detect_language(t[:2000]) == "ja"]
    return _cut(texts, min_bytes)


def _cut(texts: list[str], min_bytes: int) -> list[bytes]:
    if not texts:
        raise RuntimeError("no source text for the read benchmark")
    docs, total, i = [], 0, 0
    while total < min_bytes:
        text = texts[i % len(texts)]
        for start in range(0, len(text), _DOC_BYTES):
            piece = text[start : start + _DOC_BYTES].encode("utf-8")
            docs.append(piece)
            total += len(piece)
        i += 1
    return docs


def _read_all(docs: list[bytes], cfg, count_tokens, name: str) -> int:
    from kotae.ingest.discover import SourceFile
    from kotae.ingest.read import read_document

    passages = 0
    for i, data in enumerate(docs):
        source = SourceFile(f"{name}-{i}.md", Path(f"{name}-{i}.md"), "markdown")
        passages += len(read_document(source, data, cfg, count_tokens).passages)
    return passages


def run(runs: int = 5) -> dict[str, Any]:
    from kotae.index.engine import build_config, get_embedder
    from kotae.settings import load_settings

    settings = load_settings()
    cfg = build_config(settings).chunk
    counter = get_embedder(settings.model, settings.cache_dir, settings.embed_backend).count_tokens
    out: dict[str, Any] = {"benchmark": "read_document", "machine": machine(), "runs": runs, "sets": {}}
    for name, docs in (("english", english_documents()), ("japanese", japanese_documents())):
        size = sum(len(d) for d in docs)
        _read_all(docs[:3], cfg, counter, name)  # warm-up
        seconds, cpu, passages = [], [], 0
        for _ in range(runs):
            c, t = time.process_time(), time.perf_counter()
            passages = _read_all(docs, cfg, counter, name)
            seconds.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        med, med_cpu = statistics.median(seconds), statistics.median(cpu)
        # Reading is single-threaded: on a busy machine wall time counts other processes' turns,
        # CPU time (MB per CPU-second) is what an idle machine's wall time would be.
        out["sets"][name] = {"documents": len(docs), "bytes": size, "passages": passages, "seconds": summary(seconds, 3),
                             "cpu_seconds": summary(cpu, 3), "mb_per_s": round(size / 1e6 / med, 3),
                             "mb_per_cpu_s": round(size / 1e6 / med_cpu, 3), "target_mb_per_s": 1.0, "met": size / 1e6 / med >= 1.0}
        print(f"  {name}: {size / 1e6:.2f} MB in {med:.2f} s = {size / 1e6 / med:.2f} MB/s ({size / 1e6 / med_cpu:.2f} MB per CPU-s)", flush=True)
    return out


def markdown(res: dict[str, Any]) -> str:
    rows = [[name, s["documents"], f"{s['bytes'] / 1e6:.2f}", s["passages"], s["seconds"]["median"],
             f"{s['seconds']['min']}–{s['seconds']['max']}", s["mb_per_s"], s["mb_per_cpu_s"], "met" if s["met"] else "missed"]
            for name, s in res["sets"].items()]
    m = res["machine"]
    return "\n".join([
        "# read_document speed", "",
        f"Machine: {m['cpus']} cores ({m['cpu']}); load average at start {m['load_avg_at_start']}. "
        f"{res['runs']} runs after a warm-up; token counts with the embedder's tokenizer included.", "",
        md_table(["prose", "documents", "MB", "passages", "wall s (median)", "spread", "MB/s (wall)", "MB per CPU-s", "target ≥ 1 MB/s (wall)"], rows),
    ])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args(argv)
    res = run(a.runs)
    write_result("read", res, markdown(res))


if __name__ == "__main__":
    main()
