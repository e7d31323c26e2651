"""Query path: a real `kotae serve` on loopback under an async httpx load generator, and the
same searches in-process in the same run, so HTTP overhead is a ratio, not a guess.

- cold start: process start → `/readyz` 200, ``cold_runs`` times (fresh processes);
- in-process: ``Retriever.search`` (and search + extractive answer for /v1/ask) on the same
  questions, per-stage timings from ``SearchResult.timings`` and CPU-seconds per query;
- HTTP: `/v1/search` and `/v1/ask` at concurrency 1, 4, 16: p50/p95/p99 latency, throughput,
  errors, and the server's CPU-seconds per request.

In-process passes and HTTP c=1 search passes alternate, so both see the same machine load.
The query-embedding cache is switched off (``KOTAE_QUERY_CACHE_SIZE=0``) on both sides, so every
query pays for its encoding; one extra pass measures the cached path. Questions come from the
gold set (evals/gold.jsonl). Only loopback traffic; every loop is bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kotae.bench.common import checkout_env, md_table, summary

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "evals" / "gold.jsonl"
CONCURRENCY = (1, 4, 16)


def gold_questions(count: int, path: Path = GOLD) -> list[str]:
    """``count`` questions spread evenly over the gold file (both languages, every type)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    qs = [r["question"] for r in rows]
    if count >= len(qs):
        return qs
    step = len(qs) / count
    return [qs[int(i * step)] for i in range(count)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kotae_command() -> list[str]:
    script = Path(sys.executable).with_name("kotae")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from kotae.service.cli import main; sys.exit(main())"]


def server_env(index_dir: Path, cache_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "KOTAE_INDEX_DIR": str(index_dir), "KOTAE_CACHE_DIR": str(cache_dir), "KOTAE_HOST": "127.0.0.1",
        "KOTAE_PORT": str(port), "KOTAE_QUERY_CACHE_SIZE": "0", "KOTAE_LLM_BASE_URL": "", "KOTAE_API_KEY": "",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
    })
    return env


