"""The sentence of a passage that best answers the question, as [start, end] in its text."""

from __future__ import annotations

from kotae.index.tokenize import tokenize
from kotae.ingest.sentences import split_sentences


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        spans.extend((pos + s, pos + e) for s, e in split_sentences(line))
        pos += len(line) + 1
    return spans or [(0, len(text))]


def best_sentence(text: str, query_tokens: set[str]) -> tuple[int, int]:
    """Highest share of the query's keyword tokens found in the sentence; the first
    sentence when nothing matches (passages usually open with their topic)."""
    best, best_score = None, 0.0
    for s, e in sentence_spans(text):
        tokens = set(tokenize(text[s:e]))
        if not tokens:
            continue
        score = len(tokens & query_tokens) / (len(query_tokens) or 1)
        if score > best_score:
            best, best_score = (s, e), score
    return best or sentence_spans(text)[0]
