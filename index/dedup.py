"""Near-duplicate collapse for the top-k.

The same fact copied into several documents, or overlapping chunks of one document, should not
fill the top-k with copies. Passages are compared by character-bigram shingles of their
normalised text (works for Japanese and English alike); a passage whose shingles are mostly
contained in a better-ranked kept passage is moved behind all non-duplicates (so nothing is
lost when k is large, but the first k show k different things).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from kotae.index.tokenize import normalize

_SPACE = re.compile(r"\s+")


# The same passages come back query after query: their shingles were a fifth of a search's
# CPU after encoding the query.
@lru_cache(maxsize=8192)
def shingles(text: str) -> frozenset[str]:
    t = _SPACE.sub("", normalize(text))
    if len(t) < 2:
        return frozenset([t]) if t else frozenset()
    return frozenset(t[i : i + 2] for i in range(len(t) - 1))


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / min(|a|, |b|): 1.0 when the smaller is inside the larger."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


@lru_cache(maxsize=16_384)
def _text_containment(a: str, b: str) -> float:
    """containment() of two passages' shingles, cached like the shingles: the same pairs of
    passages are compared again for every question that retrieves both."""
    return containment(shingles(a), shingles(b))


def collapse(texts: Sequence[str], threshold: float) -> tuple[list[int], list[int | None]]:
    """Order (indices into `texts`, already ranked best first) with near-duplicates moved
    behind the rest, and for each input the index of the kept passage it duplicates (or None)."""
    kept: list[int] = []
    dups: list[int] = []
    dup_of: list[int | None] = [None] * len(texts)
    for i in range(len(texts)):
        for j in kept:
            if _text_containment(texts[i], texts[j]) >= threshold:
                dup_of[i] = j
                break
        (dups if dup_of[i] is not None else kept).append(i)
    return kept + dups, dup_of
