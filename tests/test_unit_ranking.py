"""The offline unit-ranking study (evals/unit_ranking.py): its answer@1 on the feature dump must be
the answer metric's, or its held-out figures mean nothing; its fit must be reproducible."""

from __future__ import annotations

import numpy as np

from kotae.evals.metrics import answer_metrics
from kotae.evals.unit_ranking import FEATURES, QuestionRows, answer_at_1, fit, scores, unit_rows
from kotae.index.search import Hit, SearchResult
from kotae.service.answer import extractive_answer


def hit(i: int, text: str, lang: str = "en") -> Hit:
    return Hit(id=f"d{i}#0", doc_id=f"d{i}.md", title=f"Doc {i}", section=None, page=None, char_start=0,
               char_end=len(text), text=text, lang=lang, kind="body", score=1.0 / (i + 1), scores={"dense": 0.8 - i / 10},
               highlight=(0, len(text)))


HITS = [hit(0, "Mistral AI raised a Series C round in 2025. The round was led by ASML Holding NV. "
               "Mistral AI is based in Paris."),
        hit(1, "Mistral AI was founded in 2023 by Arthur Mensch, Guillaume Lample and Timothée Lacroix.")]


def test_dump_answer_at_1_is_the_answer_metric_of_extractive_answer():
    # (question, gold answers, answer@1 of the real answer, some unit holds a gold answer)
    cases = [("Where is Mistral AI based?", ["Paris"], 1.0, True),
             ("Who led Mistral's Series C round?", ["ＡＳＭＬ Holding"], 0.0, True),  # NFKC, as the metric compares
             ("When was the Series C round?", ["Arthur Mensch"], 0.0, True),  # in a unit, not in the answer
             ("How much did Mistral raise?", ["€1.7 billion"], 0.0, False)]
    for question, answers, first, held in cases:
        rows = unit_rows(question, HITS, answers)
        body = extractive_answer(question, SearchResult(question, "en", HITS)).body
        assert answer_metrics(body, answers)["answer@1"] == first, question
        assert answer_at_1([rows], lambda r: r.hand)[0] == first, question
        assert bool(rows.holds.any()) is held, question
    assert unit_rows("Who led it?", [], ["x"]).hand.size == 0  # an abstained search: nothing to rank


def synthetic(n: int, seed: int) -> list[QuestionRows]:
    """Questions whose answer is a short `key: value` field the hand-set score puts second."""
    rng = np.random.default_rng(seed)
    out = []
    for q in range(n):
        x = rng.normal(size=(3, len(FEATURES))) * 0.1
        x[:, FEATURES.index("field")] = [0.0, 1.0, 0.0]
        hand = np.array([0.9, 0.7, 0.2]) + rng.normal(size=3) * 0.01
        x[:, FEATURES.index("score")] = hand
        holds = np.array([False, True, False])
        out.append(QuestionRows(f"q{seed}-{q}", x, holds, holds.copy(), hand, [(0, 0), (0, 10), (1, 0)]))
    return out


def test_fit_is_deterministic_and_learns_what_the_labels_say():
    rows = synthetic(30, 0)
    columns = FEATURES[1:]
    w1 = fit(rows, columns, temperature=5.0, l2=0.01)
    w2 = fit(list(rows), columns, temperature=5.0, l2=0.01)
    assert np.array_equal(w1, w2)
    assert w1[columns.index("field")] > 0
    held_out = synthetic(20, 1)
    assert answer_at_1(held_out, lambda r: r.hand).mean() == 0.0  # the hand-set sum quotes the long unit
    assert answer_at_1(held_out, lambda r: scores(r, columns, w1, 5.0)).mean() == 1.0
