"""Abstention: is the answer in the documents at all?

A question whose best evidence scores below a threshold calibrated on both gold sets (the
published gold questions with their unanswerable ones, the Japanese devset with the
unanswerable questions of evals/devset-unanswerable.jsonl) gets ``SearchResult.found = False``,
and ``/v1/ask`` says that nothing in the documents answers it. The signal combines:

- the best raw dense cosine among the hits (how close the closest passage is in meaning),
  raised by CROSS_LINGUAL_OFFSET for a passage in another language than the question's:
  the embedder rates a relevant passage in the other language lower than one in the same
  language, and without the offset a Japanese-document answer to an English question would
  be refused more often than the same answer to a Japanese question;
- the best answer unit's coverage of the question's content terms (index/rerank.py):
  whether the specific names, numbers and terms asked about occur together anywhere.

Keyword-only retrieval has no dense side: its signal is the coverage alone, with its own
threshold.
"""

from __future__ import annotations

from typing import Sequence

# Weight of the lexical part of the signal; chosen with the threshold (evals/reports/).
LEXICAL_WEIGHT = 0.02
CROSS_LINGUAL_OFFSET = 0.03


def _coverage(hits: Sequence) -> float:
    units = [u.coverage for h in hits for u in getattr(h, "units", ())]
    if units:
        return max(units)
    return max((h.scores.get("sentence", 0.0) for h in hits), default=0.0)


def abstain_signal(hits: Sequence, lang: str | None = None, lexical_weight: float | None = None) -> float:
    lexical_weight = LEXICAL_WEIGHT if lexical_weight is None else lexical_weight
    dense = [h.scores["dense"] + (CROSS_LINGUAL_OFFSET if lang is not None and h.lang != lang else 0.0)
             for h in hits if "dense" in h.scores]
    if not dense:
        return float(_coverage(hits))
    return float(max(dense) + lexical_weight * _coverage(hits))


# Thresholds on abstain_signal calibrated per embedder (cosine scales differ between models)
# on evals/gold.jsonl and the devset together. Chosen as the highest recall of "not found"
# with at most 5% of answerable questions wrongly abstained on, in each language and across
# languages: a wrong "not found" costs the user more than a weak answer with its sources
# shown. An embedder without one never abstains. Re-calibrated for the "auto" chunking
# (settings.py): paragraph passages move the cosines, and every threshold from 0.81 to 0.84
# catches the same unanswerable questions; 0.8375 wrongly abstains on at most 1.6% of a group.
CALIBRATED: dict[str, float] = {"e5-small": 0.8375}
# Keyword-only retrieval: the coverage of the question's content terms.
KEYWORD_THRESHOLD = 0.35


def calibrated_threshold(model: str, mode: str = "hybrid") -> float | None:
    if mode == "keyword":
        return KEYWORD_THRESHOLD
    return CALIBRATED.get(model)
