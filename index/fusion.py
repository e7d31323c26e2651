"""Combine ranked lists from the dense and keyword sides into one ranking."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ranked:
    rows: np.ndarray  # best first
    scores: np.ndarray


def reciprocal_rank_fusion(lists: dict[str, Ranked], weights: dict[str, np.ndarray | float], k: int = 60) -> dict[int, float]:
    """RRF: sum over lists of weight / (k + rank). A weight may be an array over rows,
    which is how the keyword side is down-weighted per passage language."""
    fused: dict[int, float] = {}
    for name, ranked in lists.items():
        w = weights.get(name, 1.0)
        for rank, row in enumerate(ranked.rows.tolist(), start=1):
            weight = float(w[row]) if isinstance(w, np.ndarray) else float(w)
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return fused


def weighted_score_fusion(lists: dict[str, Ranked], weights: dict[str, np.ndarray | float]) -> dict[int, float]:
    """Scores min-max normalised within each list, then a weighted sum; absent = 0."""
    fused: dict[int, float] = {}
    for name, ranked in lists.items():
        if len(ranked.scores) == 0:
            continue
        lo, hi = float(ranked.scores.min()), float(ranked.scores.max())
        span = hi - lo or 1.0
        w = weights.get(name, 1.0)
        for row, score in zip(ranked.rows.tolist(), ranked.scores.tolist()):
            weight = float(w[row]) if isinstance(w, np.ndarray) else float(w)
            fused[row] = fused.get(row, 0.0) + weight * (score - lo) / span
    return fused
