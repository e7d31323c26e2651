"""Abstention: is the answer in the documents at all?

A question whose evidence scores below a threshold calibrated on both gold sets (the
published gold questions with their unanswerable ones, the Japanese devset with the
unanswerable questions of evals/devset-unanswerable.jsonl) gets ``SearchResult.found = False``,
and ``/v1/ask`` says that nothing in the documents answers it.

The unanswerable questions that matter sit close to the documents' topics: the company is
there, its net income is not ("Mistral AIの2025年度の純利益は？"). The closest passage's dense
cosine barely separates them (it is about the company either way). What does, computed over
the top EVIDENCE_DEPTH passages whatever ``k`` the caller asked for:

- ``missing``: the idf-weighted share of the question's content terms found in none of them
  (the thing asked about is not mentioned);
- ``typed_coverage``: the best answer unit's share of the question's terms, among units that
  hold the kind of thing asked for (index/answer_type.py: an amount for いくら / how much, a
  date for いつ / when); among all units when the question expects no particular kind.

Both read words. A question on another subject altogether ("What is the boiling point of
liquid nitrogen?" over Japanese company reports) can share no word at all with the passages,
and then neither says anything: the closest passage's dense cosine does (``dense``, raised by
CROSS_LINGUAL_OFFSET for a passage in another language than the question's, which the
embedder rates lower), below DENSE_FLOOR the question is not answered whatever the words.
Keyword-only retrieval has no cosine and decides on the words alone. (The spread of the dense
cosines among the passages was tried as a further signal and caught nothing more; the best
cosine alone, the previous signal, caught 7 of the 50 unanswerable questions.)

A question in one language over documents in the other shares few words with them, so
``missing`` is large for it whether or not the answer is there: only its numbers count then
(index/rerank.py, ``SentenceScorer.evidence``; names are often transliterated, ヤマハ for Yamaha),
which halved the refusals of cross-language questions on the mixed ja+en set (30 of 84 → 14)
without changing gold's. The dense floor's offset stays 0.03: 0.06 let every cross-language
answer through there, but then "What is the boiling point of liquid nitrogen?" over corpus/
(best cosine 0.784) was answered too: e5's cosine does not separate the two.
"""

from __future__ import annotations

from dataclasses import dataclass

# Passages of the "auto" chunking (settings.py) are paragraphs, shorter than the 400-character
# chunks this was first calibrated on: 7 of them cover about as much text as 5 did (at 5, an
# English question over the Japanese reports lacked its names in the evidence 7% of the time).
EVIDENCE_DEPTH = 7


@dataclass(frozen=True)
class Evidence:
    missing: float
    typed_coverage: float
    dense: float | None = None  # best cosine (+ offset across languages); None without a dense side


CROSS_LINGUAL_OFFSET = 0.03


# Weights and thresholds chosen together on evals/gold.jsonl and the devset with
# evals/devset-unanswerable.jsonl (687 questions, 50 unanswerable): the highest recall of "not
# found" with at most 5% of the answerable questions wrongly refused in each group (gold
# same-language, gold cross-lingual, devset). A wrong "not found" costs the user more than a
# weak answer with its sources shown.
TYPED_WEIGHT = 0.75
THRESHOLD = 0.705  # re-chosen by the same rule for the "auto" passages (was 0.7147 on "size" ones)
DENSE_FLOOR = 0.815  # just under the lowest best cosine of an answerable question (0.819)


def abstain_signal(evidence: Evidence) -> float:
    """Higher = stronger evidence that the documents answer the question: the word evidence
    (from 0, every term missing and nothing typed, to 1 + TYPED_WEIGHT), or the cosine shifted
    onto that scale when it is the weaker one. KOTAE_ABSTAIN_THRESHOLD=0 never abstains."""
    words = 1.0 + TYPED_WEIGHT * evidence.typed_coverage - evidence.missing
    if evidence.dense is None:
        return words
    return min(words, evidence.dense - DENSE_FLOOR + THRESHOLD)


def calibrated_threshold(model: str, mode: str = "hybrid") -> float | None:
    """The threshold (calibrated with e5-small; the signal reads the retrieved passages'
    words, not the embedder's scores, so it holds for the other models and for keyword-only
    retrieval too)."""
    return THRESHOLD
