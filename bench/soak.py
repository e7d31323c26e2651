"""Soak: a real `kotae serve` under sustained mixed load — searches, asks and a few uploads —
at concurrency 16 for ten minutes. Passes when there are 0 errors and the server's RSS stays
within 10% of its level after warm-up.

    python -m kotae.bench.soak                       # 600 s, concurrency 16 (the committed run)
    python -m kotae.bench.soak --seconds 60          # a quick look

The server works on a copy of corpus/ and of the benchmark index (so uploads change nothing
in the repo). Questions come from the gold set; uploads are small generated .md files
(one about every 30 s, by one of the 16 workers at a time), each deleted again after the
next upload so the corpus does not grow. Loopback traffic only. Writes
bench/results/soak.json and soak.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from kotae.bench import common
from kotae.bench.query import Server, gold_questions

REPO = Path(__file__).resolve().parents[1]
RSS_TOLERANCE = 0.10


def _server_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _upload_body(n: int) -> bytes:
    return (f"# Soak upload {n}\n\nThe soak test uploaded document number {n} while searches kept running. "
            f"Its marker word is soakmarker{n}.\n").encode()


async def _load(url: str, pid: int, seconds: float, concurrency: int, warmup: float, questions: list[str],
                upload_every: float, seed: int) -> dict[str, Any]:
    import httpx

    rng = random.Random(seed)
    stats: dict[str, list[float]] = {"search": [], "ask": [], "upload": [], "delete": []}
    errors: list[str] = []
    rss: list[tuple[float, float]] = []
    started = time.monotonic()
    deadline = started + seconds
    next_upload = started + min(upload_every, seconds / 4)
    upload_lock = asyncio.Lock()
    uploaded: list[str] = []
    counter = {"uploads": 0}

    async def call(client, op: str, method: str, path: str, **kw) -> None:
        t = time.perf_counter()
        try:
            r = await client.request(method, path, **kw)
            if r.status_code >= 300:
                errors.append(f"{op} {r.status_code}: {r.text[:200]}")
                return
        except httpx.HTTPError as exc:
            errors.append(f"{op}: {exc!r}"[:200])
            return
        stats[op].append((time.perf_counter() - t) * 1000)

    async def worker(client) -> None:
        nonlocal next_upload
        while time.monotonic() < deadline:
            if time.monotonic() >= next_upload and not upload_lock.locked():
                async with upload_lock:
                    next_upload = time.monotonic() + upload_every
                    n = counter["uploads"] = counter["uploads"] + 1
                    doc_id = f"soak/upload-{n}.md"
                    await call(client, "upload", "POST", "/v1/documents",
                               files={"file": (f"upload-{n}.md", _upload_body(n), "text/markdown")}, data={"doc_id": doc_id})
                    if uploaded:
                        await call(client, "delete", "DELETE", f"/v1/documents/{uploaded.pop()}")
                    uploaded.append(doc_id)
                continue
            q = rng.choice(questions)
            if rng.random() < 0.7:
                await call(client, "search", "POST", "/v1/search", json={"query": q, "k": 5})
            else:
                await call(client, "ask", "POST", "/v1/ask", json={"question": q, "k": 5})

    async def sampler() -> None:
        while time.monotonic() < deadline:
            rss.append((round(time.monotonic() - started, 1), round(_server_rss_mb(pid), 1)))
            await asyncio.sleep(5)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await asyncio.gather(sampler(), *(worker(client) for _ in range(concurrency)))
        for doc_id in uploaded:  # leave the copy of the corpus as it was
            await call(client, "delete", "DELETE", f"/v1/documents/{doc_id}")
    wall = time.monotonic() - started

    after = [m for t, m in rss if t >= warmup]
    baseline = statistics.median(after[: max(1, len(after) // 10)]) if after else float("nan")
    peak = max(after) if after else float("nan")
    final = after[-1] if after else float("nan")
    ops = {op: {"count": len(v), **(common.summary(v, 1) if v else {})} for op, v in stats.items()}
    total = sum(len(v) for v in stats.values())
    return {
        "seconds": round(wall, 1), "concurrency": concurrency, "warmup_s": warmup,
        "requests": total, "throughput_rps": round(total / wall, 2),
        "errors": len(errors), "error_samples": errors[:10],
        "ops": ops,
        "rss_mb": {"after_warmup": baseline, "peak_after_warmup": peak, "final": final,
                   "max_growth_pct": round((peak / baseline - 1) * 100, 2) if after else None,
                   "timeline": rss},
        "pass": not errors and bool(after) and peak <= baseline * (1 + RSS_TOLERANCE),
    }


def run(seconds: float = 600, concurrency: int = 16, warmup: float = 60, upload_every: float = 30,
        questions: int = 151, seed: int = 0) -> dict[str, Any]:
    from kotae.index.engine import run_ingest
    from kotae.settings import load_settings

    work = REPO / ".kotae" / "bench" / "soak"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    cache = REPO / ".kotae" / "cache"
    bench_index = REPO / ".kotae" / "bench" / "index"
    shutil.copytree(REPO / "corpus", work / "corpus")
    if bench_index.is_dir():
        shutil.copytree(bench_index, work / "index", ignore=shutil.ignore_patterns(".lock", ".build-*"))
    run_ingest(load_settings(corpus_dir=work / "corpus", index_dir=work / "index", cache_dir=cache), progress=False)
    server = Server(work / "index", cache, work / "corpus")
    try:
        ready_s = server.wait_ready()
        result = asyncio.run(_load(server.url, server.proc.pid, seconds, concurrency, warmup,
                                   gold_questions(questions), upload_every, seed))
        result["cold_start_s"] = round(ready_s, 1)
        result["server_cpu_s"] = round(server.cpu_seconds(), 1)
    finally:
        server.stop()
    return result


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    r = res["rss_mb"]
    rows = [[op, v["count"], v.get("median", "–"), v.get("p95", "–"), v.get("p99", "–"), v.get("max", "–")] for op, v in res["ops"].items()]
    timeline = ", ".join(f"{t:.0f}s {mb:.0f}" for t, mb in r["timeline"][:: max(1, len(r["timeline"]) // 20)])
    return "\n".join([
        "# Soak: sustained mixed load on `kotae serve`",
        "",
        f"**{'PASS' if res['pass'] else 'FAIL'}** — {res['seconds']:.0f} s at concurrency {res['concurrency']}: "
        f"{res['requests']} requests ({res['throughput_rps']} req/s), **{res['errors']} errors**; server RSS "
        f"{r['after_warmup']:.0f} MB after a {res['warmup_s']:.0f} s warm-up, peak {r['peak_after_warmup']:.0f} MB "
        f"(+{r['max_growth_pct']}%, limit +{RSS_TOLERANCE * 100:.0f}%), {r['final']:.0f} MB at the end.",
        "",
        f"Machine: {m['cpus']} cores ({m['cpu']}), {m['memory_gb']} GB RAM; load average at start {m['load_avg_at_start']} "
        "(a shared machine: latencies include other people's work).",
        "Mix: 70% `/v1/search`, 30% `/v1/ask` (extractive, no LLM), gold-set questions; one upload "
        "(`POST /v1/documents`, incremental ingest with the real model while searches continue) about every "
        "30 s, and the previous upload deleted.",
        "",
        common.md_table(["operation", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows),
        "",
        f"RSS timeline (s MB): {timeline}",
        "",
        "Errors: " + ("none" if not res["error_samples"] else "; ".join(res["error_samples"])),
        "",
        "Reproduce: `python -m kotae.bench.soak` (`make bench-soak`).",
    ])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="kotae soak benchmark")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--warmup", type=float, default=60)
    ap.add_argument("--upload-every", type=float, default=30)
    ap.add_argument("--out", type=Path, default=common.RESULTS)
    ap.add_argument("--name", default="soak")
    a = ap.parse_args(argv)
    result = {"benchmark": "soak", "machine": common.machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    result.update(run(a.seconds, a.concurrency, min(a.warmup, a.seconds / 3), a.upload_every))
    js, md = common.write_result(a.name, result, markdown(result), a.out)
    print(f"{'PASS' if result['pass'] else 'FAIL'}: {result['requests']} requests, {result['errors']} errors, "
          f"RSS +{result['rss_mb']['max_growth_pct']}% -> {md}")


if __name__ == "__main__":
    main()
