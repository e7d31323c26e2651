"""Evaluation arithmetic against hand-computed values: metrics (via ranx), relevance, gold
parsing, abstention and statistics. No model needed."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from kotae.evals import GoldError, evaluate, load_gold, parse_gold, parse_question, ranking_metrics
from kotae.evals.metrics import abstention_metrics, metric_names
from kotae.evals.relevance import RelevanceJudge, overlaps_enough
from kotae.evals.stats import bootstrap_ci, holm, paired_randomization
from kotae.index.backends import StoredPassage
from kotae.ingest.document import Document, Passage

REPO = Path(__file__).resolve().parents[1]
L2 = math.log2


# ---- ranking metrics ---------------------------------------------------------------------


def test_metric_names_order():
    assert metric_names((5, 1)) == ["hit@1", "hit@5", "recall@1", "recall@5", "mrr@10", "ndcg@10"]


def test_hand_computed_ranking():
    m = ranking_metrics({"q": ["b", "a", "c"]}, {"q": ["a", "c", "d"]}, ks=(1, 3))["q"]
    assert m["hit@1"] == 0 and m["hit@3"] == 1
    assert m["recall@1"] == 0 and m["recall@3"] == pytest.approx(2 / 3)
    assert m["mrr@10"] == pytest.approx(1 / 2)
    dcg = 1 / L2(3) + 1 / L2(4)
    idcg = 1 + 1 / L2(3) + 1 / L2(4)
    assert m["ndcg@10"] == pytest.approx(dcg / idcg)


def test_relevant_beyond_10_counts_for_hit20_not_mrr10():
    ranked = [f"x{i}" for i in range(10)] + ["a"] + [f"y{i}" for i in range(9)]
    m = ranking_metrics({"q": ranked}, {"q": ["a", "b"]}, ks=(10, 20))["q"]
    assert m["hit@10"] == 0 and m["hit@20"] == 1
    assert m["recall@20"] == pytest.approx(0.5)
    assert m["mrr@10"] == 0 and m["ndcg@10"] == 0


def test_empty_ranking_and_no_relevant_score_zero():
    out = ranking_metrics({"empty": [], "unreachable": ["a"], "miss": ["z"]}, {"empty": ["a"], "unreachable": [], "miss": ["a"]}, ks=(1, 5))
    for qid in ("empty", "unreachable", "miss"):
        assert set(out[qid].values()) == {0.0}, qid


def test_duplicates_after_first_are_ignored():
    m = ranking_metrics({"q": ["z", "z", "a"]}, {"q": ["a"]}, ks=(2,))["q"]
    assert m["hit@2"] == 1 and m["mrr@10"] == pytest.approx(1 / 2)


def test_perfect_ranking():
    m = ranking_metrics({"q": ["a", "b", "z"]}, {"q": ["a", "b"]}, ks=(1, 2))["q"]
    assert m["hit@1"] == m["recall@2"] == m["mrr@10"] == m["ndcg@10"] == pytest.approx(1.0)
    assert m["recall@1"] == pytest.approx(0.5)


# ---- evaluate() with a fake index: ties, enumeration of relevant passages, unanswerable ---


DOC_A = "Mistral 7B uses GQA と SWA for speed. It was released in 2023. Other filler text here."
DOC_B = "Koyeb runs on Firecracker microVMs. Filler sentence number two."


@dataclass
class FakeHit:
    id: str
    doc_id: str
    char_start: int
    char_end: int
    text: str
    score: float
    kind: str = "body"

    def to_dict(self):
        return {"id": self.id, "doc_id": self.doc_id, "char_start": self.char_start, "char_end": self.char_end,
                "text": self.text, "score": self.score, "lang": "en", "kind": self.kind}


@dataclass
class FakeResult:
    hits: list
    found: bool = True
    lang: str = "en"


class FakeBackend:
    def __init__(self):
        self.docs = {"a.txt": DOC_A, "b.txt": DOC_B}
        s2, s3, b2 = DOC_A.index("It was"), DOC_A.index("Other"), DOC_B.index("Filler")
        spans = [("a.txt", 0, s2 - 1), ("a.txt", s2, s3 - 1), ("a.txt", s3, len(DOC_A)), ("b.txt", 0, b2 - 1), ("b.txt", b2, len(DOC_B)),
                 ("a.txt", 0, s3 - 1)]  # the last one overlaps the first two (like overlapping chunks)
        self.rows = [StoredPassage(f"p{i}", Passage(d, i, s, e, self.docs[d][s:e], None, None, "en", "body"), d, "en")
                     for i, (d, s, e) in enumerate(spans)]

    def documents(self):
        return [{"doc_id": d} for d in self.docs]

    def document_passages(self, doc_id):
        return [s for s in self.rows if s.passage.doc_id == doc_id]

    def document(self, doc_id):
        text = self.docs.get(doc_id)
        return None if text is None else Document(doc_id, text, doc_id, "text", "utf-8", "h")

    def hit(self, row, score):
        p = self.rows[row].passage
        return FakeHit(self.rows[row].id, p.doc_id, p.char_start, p.char_end, p.text, score)


class FakeRetriever:
    """Returns fixed rankings (rows with scores) per question text."""

    def __init__(self, backend, table, abstain=()):
        self.backend = backend
        self.table = table
        self.abstain = set(abstain)

    def search(self, query, k=5):
        hits = [self.backend.hit(r, s).to_dict() for r, s in self.table.get(query, [])][:k]
        return FakeResult(hits, found=query not in self.abstain)


GOLD_ROWS = [
    {"id": "gqa", "question": "q-gqa", "lang": "en", "type": "fact", "docs": ["a.txt"], "answers": ["ＧＱＡ　と SWA"]},
    {"id": "year", "question": "q-year", "lang": "en", "type": "numeric", "doc": "a.txt", "passage": "It was released in 2023."},
    {"id": "fc", "question": "q-fc", "lang": "ja", "type": "fact", "docs": ["b.txt"], "answers": ["Firecracker"], "source": "x"},
    {"id": "none1", "question": "q-none1", "unanswerable": True},
    {"id": "none2", "question": "q-none2", "unanswerable": True},
]


def test_evaluate_ties_enumeration_and_abstention():
    backend = FakeBackend()
    gold = parse_gold(GOLD_ROWS)
    table = {
        # tie: both score 0.5; the retriever's order puts the irrelevant passage first
        "q-gqa": [(4, 0.5), (0, 0.5), (2, 0.1)],
        "q-year": [(1, 0.9)],
        "q-fc": [],  # empty result: abstained, and scores 0
        "q-none1": [(0, 0.2)],
        "q-none2": [],
    }
    run = evaluate(gold, {"fake": FakeRetriever(backend, table, abstain={"q-none1"})}, ks=(1, 3), progress=False)
    cfg = run.configs["fake"]
    by_id = {q.question.id: q for q in cfg.questions}
    gqa = by_id["gqa"]
    # relevant passages in the whole index: rows 0 and 5 contain "GQA と SWA" (NFKC + no spaces)
    assert gqa.n_relevant == 2
    assert [p["relevant"] for p in gqa.passages] == [False, True, False]
    assert gqa.metrics["hit@1"] == 0 and gqa.metrics["mrr@10"] == pytest.approx(0.5)
    assert gqa.metrics["recall@3"] == pytest.approx(0.5)
    assert gqa.metrics["ndcg@10"] == pytest.approx((1 / L2(3)) / (1 + 1 / L2(3)))
    # passage span: row 1 is the span itself, row 5 overlaps it fully (span is the shorter)
    year = by_id["year"]
    assert year.n_relevant == 2 and year.metrics["hit@1"] == 1 and year.metrics["recall@1"] == pytest.approx(0.5)
    assert by_id["fc"].abstained and set(by_id["fc"].metrics.values()) == {0.0}
    # unanswerable: no ranking metrics, only abstention
    assert by_id["none1"].metrics == {} and by_id["none1"].abstained and by_id["none2"].abstained
    assert run.means()["fake"]["hit@1"] == pytest.approx(1 / 3)  # over the 3 answerable questions
    ab = cfg.abstention()
    assert ab["unanswerable"] == 2 and ab["abstained"] == 3 and ab["true_abstentions"] == 2
    assert ab["precision"] == pytest.approx(2 / 3) and ab["recall"] == 1.0 and ab["false_abstention"] == pytest.approx(1 / 3)
    # reversing the tie flips hit@1: the order is the retriever's, never re-broken
    table["q-gqa"] = [(0, 0.5), (4, 0.5)]
    run2 = evaluate(gold, {"fake": FakeRetriever(backend, table)}, ks=(1,), progress=False)
    assert {q.question.id: q for q in run2.configs["fake"].questions}["gqa"].metrics["hit@1"] == 1
    # passthrough of unknown keys into the per-question record
    assert by_id["fc"].to_dict()["source"] == "x"
    summary = run.summary(n_boot=200, n_perm=200)
    assert summary["configs"]["fake"]["metrics"]["overall"]["n"] == 3
    assert summary["gold"]["unanswerable"] == 2


def test_evaluate_paired_against_first():
    backend = FakeBackend()
    gold = parse_gold(GOLD_ROWS)
    good = FakeRetriever(backend, {"q-gqa": [(0, 1.0)], "q-year": [(1, 1.0)], "q-fc": [(3, 1.0)]})
    bad = FakeRetriever(backend, {"q-gqa": [(4, 1.0)], "q-year": [(4, 1.0)], "q-fc": [(2, 1.0)]})
    s = evaluate(gold, {"good": good, "bad": bad}, ks=(1,), progress=False).summary(n_boot=200, n_perm=2000)
    vs = s["configs"]["bad"]["vs_baseline"]["hit@1"]
    assert vs["diff"] == -1.0 and vs["losses"] == 3 and vs["wins"] == 0
    # with 3 questions all flipping the same way, the exact two-sided p is 2/8
    assert vs["p"] == pytest.approx(0.25, abs=0.04)
    assert s["configs"]["good"]["vs_baseline"] is None


# ---- relevance -----------------------------------------------------------------------------


def test_overlap_rule():
    assert overlaps_enough(0, 10, 5, 100)  # overlap 5 = half of the shorter (10)
    assert not overlaps_enough(0, 10, 6, 100)  # overlap 4 < 5
    assert not overlaps_enough(0, 10, 10, 20)  # touching, no overlap
    assert overlaps_enough(10, 20, 0, 100)  # contained


def test_answer_in_source_span_but_not_in_shown_text():
    judge = RelevanceJudge(lambda d: {"a.txt": "| 売上 | **1,200億円** |"}.get(d))
    q = parse_question({"id": "x", "question": "?", "docs": ["a.txt"], "answers": ["**1,200億円**"]})
    assert judge.is_relevant(q, "a.txt", 0, 19, text="売上 1,200億円")
    assert not judge.is_relevant(q, "b.txt", 0, 19, text="**1,200億円**")


def test_docs_without_answers_any_passage():
    q = parse_question({"id": "x", "question": "?", "doc": "a.txt"})
    assert q.docs == ("a.txt",) and RelevanceJudge().is_relevant(q, "a.txt", 5, 9, "whatever")


def test_passage_spans_located_with_and_without_start():
    text = "first sentence. target span here. another target span here."
    judge = RelevanceJudge(lambda d: text)
    q1 = parse_question({"id": "a", "question": "?", "doc": "d", "passage": "target span here."})
    assert judge.spans(q1)[0].start == text.index("target")
    q2 = parse_question({"id": "b", "question": "?", "doc": "d", "passage": "target span here.", "passage_start": 42})
    assert judge.spans(q2)[0].start == 42  # the second occurrence, as the start says
    q3 = parse_question({"id": "c", "question": "?", "doc": "d", "passage": "target  span\nhere", "passage_start": 3,
                         "alt_passages": [{"passage": "first sentence."}]})
    spans = judge.spans(q3)
    assert [s.start for s in spans] == [16, 0]  # white space tolerated; the wrong start is warned about
    assert any("does not match" in w for w in judge.warnings)
    q4 = parse_question({"id": "d", "question": "?", "doc": "d", "passage": "not in the text"})
    assert judge.spans(q4) == () and any("not found" in w for w in judge.warnings)


# ---- gold parsing --------------------------------------------------------------------------


def test_gold_errors():
    with pytest.raises(GoldError, match="duplicate"):
        parse_gold([{"id": "a", "question": "x", "doc": "d"}, {"id": "a", "question": "y", "doc": "d"}])
    with pytest.raises(GoldError, match="no relevance"):
        parse_question({"id": "a", "question": "x"})
    with pytest.raises(GoldError, match="unanswerable"):
        parse_question({"id": "a", "question": "x", "unanswerable": True, "docs": ["d"]})
    with pytest.raises(GoldError, match="'passage' needs 'doc'"):
        parse_question({"id": "a", "question": "x", "passage": "p"})
    with pytest.raises(GoldError, match="'question'"):
        parse_question({"id": "a"})


def test_gold_file_and_lang_detection(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text("\ufeff" + json.dumps({"id": 1, "question": "Mistralの本社はどこ？", "doc": "d.txt", "style": "natural"}, ensure_ascii=False)
                 + "\n\n" + json.dumps({"id": "2", "question": "Where?", "unanswerable": True}) + "\n", encoding="utf-8")
    q1, q2 = load_gold(p)
    assert q1.id == "1" and q1.lang == "ja" and not q1.lang_given and q1.extra == {"style": "natural"}
    assert q2.type == "unanswerable" and q2.lang == "en"
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "question": "x", "doc": "d"}\n{oops\n', encoding="utf-8")
    with pytest.raises(GoldError, match="bad.jsonl:2"):
        load_gold(tmp_path / "bad.jsonl")


def test_project_gold_loads():
    gold = load_gold(REPO / "evals" / "gold.jsonl")
    assert len(gold) >= 120 and sum(q.unanswerable for q in gold) >= 10
    assert all(q.extra.get("style") for q in gold)


def test_devset_gold_loads_answers_beside_a_passage_span():
    """The shared devset gives `doc` + `passage` (relevance) and `answers` (answer metrics)."""
    gold = load_gold(REPO.parent / "shared" / "devsets" / "ja_jaquad_train" / "gold.jsonl")
    assert len(gold) == 500
    assert all(q.passages and q.answers and not q.docs for q in gold)
    # answers alone still need their documents
    with pytest.raises(GoldError, match="'answers' needs"):
        parse_question({"id": "x", "question": "q", "answers": ["a"]}, "t")


# ---- abstention and statistics --------------------------------------------------------------


def test_abstention_metrics_hand():
    a = abstention_metrics({"u1": True, "u2": False, "a1": True, "a2": False, "a3": False},
                           {"u1": True, "u2": True, "a1": False, "a2": False, "a3": False})
    assert a["precision"] == 0.5 and a["recall"] == 0.5 and a["f1"] == 0.5 and a["false_abstention"] == pytest.approx(1 / 3)
    none = abstention_metrics({"u": False}, {"u": True})
    assert none["precision"] is None and none["recall"] == 0.0


def test_bootstrap_and_paired_tests():
    v = np.array([0, 1] * 50, dtype=float)
    lo, hi = bootstrap_ci(v, 2000, 0)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(2 * 1.96 * 0.05, abs=0.03)
    assert list(bootstrap_ci(np.ones(5))) == [1.0, 1.0]
    assert paired_randomization(v, v) == 1.0
    assert paired_randomization(np.ones(30), np.zeros(30), 2000) < 0.001
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})


def test_abstention_sweep_on_confidence():
    backend = FakeBackend()
    gold = parse_gold(GOLD_ROWS)

    class Conf(FakeRetriever):
        def search(self, query, k=5):
            r = super().search(query, k)
            r.confidence = {"q-gqa": 0.9, "q-year": 0.8, "q-fc": 0.3, "q-none1": 0.2, "q-none2": 0.1}[query]
            return r

    table = {q: [(0, 1.0)] for q in ("q-gqa", "q-year", "q-fc", "q-none1", "q-none2")}
    cfg = evaluate(gold, {"c": Conf(backend, table)}, ks=(1,), progress=False).configs["c"]
    sweep = {r["threshold"]: r for r in cfg.abstention_sweep([0.25, 0.5])}
    assert sweep[0.25]["precision"] == 1.0 and sweep[0.25]["recall"] == 1.0 and sweep[0.25]["false_abstention"] == 0.0
    assert sweep[0.5]["precision"] == pytest.approx(2 / 3) and sweep[0.5]["false_abstention"] == pytest.approx(1 / 3)
