"""Combine ranked lists from the dense and keyword sides into one ranking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np


@dataclass(frozen=True)
class Ranked:
    ids: tuple[str, ...]  # passage ids, best first
    scores: np.ndarray


Weight = Mapping[str, float] | float


def reciprocal_rank_fusion(lists: dict[str, Ranked], weights: dict[str, Weight], k: int = 60) -> dict[str, float]:
    """RRF: sum over lists of weight / (k + rank). A weight may be a mapping passage id -> weight,
    which is how the keyword side is down-weighted per passage language."""
    fused: dict[str, float] = {}
    for name, ranked in lists.items():
        w = weights.get(name, 1.0)
        for rank, pid in enumerate(ranked.ids, start=1):
            weight = float(w[pid]) if isinstance(w, Mapping) else float(w)
            fused[pid] = fused.get(pid, 0.0) + weight / (k + rank)
    return fused


def weighted_score_fusion(lists: dict[str, Ranked], weights: dict[str, Weight]) -> dict[str, float]:
    """Scores min-max normalised within each list, then a weighted sum; absent = 0."""
    fused: dict[str, float] = {}
    for name, ranked in lists.items():
        if len(ranked.scores) == 0:
            continue
        lo, hi = float(ranked.scores.min()), float(ranked.scores.max())
        span = hi - lo or 1.0
        w = weights.get(name, 1.0)
        for pid, score in zip(ranked.ids, ranked.scores.tolist()):
            weight = float(w[pid]) if isinstance(w, Mapping) else float(w)
            fused[pid] = fused.get(pid, 0.0) + weight * (score - lo) / span
    return fused
