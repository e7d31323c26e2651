"""Which answer unit is quoted first: a learned combination of the units' cheap features against
the hand-set sum of service/answer.py, and the hand-set constants re-tuned, all validated
leave-one-set-out (issue 11).

    python -m kotae.evals.unit_ranking [--out evals/reports/unit-ranking]

About 40 minutes on two busy cores, most of it the re-tuning (each trial answers the 1,019
questions again, ~3 s). For every answerable question of the suite's sets (gold, ja-jaquad,
mixed-ja-en, mixed-small, on their pre-built suite indexes; nothing is embedded but the questions)
it searches as ``/v1/ask`` does (``k=5``) and keeps the second stage's candidates.

1. A dump: one feature row per unit ``extractive_answer`` could quote first
   (``service.answer._candidates``), with two labels, the unit holds a gold answer string anywhere /
   in its first sentence, compared as ``answer@1`` does (NFKC, no white space). The first quote is the
   candidate of highest score, so a ranking's answer@1 on the dump is the first-sentence label of its
   best candidate: with the hand-set score it is ``kotae eval --suite``'s answer@1 to the question.
2. Learned models: conditional logit ("which unit of the question holds the answer", softmax over
   the question's units), fitted by damped Newton from zero (deterministic), on all standardised
   features or as corrections around the hand-set score (its score x a temperature as an offset);
   and each single feature added to the hand-set score with the weight that maximises answer@1 itself.
3. The hand-set constants (GRID) re-tuned jointly by coordinate ascent, scoring the units again and
   composing the answers with the real code.

Each is chosen on three sets and tested on the fourth; the held-out set's questions are left out of
the training sets (mixed-small holds gold's questions). Nothing here is used at query time:
evals/reports/answers.md says why.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from kotae.evals.metrics import answer_metrics, answer_normalize, answer_sentences
from kotae.index.rerank import Candidate, SentenceScorer
from kotae.index.search import SearchResult

REPO = Path(__file__).resolve().parents[1]
SETS = ("gold", "ja-jaquad", "mixed-ja-en", "mixed-small")
# Per unit: what the scorer already computes (index/rerank.py ScoredUnit), its kind and place in
# the passage, and the passage's retrieval evidence (service/answer.py).
FEATURES = ("score", "overlap", "relevance", "coverage", "typed", "field", "row", "label", "position", "first",
            "log_chars", "gap_to_best", "best", "next_to_best", "digit", "untyped_when_expected", "key_share",
            "prior", "same_lang", "inverse_rank", "dense_gap", "sentence_gap", "overlap_other_lang")
# (name, features used, temperature of the hand-set score's offset or None, L2 weight)
MODELS = (
    ("logit, all features, l2 0.1", FEATURES, None, 0.1),
    ("logit, all features, l2 1", FEATURES, None, 1.0),
    ("logit, all features, l2 10", FEATURES, None, 10.0),
    ("hand sum + corrections, T 5, l2 0.01", FEATURES[1:], 5.0, 0.01),
    ("hand sum + corrections, T 5, l2 0.1", FEATURES[1:], 5.0, 0.1),
    ("hand sum + corrections, T 10, l2 0.01", FEATURES[1:], 10.0, 0.01),
    ("hand sum + corrections, T 10, l2 0.1", FEATURES[1:], 10.0, 0.1),
)


@dataclass
class QuestionRows:
    question: str
    features: np.ndarray  # (units, FEATURES)
    holds: np.ndarray  # a gold answer string anywhere in the unit
    first: np.ndarray  # ... in its first sentence, as answer@1 reads it
    hand: np.ndarray  # the hand-set score the answer is composed with
    order: list[tuple[int, int]]  # (passage, start): extractive_answer's tie-break


def unit_rows(question: str, hits: Sequence, answers: Sequence[str]) -> QuestionRows:
    """Features and labels of every unit ``extractive_answer`` could quote first."""
    from kotae.index.answer_type import expected_type
    from kotae.ingest.lang import detect_language
    from kotae.service.answer import _candidates, _retrieval_prior

    candidates = _candidates(question, hits)
    expects = expected_type(question) is not None
    lang = detect_language(question)
    dense_max = max((h.scores.get("dense", 0.0) for h in hits), default=0.0)
    sentence_max = max((h.scores.get("sentence", 0.0) for h in hits), default=0.0)
    golds = [g for g in (answer_normalize(a) for a in answers) if g]
    rows, holds, first, hand, order = [], [], [], [], []
    for i in sorted({c.hit_index for c in candidates}):
        own = sorted((c for c in candidates if c.hit_index == i), key=lambda c: c.unit.unit.start)
        top_score = max(c.unit.score for c in own)
        best_at = next((k for k, c in enumerate(own) if c.best_of_passage), -2)
        hit = hits[i]
        same = float(hit.lang == lang)
        for k, c in enumerate(own):
            u = c.unit
            rows.append([u.score, u.overlap, u.relevance, u.coverage, float(u.typed), float(u.unit.kind == "field"),
                         float(u.unit.kind == "row"), float(u.unit.kind == "label"), k / max(len(own) - 1, 1),
                         float(k == 0), math.log(len(c.text) + 1), u.score - top_score, float(c.best_of_passage),
                         float(abs(k - best_at) == 1), float(bool(re.search(r"\d", c.text))),
                         float(expects and not u.typed), u.relevance - u.overlap, _retrieval_prior(hit, hits[0]), same,
                         1.0 / (i + 1), hit.scores.get("dense", 0.0) - dense_max,
                         hit.scores.get("sentence", 0.0) - sentence_max, (1.0 - same) * u.overlap])
            sentences = answer_sentences(c.text + " [1]")
            opening = answer_normalize(sentences[0]) if sentences else ""
            holds.append(any(g in answer_normalize(c.text) for g in golds))
            first.append(any(g in opening for g in golds))
            hand.append(c.score)
            order.append((c.hit_index, c.unit.unit.start))
    return QuestionRows(question, np.array(rows, float).reshape(-1, len(FEATURES)), np.array(holds, bool),
                        np.array(first, bool), np.array(hand, float), order)


@dataclass
class Asked:
    """One answerable question searched as /v1/ask does, with the second stage's candidates (the
    passages whose units the scorer weighed together), so that units can be scored again."""

    question: str
    answers: tuple[str, ...]
    result: SearchResult
    candidates: list[Candidate]


def collect(sets: Sequence[str] = SETS, k: int = 5) -> dict[str, tuple[SentenceScorer, list[Asked]]]:
    """Every answerable question of each set, searched on the set's suite index, with the set's
    sentence scorer (its index's idf) to score units again under other constants."""
    from kotae.evals.gold import load_gold
    from kotae.evals.sets import default_sets
    from kotae.evals.suite import corpus_index_dir
    from kotae.index.engine import open_retriever
    from kotae.settings import load_settings

    base = load_settings()
    known = default_sets()
    out = {}
    for name in sets:
        s = known[name]
        retriever = open_retriever(base.replace(index_dir=corpus_index_dir(base, s.corpus, name)))
        scorer = retriever._sentences
        seen: list[list[Candidate]] = []
        search_score = scorer.score

        def keep(weights, candidates, query=None, search_score=search_score, seen=seen):
            seen.append(candidates)  # the passages whose units the search weighed together
            return search_score(weights, candidates, query)

        scorer.score = keep
        try:
            asked = [Asked(q.question, q.answers, retriever.search(q.question, k), seen[-1])
                     for q in (q for g in s.gold for q in load_gold(g) if q.answerable)]
        finally:
            del scorer.score
        out[name] = (scorer, asked)
    return out


def dump(collected: dict[str, tuple[SentenceScorer, list[Asked]]]) -> dict[str, list[QuestionRows]]:
    """The units' feature rows; no units where the search abstains (answer@1 is 0 whatever the order)."""
    return {name: [unit_rows(a.question, a.result.hits if a.result.found else [], a.answers) for a in asked]
            for name, (_, asked) in collected.items()}


def fit(rows: Sequence[QuestionRows], columns: Sequence[str], temperature: float | None, l2: float,
        iterations: int = 30) -> np.ndarray:
    """Conditional-logit weights on the raw features (standardised inside, mapped back), by
    Newton's method from zero: the same rows always give the same weights. Questions count alike
    within a set and the sets alike, so the 500 devset questions do not decide alone."""
    idx = [FEATURES.index(c) for c in columns]
    usable = [r for r in rows if r.holds.any() and not r.holds.all()]
    if not usable:
        return np.zeros(len(idx))
    stacked = np.vstack([r.features[:, idx] for r in usable])
    mu, sd = stacked.mean(0), stacked.std(0) + 1e-9
    groups = [((r.features[:, idx] - mu) / sd, r.holds, r.hand * (temperature or 0.0)) for r in usable]

    def softmax(s: np.ndarray) -> np.ndarray:
        e = np.exp(s - s.max())
        return e / e.sum()

    def loss(w: np.ndarray) -> float:
        # -log P(the answer unit) = log-sum-exp over all units - log-sum-exp over the answer units
        out = 0.5 * l2 * len(groups) * w @ w
        for x, y, offset in groups:
            s = offset + x @ w
            out += s.max() + np.log(np.exp(s - s.max()).sum()) - s[y].max() - np.log(np.exp(s[y] - s[y].max()).sum())
        return out

    w = np.zeros(len(idx))
    current = loss(w)
    for _ in range(iterations):
        grad = l2 * len(groups) * w
        hess = l2 * len(groups) * np.eye(len(idx))
        for x, y, offset in groups:
            s = offset + x @ w
            p, q = softmax(s), softmax(s[y])
            mp, mq = x.T @ p, x[y].T @ q
            grad -= mq - mp
            hess += (x.T * p) @ x - np.outer(mp, mp)  # the Fisher information of the softmax
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while loss(w - t * step) > current and t > 1e-4:  # damped: every step lowers the loss
            t /= 2
        w = w - t * step
        previous, current = current, loss(w)
        if previous - current < 1e-9 * max(1.0, abs(current)):
            break
    return w / sd


def scores(r: QuestionRows, columns: Sequence[str], weights: np.ndarray, temperature: float | None) -> np.ndarray:
    idx = [FEATURES.index(c) for c in columns]
    return r.hand * (temperature or 0.0) + r.features[:, idx] @ weights


def answer_at_1(rows: Sequence[QuestionRows], score) -> np.ndarray:
    """Per question: the best candidate by ``score(rows)`` holds the answer in its first sentence
    (ties as extractive_answer breaks them: earlier passage, earlier unit)."""
    out = []
    for r in rows:
        if not len(r.hand):
            out.append(0.0)
            continue
        s = np.round(score(r), 9)
        best = min(range(len(s)), key=lambda j: (-s[j], r.order[j]))
        out.append(float(r.first[best]))
    return np.array(out)


def leave_one_set_out(data: dict[str, list[QuestionRows]]) -> list[dict]:
    results = []
    hand = {s: answer_at_1(rows, lambda r: r.hand) for s, rows in data.items()}
    for name, columns, temperature, l2 in MODELS:
        row = {"model": name, "held_out": {}, "in_sample": {}}
        everything = [r for rows in data.values() for r in rows]
        w_all = fit(everything, columns, temperature, l2)
        for held in data:
            asked = {r.question for r in data[held]}
            train = [r for s, rows in data.items() if s != held for r in rows if r.question not in asked]
            w = fit(train, columns, temperature, l2)
            for key, weights in (("held_out", w), ("in_sample", w_all)):
                got = answer_at_1(data[held], lambda r: scores(r, columns, weights, temperature))
                row[key][held] = {"answer@1": float(got.mean()), "won": int(((got == 1) & (hand[held] == 0)).sum()),
                                  "lost": int(((got == 0) & (hand[held] == 1)).sum())}
        results.append(row)
    return results


def single_corrections(data: dict[str, list[QuestionRows]], steps: Sequence[float] = (-2, -1, -0.5, -0.25, 0.25, 0.5, 1, 2),
                       scale: float = 0.05) -> dict[str, dict[str, dict]]:
    """The hand-set score plus w x one feature, w chosen on three sets by answer@1 itself (no
    likelihood in between), tested on the fourth. w is tried at ``steps`` x ``scale`` / the
    feature's standard deviation; a feature is left at 0 unless it wins 0.002 on the training sets."""
    hand = {s: answer_at_1(rows, lambda r: r.hand) for s, rows in data.items()}
    out: dict[str, dict[str, dict]] = {}
    for j, feature in enumerate(FEATURES[1:], start=1):
        spread = np.std(np.concatenate([r.features[:, j] for rows in data.values() for r in rows]))
        weights = [x * scale / (spread + 1e-9) for x in steps]
        got = {w: {s: answer_at_1(rows, lambda r: r.hand + w * r.features[:, j]) for s, rows in data.items()} for w in weights}
        out[feature] = {}
        for held in data:
            asked = {r.question for r in data[held]}
            train = {s: np.array([r.question not in asked for r in rows]) for s, rows in data.items() if s != held}

            def gain(w: float) -> float:
                return sum(float(got[w][s][m].mean() - hand[s][m].mean()) for s, m in train.items() if m.any())

            best = max(weights, key=gain)
            if gain(best) <= 0.002:
                out[feature][held] = {"weight": 0.0, "won": 0, "lost": 0}
                continue
            a, b = got[best][held], hand[held]
            out[feature][held] = {"weight": best, "won": int(((a == 1) & (b == 0)).sum()), "lost": int(((a == 0) & (b == 1)).sum())}
    return out


# The hand-set constants re-tuned jointly (index/rerank.py's unit score, service/answer.py's composition),
# with the values tried; the current value is among them. The cross-language word bridge
# (BRIDGE_WEIGHT) and the length limits (MAX_SENTENCES, *_CHARS: rejected for length in
# evals/reports/answers.md) are left out.
GRID = {
    "RANK_WEIGHT": (0.3, 0.4, 0.5, 0.6, 0.7),
    "SAME_LANGUAGE_BONUS": (0.0, 0.025, 0.05, 0.1, 0.15),
    "KEY_WEIGHT": (0.3, 0.4, 0.5, 0.6, 0.75),
    "TYPE_WEIGHT": (0.15, 0.2, 0.25, 0.3, 0.4),
    "UNTYPED_FACTOR": (0.4, 0.5, 0.6, 0.7, 0.8),
    "UNTYPED_NAME_FACTOR": (0.7, 0.8, 0.9, 1.0),
    "LABEL_FACTOR": (0.3, 0.4, 0.5, 0.65, 0.8),
    "PHRASE_WEIGHT": (0.15, 0.2, 0.3, 0.4, 0.5),
    "FOCUS_FACTOR": (0.0, 0.15, 0.3, 0.5, 0.7),
    "OTHER_NAME_FACTOR": (0.3, 0.4, 0.5, 0.65, 0.8),
    "LOCAL_SPREAD": (0.6, 0.8, 1.0),
    "NEXT_SENTENCE_RATIO": (0.5, 0.55, 0.6, 0.65, 0.7),
    "CROSS_LANGUAGE_RATIO": (0.4, 0.45, 0.5, 0.55, 0.6),
    "NEIGHBOUR_BONUS": (0.0, 0.05, 0.1, 0.15, 0.2),
    "NEXT_MIN_RELEVANCE": (0.0, 0.03, 0.05, 0.08, 0.1),
}
# a move must gain this much of the training sets' mean (answer@1 + answer@any), and may not
# lengthen any training set's median answer by more than MAX_LENGTH_GROWTH
MIN_GAIN = 0.002
MAX_LENGTH_GROWTH = 1.05


@contextmanager
def constants(values: dict[str, float]):
    """The module constants of the scorer and the composer set to ``values`` for a while."""
    from kotae.index import rerank
    from kotae.service import answer

    saved = {}
    try:
        for name, value in values.items():
            module = rerank if hasattr(rerank, name) else answer
            saved[name] = (module, getattr(module, name))
            setattr(module, name, value)
        yield
    finally:
        for name, (module, value) in saved.items():
            setattr(module, name, value)


def answer_all(collected: dict[str, tuple[SentenceScorer, list[Asked]]], values: dict[str, float]) -> dict[str, np.ndarray]:
    """Per set, per question: (answer@1, answer@any, characters) of extractive_answer with the
    units scored again under ``values``. The search's passages and their order stay: they do not
    depend on these constants (the second stage ranks passages by their best sentence's term
    share, not by unit scores). Only the candidates' units change; the results' hits keep theirs."""
    from kotae.service import answer

    out = {}
    with constants(values):
        for name, (scorer, asked) in collected.items():
            rows = []
            for a in asked:
                result = a.result
                if result.found and result.hits:
                    scorer.score_answers(a.question, a.candidates)
                    by_id = {c.id: c for c in a.candidates}
                    result = replace(result, hits=[replace(h, units=by_id[h.id].units, highlight=by_id[h.id].highlight)
                                                   for h in result.hits])
                body = answer.extractive_answer(a.question, result, k_sentences=answer.MAX_SENTENCES).body
                m = answer_metrics(body, a.answers)
                rows.append((m["answer@1"], m["answer@any"], len(body)))
            out[name] = np.array(rows, float).reshape(-1, 3)
    return out


def retune(collected: dict[str, tuple[SentenceScorer, list[Asked]]], held: str | None,
           cache: dict[tuple, dict[str, np.ndarray]]) -> dict[str, float]:
    """Coordinate ascent over GRID from the current values, on every set but ``held`` (without
    its questions), by the sets' mean of answer@1 + answer@any; at most three sweeps."""
    asked = {a.question for a in collected[held][1]} if held else set()
    train = {s: np.array([a.question not in asked for a in rows]) for s, (_, rows) in collected.items() if s != held}
    train = {s: m for s, m in train.items() if m.any()}

    def run(values: dict[str, float]) -> dict[str, np.ndarray]:
        key = tuple(sorted(values.items()))
        if key not in cache:
            cache[key] = answer_all(collected, values)
        return cache[key]

    base = run({})

    def objective(values: dict[str, float]) -> float:
        got = run(values)
        if any(np.median(got[s][m, 2]) > MAX_LENGTH_GROWTH * np.median(base[s][m, 2]) for s, m in train.items()):
            return -np.inf
        return float(np.mean([got[s][m, 0].mean() + got[s][m, 1].mean() for s, m in train.items()]))

    chosen: dict[str, float] = {}
    best = objective(chosen)
    for _ in range(3):
        moved = False
        for name, values in GRID.items():
            for v in values:
                trial = {**chosen, name: v}
                if trial == chosen:
                    continue
                score = objective(trial)
                if score > best + MIN_GAIN:
                    best, chosen, moved = score, trial, True
        if not moved:
            break
    return chosen


def report(data: dict[str, list[QuestionRows]], results: list[dict], singles: dict[str, dict[str, dict]],
           tuned: dict[str, dict[str, float]], tuned_figures: dict[str, dict[str, np.ndarray]]) -> str:
    hand = {s: answer_at_1(rows, lambda r: r.hand) for s, rows in data.items()}
    sets = list(data)
    lines = ["# Which unit is quoted first: learned vs hand-set (leave one set out)", "",
             "Generated by `python -m kotae.evals.unit_ranking` (see its docstring).", "",
             "## Learned combinations", "",
             "answer@1 of the first quote. Cells: held-out answer@1 (questions won-lost against the hand-set sum) / "
             "the same model fitted on all four sets (in-sample).", "",
             "| model | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets),
             "| hand-set sum (service/answer.py) | " + " | ".join(f"{hand[s].mean():.3f}" for s in sets) + " |"]
    for row in results:
        cells = [f"{row['held_out'][s]['answer@1']:.3f} ({row['held_out'][s]['won']}-{row['held_out'][s]['lost']}) / "
                 f"{row['in_sample'][s]['answer@1']:.3f}" for s in sets]
        lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    units = {s: sum(len(r.hand) for r in rows) for s, rows in data.items()}
    lines += ["", "Units: " + ", ".join(f"{s} {units[s]} ({len(data[s])} questions)" for s in sets) + ".", "",
              "## One feature added to the hand-set sum, its weight chosen by answer@1 on three sets", "",
              "Cells: held-out questions won-lost (0-0 where no weight won 0.002 on the training sets).", "",
              "| feature | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for feature, by_set in singles.items():
        lines.append(f"| {feature} | " + " | ".join(f"{by_set[s]['won']}-{by_set[s]['lost']}" for s in sets) + " |")
    base = tuned_figures["{}"]
    lines += ["", "## The hand-set constants re-tuned jointly (coordinate ascent on three sets)", "",
              "Cells: answer@1 / answer@any / median characters of the held-out set, current → re-tuned; "
              "\"all four\" is the ascent on every set (in-sample).", "",
              "| held out | constants chosen on the other sets | " + " | ".join(sets) + " |", "|---|---|" + "---|" * len(sets)]
    for held, values in tuned.items():
        got = tuned_figures[json.dumps(values, sort_keys=True)]
        shown = [s for s in sets if held in (s, "all four")]
        cells = [(f"{base[s][:, 0].mean():.3f} → {got[s][:, 0].mean():.3f} / {base[s][:, 1].mean():.3f} → "
                  f"{got[s][:, 1].mean():.3f} / {np.median(base[s][:, 2]):.0f} → {np.median(got[s][:, 2]):.0f}")
                 if s in shown else "" for s in sets]
        chosen = ", ".join(f"{k} {v:g}" for k, v in values.items()) or "none (no move gains)"
        lines.append(f"| {held} | {chosen} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "evals" / "reports" / "unit-ranking"), help="report stem (.md, .json)")
    args = parser.parse_args(argv)
    collected = collect()
    data = dump(collected)
    results = leave_one_set_out(data)
    singles = single_corrections(data)
    cache: dict[tuple, dict[str, np.ndarray]] = {}
    tuned = {held or "all four": retune(collected, held, cache) for held in (*SETS, None)}
    figures = {json.dumps(v, sort_keys=True): answer_all(collected, v) for v in [{}, *tuned.values()]}
    out = Path(args.out)
    out.with_suffix(".md").write_text(report(data, results, singles, tuned, figures), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({
        "features": FEATURES, "learned": results, "single_feature": singles, "retuned": tuned,
        # per set: mean answer@1, answer@any, median characters
        "retuned_figures": {k: {s: [float(v[:, 0].mean()), float(v[:, 1].mean()), float(np.median(v[:, 2]))]
                                for s, v in f.items()} for k, f in figures.items()},
    }, indent=1), encoding="utf-8")
    print(out.with_suffix(".md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
