"""Ranking metrics per question, computed by ``ranx``, and abstention quality.

Conventions (checked against hand-computed values in tests/test_eval_metrics.py):

- Binary relevance. A question's relevant set is every relevant passage in the index (the
  recall@k and nDCG@10 denominators), not only the retrieved ones.
- The ranking is exactly the order the retriever returned: ranx receives strictly decreasing
  synthetic scores, so retriever score ties can never be re-broken by ranx.
- Missing results count as 0: an empty ranking, or a question with no relevant passage anywhere
  in the index ("unreachable"), scores 0 on every metric.
- Unanswerable questions get no ranking metrics; they are measured by abstention instead.
"""

from __future__ import annotations

import re
import warnings
from typing import Iterable, Mapping, Sequence

from kotae.evals.relevance import normalize

DEFAULT_KS = (1, 3, 5, 10, 20)


def metric_names(ks: Sequence[int]) -> list[str]:
    """Report order: hit@k for every k, recall@k for every k, then MRR@10 and nDCG@10."""
    ks = sorted(set(int(k) for k in ks))
    return [f"hit@{k}" for k in ks] + [f"recall@{k}" for k in ks] + ["mrr@10", "ndcg@10"]


def _ranx_name(name: str) -> str:
    return name.replace("hit@", "hit_rate@")


def ranking_metrics(
    rankings: Mapping[str, Sequence[str]],
    relevant: Mapping[str, Iterable[str]],
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, dict[str, float]]:
    """Per question id, every metric of :func:`metric_names`.

    ``rankings[qid]``: passage ids best first (duplicates after the first are ignored);
    ``relevant[qid]``: ids of all relevant passages. Every qid of ``rankings`` is scored.
    """
    names = metric_names(ks)
    out = {qid: {n: 0.0 for n in names} for qid in rankings}
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for qid, ranked in rankings.items():
        rel = {str(p) for p in relevant.get(qid, ())}
        ranked = list(dict.fromkeys(str(p) for p in ranked))
        if not rel or not ranked or not rel.intersection(ranked):
            continue  # every metric is 0; ranx cannot score empty qrels or runs
        qrels[qid] = {p: 1 for p in rel}
        run[qid] = {p: float(len(ranked) - i) for i, p in enumerate(ranked)}
    if not run:
        return out
    from ranx import Qrels, Run, evaluate

    ranx_run = Run(run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba type-safety chatter
        evaluate(Qrels(qrels), ranx_run, [_ranx_name(n) for n in names], return_mean=False, save_results_in_run=True)
    for name in names:
        for qid, v in ranx_run.scores[_ranx_name(name)].items():
            out[qid][name] = float(v)
    return out


def abstention_metrics(abstained: Mapping[str, bool], unanswerable: Mapping[str, bool]) -> dict[str, float | int | None]:
    """"No answer" as the positive class: precision and recall over all questions.

    precision = abstained and unanswerable / abstained (None when nothing was abstained on);
    recall = abstained and unanswerable / unanswerable (None when there are none);
    false_abstention = abstained on answerable / answerable.
    """
    tp = sum(1 for q, a in abstained.items() if a and unanswerable[q])
    fp = sum(1 for q, a in abstained.items() if a and not unanswerable[q])
    fn = sum(1 for q, a in abstained.items() if not a and unanswerable[q])
    tn = sum(1 for q, a in abstained.items() if not a and not unanswerable[q])
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if precision is not None and recall is not None else None)
    return {
        "unanswerable": tp + fn,
        "abstained": tp + fp,
        "true_abstentions": tp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_abstention": fp / (fp + tn) if fp + tn else None,
    }


# --------------------------------------------------------------------------------------------
# Answer metrics: does the text a user reads state the expected fact?

# ``refused``: the answer said "not found" to an answerable question (1) or answered (0). Kept per
# question like the others, so every group gets its rate with a CI: issue 11 asks that questions
# over documents in the other language (group crosslingual) be refused no more often than the
# same-language ones (monolingual).
ANSWER_METRICS = ("answer@1", "answer@any", "refused")
_CITATION_MARK = re.compile(r"\s*[\[［【]\s*[0-9０-９]+(?:\s*[,，、]\s*[0-9０-９]+)*\s*[\]］】]")


def answer_normalize(text: str) -> str:
    """The contract's comparison (NFKC, white space removed), with `_` read as a space:
    a front-matter key quoted readably ("total funding rounds: 7") still matches a gold
    string copied from the raw line ("total_funding_rounds: 7")."""
    return normalize(text.replace("_", " "))


def answer_sentences(body: str) -> list[str]:
    """The sentences of an answer body (no Sources list), in reading order. A citation
    marker closes the sentence it follows, so a quoted line without final punctuation
    stays one sentence."""
    from kotae.ingest.sentences import split_sentences

    out: list[str] = []
    for piece in _CITATION_MARK.split(body):
        out.extend(piece[s:e] for s, e in split_sentences(piece) if piece[s:e].strip())
    return out


def answer_metrics(body: str, answers: Sequence[str]) -> dict[str, float]:
    """answer@1: a gold answer string occurs in the first sentence of the answer;
    answer@any: anywhere in the answer body."""
    golds = [a for a in (answer_normalize(x) for x in answers) if a]
    sentences = answer_sentences(body)
    first = answer_normalize(sentences[0]) if sentences else ""
    whole = answer_normalize(_CITATION_MARK.sub("", body))
    return {"answer@1": float(any(g in first for g in golds)), "answer@any": float(any(g in whole for g in golds))}
