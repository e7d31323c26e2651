"""Two checkouts of kotae, the same query benchmark in alternating rounds on one machine.

    python -m kotae.bench.ab --against ../kotae-old [--rounds 3] [--name ab]      # make bench-ab AGAINST=...

A throughput of a shared or busy machine moves by more than the few percent two versions differ
by (the same code gave 80.7 to 103.7 req/s at concurrency 16 in one evening), so one run of each
side settles nothing. Here each round runs `python -m kotae.bench.run --only query` once in this
checkout and once in the other (each imports its own code through PYTHONPATH and serves its own
copy of corpus/'s index), the order swapped every round so that neither side always runs on a
warming or cooling machine; the machine's load average is recorded before every run. Reported:
per side the medians over rounds of `/v1/search` throughput at concurrency 1, 4 and 16, `/v1/ask`
at 16, `/v1/search` p50 at concurrency 1 and in-process, the server's CPU per `/v1/search` at 16
(what a throughput rests on, and much less distorted by other processes' load than req/s), and
per round this checkout's c=16 throughput as a share of the other's (bench/results/<name>.json
and .md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from kotae.bench.common import checkout_env, git_commit, machine, md_table, write_result

REPO = Path(__file__).resolve().parents[1]
# (bench.json query path, label): what is compared, throughput in req/s and latency in ms
MEASURES = [
    (("http", "search_c1", "throughput_rps"), "/v1/search c=1 req/s"),
    (("http", "search_c4", "throughput_rps"), "/v1/search c=4 req/s"),
    (("http", "search_c16", "throughput_rps"), "/v1/search c=16 req/s"),
    (("http", "ask_c16", "throughput_rps"), "/v1/ask c=16 req/s"),
    (("http", "search_c1", "latency_ms"), "/v1/search p50 ms, c=1"),
    (("inprocess_search", "latency_ms"), "in-process search p50 ms"),
    # the work behind a throughput, which other processes' load distorts much less than req/s
    (("http", "search_c16", "server_cpu_s_per_request"), "server CPU ms per /v1/search, c=16"),
]
HEADLINE = ("http", "search_c16", "throughput_rps")


def _median_of(query: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = query
    for key in path:
        value = value[key]
    if isinstance(value, dict):
        return float(value["median"])
    return round(float(value) * 1000, 2)  # a CPU time: seconds -> ms


def bench_once(checkout: Path, questions: int) -> dict[str, Any]:
    """One `--only query` run in ``checkout`` (cold start measured once): its bench.json query part."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "kotae.bench.run", "--only", "query", "--cold-runs", "1",
                        "--questions", str(questions), "--out", out],
                       cwd=checkout, env=checkout_env(checkout), check=True, stdout=subprocess.DEVNULL)
        return json.loads((Path(out) / "bench.json").read_text(encoding="utf-8"))["query"]


def run(against: Path, rounds: int, questions: int) -> dict[str, Any]:
    sides = {"this": REPO, "other": against.resolve()}
    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        order = ["other", "this"] if r % 2 == 0 else ["this", "other"]
        for side in order:
            load = [round(x, 2) for x in os.getloadavg()]
            query = bench_once(sides[side], questions)
            runs.append({"round": r + 1, "side": side, "load_avg_before": load,
                         **{label: _median_of(query, path) for path, label in MEASURES}})
            print(f"  round {r + 1}/{rounds} {side}: " + ", ".join(f"{label} {runs[-1][label]}" for _, label in MEASURES[2:5])
                  + f" (load {load[0]})", flush=True)
    medians = {side: {label: round(statistics.median(x[label] for x in runs if x["side"] == side), 2) for _, label in MEASURES}
               for side in sides}
    headline = dict(MEASURES)[HEADLINE]
    per_round = [round(next(x[headline] for x in runs if x["round"] == r and x["side"] == "this")
                       / next(x[headline] for x in runs if x["round"] == r and x["side"] == "other"), 3) for r in range(1, rounds + 1)]
    return {"benchmark": "kotae query path, two checkouts in alternating rounds", "machine": machine(), "rounds": rounds,
            "questions": questions, "checkouts": {side: str(path) for side, path in sides.items()},
            "commits": {side: git_commit(path) for side, path in sides.items()}, "runs": runs, "medians": medians,
            "c16_this_over_other_per_round": per_round,
            "c16_this_over_other": round(medians["this"][headline] / medians["other"][headline], 3)}


def markdown(res: dict[str, Any]) -> str:
    labels = [label for _, label in MEASURES]
    rows = [[x["round"], f"{x['side']} ({res['commits'][x['side']]})", x["load_avg_before"][0], *(x[label] for label in labels)]
            for x in res["runs"]]
    medians = [[f"median, {side} ({res['commits'][side]})", *(res["medians"][side][label] for label in labels)] for side in ("this", "other")]
    m = res["machine"]
    return "\n".join([
        "# Two checkouts, alternating rounds (same machine)", "",
        f"Machine: {m['cpus']} cores ({m['cpu']}); load average at start {m['load_avg_at_start']}. {res['rounds']} rounds, each "
        f"running `python -m kotae.bench.run --only query` ({res['questions']} gold questions) once per checkout, the order "
        "swapped every round; throughputs are the medians of each run's passes.", "",
        md_table(["round", "checkout", "load before", *labels], rows), "",
        md_table(["", *labels], medians), "",
        f"- `/v1/search` c=16 throughput, this ÷ other: **{res['c16_this_over_other']}** (per round "
        f"{', '.join(str(x) for x in res['c16_this_over_other_per_round'])}).",
    ])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="the query benchmark of two checkouts, alternating rounds")
    ap.add_argument("--against", type=Path, required=True, help="the other checkout (a git worktree of kotae)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--name", default="ab", help="result file name in bench/results/")
    a = ap.parse_args(argv)
    res = run(a.against, a.rounds, a.questions)
    write_result(a.name, res, markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
