"""The abstention trade-off curve (evals/abstention_curve.py): its sweep, its agreement with the
service's found / not-found decisions at the shipped threshold, and the files it writes."""

from __future__ import annotations

import itertools
import json

from kotae.evals.abstention_curve import QuestionEvidence, abstains, best_point, main, question_evidence, sweep, write
from kotae.evals.gold import load_gold
from kotae.evals.sets import REPO
from kotae.index.abstain import Evidence, abstain_signal, calibration, clears_floor, word_evidence


def _rows() -> list[QuestionEvidence]:
    words = (None, 0.2, 0.5, 0.63, 0.64, 0.66, 0.8, 1.1)
    rows = []
    for i, (w, ok, unans, s) in enumerate(itertools.product(words, (True, False), (True, False), ("a", "b"))):
        rows.append(QuestionEvidence(s, f"q{i}", unans, w, ok, found=False))
    # more answerable questions with strong evidence than unanswerable ones, as in the real sets
    rows += [QuestionEvidence(s, f"x{i}{s}", False, 0.9 + i / 100, True, found=True) for i in range(5) for s in ("a", "b")]
    return rows


def test_the_sweep_is_monotone_in_the_threshold():
    points = sweep(_rows(), [t / 100 for t in range(0, 130, 5)])
    for before, after in zip(points, points[1:]):
        assert after["caught"] >= before["caught"]
        assert after["refused"] >= before["refused"]
        for s in ("a", "b"):
            assert after["sets"][s]["refused"] >= before["sets"][s]["refused"]
        assert after["worst_false"] == max(c["false"] for c in after["sets"].values())
    # nothing retrieved, or a cosine under the floor, is refused at every threshold
    assert points[0]["caught"] == sum(1 for r in _rows() if r.unanswerable and (r.words is None or not r.dense_ok))
    assert points[-1]["refused"] == points[-1]["answerable"]


def test_best_point_is_the_highest_recall_within_the_bound():
    points = sweep(_rows(), [t / 100 for t in range(0, 130, 5)])
    best = best_point(points, 0.6)
    assert best["worst_false"] <= 0.6
    assert all(p["recall"] <= best["recall"] for p in points if p["worst_false"] <= 0.6)
    assert best_point(points, -1.0) is None


def test_word_evidence_and_the_floor_are_the_signal_at_the_calibrated_threshold():
    # found = abstain_signal >= threshold exactly when the word evidence reaches it and the best
    # cosine clears the floor: what the curve sweeps is the service's decision at that point
    threshold = calibration("hybrid").threshold
    for missing, typed, dense, attr, absent, unknown, bridged in itertools.product(
            (0.0, 0.3, 0.36, 0.6), (0.0, 0.5, 1.0), (None, 0.7, 0.81, 0.815, 0.83, 0.95), (0.0, 0.8), (0.0, 0.6), (False, True), (0, 3, 4)):
        ev = Evidence(missing=missing, typed_coverage=typed, dense=dense, attribute_missing=attr, absent=absent, unknown_number=unknown,
                      bridged=bridged)
        assert (abstain_signal(ev) >= threshold) == (word_evidence(ev) >= threshold and clears_floor(ev)), ev
    assert not clears_floor(Evidence(0.0, 0.0, dense=0.7))
    assert clears_floor(Evidence(0.0, 0.0, dense=0.7), None)


def test_at_the_shipped_threshold_the_curve_is_the_services_decision(corpus_retriever, tmp_path):
    # gold.jsonl over corpus/: a few of its answerable questions are refused, most unanswerable ones
    retriever, questions = corpus_retriever, load_gold(REPO / "evals" / "gold.jsonl")
    cfg = retriever.config
    results = [retriever.search(q.question, k=5) for q in questions]
    rows = [question_evidence("gold", q, r, cfg.mode, cfg.dense_floor) for q, r in zip(questions, results)]
    decisions = {q.id: r.found for q, r in zip(questions, results)}
    # both decisions are exercised, on both kinds of question
    assert {(q.unanswerable, decisions[q.id]) for q in questions} == {(a, b) for a in (True, False) for b in (True, False)}
    for row in rows:
        assert abstains(row, cfg.abstain_threshold) == (not decisions[row.id]), row
    [point] = sweep(rows, [cfg.abstain_threshold])
    assert point["caught"] == sum(not decisions[q.id] for q in questions if q.unanswerable)
    assert point["refused"] == sum(not decisions[q.id] for q in questions if not q.unanswerable)

    paths = write(rows, cfg.abstain_threshold, tmp_path / "abstention", "gold.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abstention-curve.json", "abstention-curve.md", "abstention.png"]
    record = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert record["shipped"]["threshold"] == cfg.abstain_threshold
    assert record["shipped"]["caught"] == point["caught"] and record["mismatches_at_shipped"] == []
    assert len(record["questions"]) == len(questions)
    assert "| shipped |" in paths["md"].read_text(encoding="utf-8")
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_set_is_one_readable_error(capsys):
    assert main(["--sets", "gold,nosuch", "--out", "unused"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --sets: unknown set nosuch (known: gold, ja-jaquad, mixed-ja-en, mixed-small)"]