class Server:
    """One `kotae serve` process on a free loopback port."""

    def __init__(self, index_dir: Path, cache_dir: Path, corpus_dir: Path, checkout: Path | None = None):
        """``checkout``: serve another checkout's code (bench/common.checkout_env) instead of this one's."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.started = time.perf_counter()
        # The server's log goes to a file: a pipe nobody reads fills up (64 kB of access-log lines)
        # and then blocks the server's event loop on its next log write.
        self.log = tempfile.TemporaryFile()
        env = server_env(index_dir, cache_dir, self.port)
        if checkout is not None:
            env["PYTHONPATH"] = checkout_env(checkout)["PYTHONPATH"]
        self.proc = subprocess.Popen(_kotae_command() + ["serve", "--corpus", str(corpus_dir)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.log)

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds from process start to the first /readyz 200."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"kotae serve exited with {self.proc.returncode}: {self.log.read().decode(errors='replace')[-2000:]}")
            try:
                r = httpx.get(self.url + "/readyz", timeout=2)
                if r.status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"kotae serve not ready after {timeout} s")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


async def _drive(url: str, path: str, bodies: list[dict], concurrency: int) -> tuple[list[float], int, float, list[str]]:
    """Send every body once with ``concurrency`` workers; (latencies ms, errors, wall s, error samples)."""
    import httpx

    queue: asyncio.Queue = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    latencies: list[float] = []
    errors: list[str] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while True:
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t = time.perf_counter()
            try:
                r = await client.post(path, json=body)
                ok = r.status_code == 200
                if not ok:
                    errors.append(f"{r.status_code}: {r.text[:200]}")
            except httpx.HTTPError as exc:
                ok = False
                errors.append(repr(exc)[:200])
            if ok:
                latencies.append((time.perf_counter() - t) * 1000)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        t = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t
    return latencies, len(errors), wall, errors[:3]


def drive(url: str, path: str, bodies: list[dict], concurrency: int):
    return asyncio.run(_drive(url, path, bodies, concurrency))


def _bodies(endpoint: str, questions: list[str], k: int) -> list[dict]:
    key = "query" if endpoint == "search" else "question"
    return [{key: q, "k": k} for q in questions]


def inprocess_pass(retriever, questions: list[str], k: int, ask: bool = False) -> dict[str, Any]:
    """One pass over the questions: wall ms per query, stage timings, CPU-seconds per query."""
    from kotae.service.answer import extractive_answer

    walls, stages = [], {}
    cpu0 = time.process_time()
    for q in questions:
        t = time.perf_counter()
        result = retriever.search(q, k=k)
        if ask:
            extractive_answer(q, result)
        walls.append((time.perf_counter() - t) * 1000)
        for name, ms in result.timings.items():
            stages.setdefault(name, []).append(ms)
    cpu = time.process_time() - cpu0
    return {"wall_ms": walls, "stages": stages, "cpu_s_per_query": cpu / len(questions)}


def run(settings, questions: list[str], runs: int = 5, cold_runs: int = 5, k: int = 5, corpus_dir: Path | None = None) -> dict[str, Any]:
    from kotae.index.engine import open_retriever

    corpus_dir = corpus_dir or settings.corpus_dir
    out: dict[str, Any] = {"questions": len(questions), "k": k, "runs": runs, "concurrency": list(CONCURRENCY)}

    # Cold start: fresh processes; the last one stays up for the load test.
    cold, server = [], None
    for i in range(cold_runs):
        server = Server(settings.index_dir, settings.cache_dir, corpus_dir)
        cold.append(server.wait_ready())
        print(f"  cold start {i + 1}/{cold_runs}: {cold[-1]:.2f} s", flush=True)
        if i < cold_runs - 1:
            server.stop()
    out["cold_start_s"] = summary(cold, 2)

    try:
        retriever = open_retriever(settings.replace(query_cache_size=0))
        search_bodies = _bodies("search", questions, k)
        # Warm-up, both sides.
        inprocess_pass(retriever, questions[:5], k)
        drive(server.url, "/v1/search", search_bodies[:5], 1)

        inproc_runs, http_c1 = [], []
        for r in range(runs):
            inproc_runs.append(inprocess_pass(retriever, questions, k))
            lat, errs, wall, samples = drive(server.url, "/v1/search", search_bodies, 1)
            http_c1.append((lat, errs, wall, samples))
            print(f"  round {r + 1}/{runs}: in-process p50 {statistics.median(inproc_runs[-1]['wall_ms']):.1f} ms, "
                  f"HTTP c=1 p50 {statistics.median(lat) if lat else float('nan'):.1f} ms, errors {errs}", flush=True)
        walls = [ms for run_ in inproc_runs for ms in run_["wall_ms"]]
        run_medians = [statistics.median(run_["wall_ms"]) for run_ in inproc_runs]
        stages = {name: summary([ms for run_ in inproc_runs for ms in run_["stages"].get(name, [])], 2)
                  for name in inproc_runs[0]["stages"]}
        cpu_per_query = statistics.median(run_["cpu_s_per_query"] for run_ in inproc_runs)
        out["inprocess_search"] = {"latency_ms": {**summary(walls, 2), "median": round(statistics.median(run_medians), 2),
                                                  "run_median_min": round(min(run_medians), 2), "run_median_max": round(max(run_medians), 2)},
                                   "stages_ms": stages, "cpu_s_per_query": round(cpu_per_query, 4)}
        ask_runs = [inprocess_pass(retriever, questions, k, ask=True) for _ in range(runs)]
        ask_medians = [statistics.median(a["wall_ms"]) for a in ask_runs]
        out["inprocess_ask"] = {"latency_ms": {**summary([ms for a in ask_runs for ms in a["wall_ms"]], 2),
                                               "median": round(statistics.median(ask_medians), 2)},
                                "cpu_s_per_query": round(statistics.median(a["cpu_s_per_query"] for a in ask_runs), 4)}
        # The cached path: same questions again with the LRU on.
        cached = open_retriever(settings.replace(query_cache_size=1024))
        inprocess_pass(cached, questions, k)
        cached_runs = [inprocess_pass(cached, questions, k) for _ in range(runs)]
        out["inprocess_search_cached"] = {"latency_ms": summary([ms for c in cached_runs for ms in c["wall_ms"]], 2)}

        http: dict[str, Any] = {}
        for endpoint in ("search", "ask"):
            bodies = _bodies(endpoint, questions, k)
            for c in CONCURRENCY:
                if endpoint == "search" and c == 1:
                    results = http_c1
                    cpu_per_req = None
                else:
                    drive(server.url, f"/v1/{endpoint}", bodies[: max(5, c)], c)  # warm-up
                    results, cpu0 = [], server.cpu_seconds()
                    for _ in range(runs):
                        results.append(drive(server.url, f"/v1/{endpoint}", bodies, c))
                    cpu_per_req = (server.cpu_seconds() - cpu0) / (runs * len(bodies))
                lat = [ms for res in results for ms in res[0]]
                tput = [len(res[0]) / res[2] for res in results]
                p50s = [statistics.median(res[0]) for res in results if res[0]]
                http[f"{endpoint}_c{c}"] = {
                    "endpoint": f"/v1/{endpoint}", "concurrency": c, "requests": runs * len(bodies),
                    "errors": sum(res[1] for res in results), "error_samples": [s for res in results for s in res[3]][:3],
                    "latency_ms": {**summary(lat, 2), "median": round(statistics.median(p50s), 2) if p50s else None,
                                   "run_median_min": round(min(p50s), 2) if p50s else None, "run_median_max": round(max(p50s), 2) if p50s else None},
                    "throughput_rps": {"median": round(statistics.median(tput), 2), "min": round(min(tput), 2), "max": round(max(tput), 2)},
                    "server_cpu_s_per_request": round(cpu_per_req, 4) if cpu_per_req is not None else None,
                }
                h = http[f"{endpoint}_c{c}"]
                print(f"  HTTP /v1/{endpoint} c={c}: p50 {h['latency_ms']['median']} ms p95 {h['latency_ms']['p95']} ms, "
                      f"{h['throughput_rps']['median']} req/s, errors {h['errors']}", flush=True)
        out["http"] = http
    finally:
        if server is not None:
            server.stop()

    # Targets.
    cores = os.cpu_count() or 1
    inproc_p50 = out["inprocess_search"]["latency_ms"]["median"]
    http_p50 = out["http"]["search_c1"]["latency_ms"]["median"]
    cpu_q = out["inprocess_search"]["cpu_s_per_query"]
    ceiling = cores / cpu_q if cpu_q else None
    c16 = out["http"]["search_c16"]
    out["targets"] = {
        "search_p50_http_over_inprocess": {"value": round(http_p50 / inproc_p50, 3), "target": "<= 1.15",
                                           "met": http_p50 / inproc_p50 <= 1.15},
        "search_c16_throughput": {"value_rps": c16["throughput_rps"]["median"], "cpu_s_per_query": cpu_q,
                                  "ideal_rps": round(ceiling, 2) if ceiling else None,
                                  "ratio": round(c16["throughput_rps"]["median"] / ceiling, 3) if ceiling else None,
                                  "target": ">= 0.8 x (cores / CPU-s per query), 0 errors",
                                  "met": bool(ceiling) and c16["throughput_rps"]["median"] >= 0.8 * ceiling and c16["errors"] == 0},
    }
    return out


def markdown(res: dict[str, Any]) -> str:
    lines = [f"Questions: {res['questions']} from the gold set, k={res['k']}, {res['runs']} runs after a warm-up; "
             f"query-embedding cache off on both sides.", ""]
    ip = res["inprocess_search"]
    lines.append(f"Cold start of `kotae serve` (process start → /readyz 200): median {res['cold_start_s']['median']} s "
                 f"(min {res['cold_start_s']['min']}, max {res['cold_start_s']['max']}, n={res['cold_start_s']['n']}).")
    lines.append("")
    lines.append("In-process search, per stage (ms):")
    lines.append("")
    lines.append(md_table(["stage", "p50", "p95", "max"],
                          [[name, s.get("median"), s.get("p95"), s.get("max")] for name, s in ip["stages_ms"].items()]))
    lines.append("")
    rows = [["in-process search", 1, ip["latency_ms"]["median"], ip["latency_ms"]["p95"], ip["latency_ms"]["p99"], "", 0],
            ["in-process search, cached query vector", 1, res["inprocess_search_cached"]["latency_ms"]["median"],
             res["inprocess_search_cached"]["latency_ms"]["p95"], res["inprocess_search_cached"]["latency_ms"]["p99"], "", 0],
            ["in-process ask (extractive)", 1, res["inprocess_ask"]["latency_ms"]["median"], res["inprocess_ask"]["latency_ms"]["p95"],
             res["inprocess_ask"]["latency_ms"]["p99"], "", 0]]
    for h in res["http"].values():
        t = h["throughput_rps"]
        rows.append([f"HTTP {h['endpoint']}", h["concurrency"], h["latency_ms"]["median"], h["latency_ms"]["p95"], h["latency_ms"]["p99"],
                     f"{t['median']} ({t['min']}–{t['max']})", h["errors"]])
    lines.append(md_table(["path", "concurrency", "p50 ms", "p95 ms", "p99 ms", "req/s (spread)", "errors"], rows))
    lines.append("")
    t = res["targets"]
    a, b = t["search_p50_http_over_inprocess"], t["search_c16_throughput"]
    lines.append(f"- `/v1/search` p50 at c=1 ÷ in-process p50 = **{a['value']}** (target ≤ 1.15: {'met' if a['met'] else 'missed'}).")
    lines.append(f"- c=16 throughput {b['value_rps']} req/s vs 2 cores ÷ {b['cpu_s_per_query']} CPU-s per query = {b['ideal_rps']} req/s: "
                 f"ratio **{b['ratio']}** (target ≥ 0.8 with 0 errors: {'met' if b['met'] else 'missed'}).")
    return "\n".join(lines)
