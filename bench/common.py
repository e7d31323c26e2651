"""Helpers every benchmark shares: repeated timings, summaries, machine facts, result files.

Every timing is taken after a warm-up and repeated (``runs`` ≥ 5 by default); results report the
median and the spread (min / max of the per-run values, plus p95 / p99 where a run has many
samples), never a single number.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty list."""
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: list[float], ndigits: int = 3) -> dict[str, float | int]:
    """Median, p95, p99, min, max and count of a list of samples."""
    if not values:
        return {"n": 0}
    return {
        "median": round(statistics.median(values), ndigits),
        "p95": round(percentile(values, 95), ndigits),
        "p99": round(percentile(values, 99), ndigits),
        "min": round(min(values), ndigits),
        "max": round(max(values), ndigits),
        "n": len(values),
    }


def repeat(fn: Callable[[], Any], runs: int = 5, warmup: int = 1) -> list[float]:
    """Seconds per call of ``fn`` for ``runs`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def rss_mb() -> float:
    """Current resident set size of this process, MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_gb,
        "gpu": None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def checkout_env(checkout: Path) -> dict[str, str]:
    """The environment that makes a subprocess import kotae from ``checkout`` (another version
    of the code, e.g. a git worktree at an older commit): PYTHONPATH names a folder holding a
    ``kotae`` link to it, kept in the checkout's ignored .kotae/ folder."""
    folder = Path(checkout).resolve() / ".kotae" / "import"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "kotae"
    if not link.is_symlink():
        link.symlink_to(Path(checkout).resolve(), target_is_directory=True)
    return {**os.environ, "PYTHONPATH": str(folder)}


def git_commit(checkout: Path) -> str | None:
    """The short commit id a checkout is at, with "-dirty" when its tracked files differ from it
    (None outside git)."""
    done = subprocess.run(["git", "-C", str(checkout), "describe", "--always", "--dirty", "--abbrev=7"],
                          capture_output=True, text=True)
    return done.stdout.strip() or None


def write_result(name: str, data: dict[str, Any], markdown: str, out_dir: Path | None = None) -> tuple[Path, Path]:
    out_dir = Path(out_dir or RESULTS)
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / f"{name}.json"
    md = out_dir / f"{name}.md"
    js.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    md.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    return js, md


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
