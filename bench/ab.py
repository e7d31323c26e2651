"""Concurrency-16 throughput of two checkouts of kotae on one machine, in interleaved bursts.

    python -m kotae.bench.ab --against ../kotae-old [--cycles 8] [--name ab-c16]   # make bench-ab AGAINST=...

A throughput of a shared or busy machine moves by more than the few percent two versions differ
by: the same code gave 80.7 to 103.7 req/s at concurrency 16 in one evening, and whole benchmark
runs of the two versions taken in turns (minutes apart) still disagreed round by round (results
in README Performance). So both servers run at once, each importing its own checkout's code
(bench/common.checkout_env) and serving this checkout's index of corpus/ (the same data), idle
but for their turn; a cycle sends each of them one burst of `/v1/search` requests at concurrency
16 (the gold questions, several times over; a few seconds), the order swapped every cycle, so
that load changes hit both sides within seconds of each other. Reported per side: the median
throughput over cycles and the server's CPU per request (what a throughput rests on, much less
distorted by other processes than req/s), and per cycle this checkout's throughput as a share of
the other's (bench/results/<name>.json and .md). Every response must be a 200.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path
from typing import Any

from kotae.bench.common import git_commit, machine, md_table, write_result

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = 16
REPEAT = 4  # each burst sends the gold questions this many times


def _burst(server, bodies: list[dict]) -> tuple[float, float]:
    """(req/s, server CPU ms per request) of one burst at CONCURRENCY."""
    from kotae.bench.query import drive

    cpu = server.cpu_seconds()
    _, errors, wall, samples = drive(server.url, "/v1/search", bodies, CONCURRENCY)
    if errors:
        raise RuntimeError(f"{errors} failed requests at concurrency {CONCURRENCY}: {samples}")
    return len(bodies) / wall, (server.cpu_seconds() - cpu) * 1000 / len(bodies)


def run(against: Path, cycles: int, questions: int) -> dict[str, Any]:
    from kotae.bench.query import Server, gold_questions
    from kotae.index.engine import run_ingest
    from kotae.settings import load_settings

    settings = load_settings(corpus_dir=REPO / "corpus", index_dir=REPO / ".kotae" / "bench" / "index", query_cache_size=0)
    run_ingest(settings, progress=False)  # the served index (incremental: cheap when current)
    checkouts = {"this": REPO, "other": against.resolve()}
    servers = {side: Server(settings.index_dir, settings.cache_dir, settings.corpus_dir, checkout=None if side == "this" else path)
               for side, path in checkouts.items()}
    bodies = [{"query": q, "k": 5} for q in gold_questions(questions)] * REPEAT
    cycles_out: list[dict[str, Any]] = []
    try:
        for server in servers.values():
            server.wait_ready()
            _burst(server, bodies[:CONCURRENCY * 4])  # warm-up
        for c in range(cycles):
            order = ["other", "this"] if c % 2 == 0 else ["this", "other"]
            row: dict[str, Any] = {"cycle": c + 1, "load_avg": round(os.getloadavg()[0], 2)}
            for side in order:
                rps, cpu_ms = _burst(servers[side], bodies)
                row[side] = {"rps": round(rps, 1), "server_cpu_ms_per_request": round(cpu_ms, 2)}
            row["this_over_other"] = round(row["this"]["rps"] / row["other"]["rps"], 3)
            cycles_out.append(row)
            print(f"  cycle {c + 1}/{cycles}: this {row['this']['rps']} req/s, other {row['other']['rps']} req/s "
                  f"(load {row['load_avg']})", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    sides = {side: {"rps_median": round(statistics.median(r[side]["rps"] for r in cycles_out), 1),
                    "rps_min": min(r[side]["rps"] for r in cycles_out), "rps_max": max(r[side]["rps"] for r in cycles_out),
                    "server_cpu_ms_per_request_median": round(statistics.median(r[side]["server_cpu_ms_per_request"] for r in cycles_out), 2)}
             for side in checkouts}
    return {"benchmark": f"/v1/search at concurrency {CONCURRENCY}, two checkouts in interleaved bursts", "machine": machine(),
            "cycles": cycles, "requests_per_burst": len(bodies), "checkouts": {s: str(p) for s, p in checkouts.items()},
            "commits": {s: git_commit(p) for s, p in checkouts.items()}, "per_cycle": cycles_out, "sides": sides,
            "this_over_other_median": round(statistics.median(r["this_over_other"] for r in cycles_out), 3),
            "load_avg_range": [min(r["load_avg"] for r in cycles_out), max(r["load_avg"] for r in cycles_out)]}


def markdown(res: dict[str, Any]) -> str:
    m, c = res["machine"], res["commits"]
    rows = [[r["cycle"], r["load_avg"], r["this"]["rps"], r["other"]["rps"], r["this_over_other"],
             r["this"]["server_cpu_ms_per_request"], r["other"]["server_cpu_ms_per_request"]] for r in res["per_cycle"]]
    sides = [[f"{side} ({c[side]})", s["rps_median"], f"{s['rps_min']}-{s['rps_max']}", s["server_cpu_ms_per_request_median"]]
             for side, s in res["sides"].items()]
    return "\n".join([
        "# Concurrency-16 throughput of two checkouts, interleaved bursts (same machine)", "",
        f"Machine: {m['cpus']} cores ({m['cpu']}); load average {res['load_avg_range'][0]}-{res['load_avg_range'][1]} during the "
        f"run. Both servers up at once on the same index of corpus/; {res['cycles']} cycles, each one burst of "
        f"{res['requests_per_burst']} `/v1/search` requests at concurrency {CONCURRENCY} to each, the order swapped every cycle; "
        f"this = {res['checkouts']['this']} (`{c['this']}`), other = {res['checkouts']['other']} (`{c['other']}`).", "",
        md_table(["cycle", "load", "this req/s", "other req/s", "this ÷ other", "this server CPU ms/request",
                  "other server CPU ms/request"], rows), "",
        md_table(["checkout", "median req/s", "range", "median server CPU ms/request"], sides), "",
        f"- this ÷ other, median of the per-cycle ratios: **{res['this_over_other_median']}**.",
    ])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="c=16 throughput of two checkouts, interleaved bursts")
    ap.add_argument("--against", type=Path, required=True, help="the other checkout (e.g. a git worktree of an older commit)")
    ap.add_argument("--cycles", type=int, default=8)
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--name", default="ab-c16", help="result file name in bench/results/")
    a = ap.parse_args(argv)
    res = run(a.against, a.cycles, a.questions)
    write_result(a.name, res, markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
