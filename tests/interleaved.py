"""Run one function on several threads at once, switching between them as often as possible, so
that a race in a shared cache (two threads evicting the same entry) shows up in a test."""

from __future__ import annotations

import sys
import threading
from typing import Callable


def run_interleaved(target: Callable[[int], None], threads: int) -> None:
    """``target(seed)`` on ``threads`` threads (seeds 0..threads-1), with a tiny switch interval."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        running = [threading.Thread(target=target, args=(seed,)) for seed in range(threads)]
        for t in running:
            t.start()
        for t in running:
            t.join()
    finally:
        sys.setswitchinterval(interval)
