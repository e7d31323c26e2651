"""Abstention: is the answer in the documents at all?

A question whose best evidence scores below a threshold calibrated on the gold set's
unanswerable questions gets ``SearchResult.found = False``. The signal combines the best raw
dense cosine among the hits (how close the closest passage is in meaning) with the best
sentence's idf-weighted share of the question's terms (whether the specific names, numbers
and terms asked about occur together anywhere).
"""

from __future__ import annotations

from typing import Sequence

# Weight of the lexical part of the signal; chosen with the threshold (evals/reports/).
LEXICAL_WEIGHT = 0.02


def abstain_signal(hits: Sequence, lexical_weight: float | None = None) -> float:
    lexical_weight = LEXICAL_WEIGHT if lexical_weight is None else lexical_weight
    dense = max((h.scores.get("dense", 0.0) for h in hits), default=0.0)
    lexical = max((h.scores.get("sentence", 0.0) for h in hits), default=0.0)
    return float(dense + lexical_weight * lexical)


# Thresholds on abstain_signal calibrated per embedder (cosine scales differ between models);
# evals/reports/hybrid-ablation.md. Chosen as the highest recall of "not found" with at most
# 3% of answerable questions wrongly abstained on: a wrong "not found" costs the user more
# than a weak answer with its sources shown. An embedder without one never abstains.
CALIBRATED: dict[str, float] = {"e5-small": 0.8229}


def calibrated_threshold(model: str) -> float | None:
    return CALIBRATED.get(model)
