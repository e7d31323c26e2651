"""The committed mixed ja+en tuning set (evals/gold-mixed-ja-en.jsonl) and the corpus it is
asked over: shapes and counts per type, every answer inside its gold passage, every passage
where the corpus has it, and the point of the set -- a cross-language question's answer does
not occur anywhere in the other language's half of the corpus."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from kotae.evals.gold import load_gold
from kotae.evals.sets import DEFAULT_DEVSET, REPO, default_sets
from kotae.evals.sets.mixed import HANDBOOK, _Paragraphs, build_corpus, handbook_documents

GOLD = REPO / "evals" / "gold-mixed-ja-en.jsonl"
# type -> (question language, language of the documents that hold the answer, minimum count)
TYPES = {"cross-en-ja": ("en", "ja", 50), "cross-ja-en": ("ja", "en", 25), "same-en": ("en", "en", 25), "same-ja": ("ja", "ja", 50)}


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _lines() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]


def _spans(row: dict) -> list[tuple[str, int]]:
    return [(row["passage"], row["passage_start"])] + [(a["passage"], a["passage_start"]) for a in row.get("alt_passages", [])]


def test_shape_and_counts_per_type():
    questions = load_gold(GOLD)  # the evaluator's own parser accepts every line
    rows = _lines()
    assert len(rows) == len(questions)
    counts = Counter(r["type"] for r in rows)
    assert set(counts) == set(TYPES)
    for kind, (qlang, doclang, minimum) in TYPES.items():
        assert counts[kind] >= minimum, kind
    for r in rows:
        qlang, doclang, _ = TYPES[r["type"]]
        assert r["lang"] == qlang, r["id"]
        assert r["doc"].startswith("en/") == (doclang == "en"), r["id"]
        assert r["answers"] and all(isinstance(a, str) and a for a in r["answers"]), r["id"]
        for passage, start in _spans(r):
            assert isinstance(start, int) and start >= 0, r["id"]
            # the gold answer string is stated by every gold passage
            assert any(_norm(a) in _norm(passage) for a in r["answers"]), (r["id"], r["answers"])
    # cross-language questions are written, not copied: no two share a question text
    texts = [r["question"] for r in rows]
    assert len(texts) == len(set(texts))


def test_html_paragraphs_are_extracted_deterministically():
    html = ('<html><head><title>1.1. A  Title</title></head><body><div class="para">First <code>apt</code> paragraph, long '
            'enough to count as prose.</div><div class="para">TIP short</div><div class="para">Outer <div class="x">nested '
            'list item</div> tail of a long enough paragraph.</div><pre>code is not a paragraph</pre></body></html>')
    p = _Paragraphs()
    p.feed(html)
    assert p.title == "1.1. A  Title"
    assert p.paragraphs == ["First apt paragraph, long enough to count as prose.",
                            "Outer nested list item tail of a long enough paragraph."]


needs_handbook = pytest.mark.skipif(not HANDBOOK.is_dir(), reason=f"Debian package debian-handbook not installed ({HANDBOOK}); `make system-deps`")
needs_devset = pytest.mark.skipif(not (DEFAULT_DEVSET / "corpus").is_dir(),
                                  reason=f"devset {DEFAULT_DEVSET} not present (it lives outside the repository)")


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    return {f"en/{name}": text for name, text in handbook_documents().items()}


@needs_handbook
def test_english_half_is_large_real_prose_and_holds_every_english_passage(english):
    paragraphs = sum(text.count("\n\n") for text in english.values())
    assert paragraphs >= 1500
    english_norm = _norm("\n".join(english.values()))
    for r in _lines():
        if r["doc"].startswith("en/"):
            text = english[r["doc"]]
            for passage, start in _spans(r):
                assert text[start : start + len(passage)] == passage, r["id"]
        if r["type"] == "cross-en-ja":
            # the answer exists only in Japanese: no English paragraph states it
            assert not any(_norm(a) in english_norm for a in r["answers"]), (r["id"], r["answers"])


@needs_handbook
@needs_devset
def test_japanese_half_holds_every_japanese_passage_and_no_english_only_answer():
    ja = {p.name: p.read_text(encoding="utf-8") for p in (DEFAULT_DEVSET / "corpus").glob("*.txt")}
    assert len(ja) == 120
    ja_norm = _norm("\n".join(ja.values()))
    for r in _lines():
        if not r["doc"].startswith("en/"):
            for passage, start in _spans(r):
                assert ja[r["doc"]][start : start + len(passage)] == passage, r["id"]
        if r["type"] == "cross-ja-en":
            assert not any(_norm(a) in ja_norm for a in r["answers"]), (r["id"], r["answers"])


@needs_handbook
@needs_devset
def test_corpus_build_is_deterministic(tmp_path):
    a = build_corpus(tmp_path / "a", DEFAULT_DEVSET / "corpus")
    b = build_corpus(tmp_path / "b", DEFAULT_DEVSET / "corpus")
    assert a == b and a["ja_documents"] == 120 and a["en_paragraphs"] >= 1500
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.txt"))
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.txt"))
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)
    assert not (tmp_path / "a.building").exists()
    # the suite's set points at the folder this builds and knows where its sources are
    s = default_sets(DEFAULT_DEVSET, home=tmp_path)["mixed-ja-en"]
    assert s.missing() is None and s.corpus == tmp_path / "sets" / "mixed-ja-en"


UNANSWERABLE = REPO / "evals" / "gold-mixed-ja-en-unanswerable.jsonl"


def test_unanswerable_questions_cover_both_languages_same_and_cross():
    questions = load_gold(UNANSWERABLE)
    rows = [json.loads(line) for line in UNANSWERABLE.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    assert len(questions) == len(rows) >= 30 and all(q.unanswerable for q in questions)
    groups = Counter((r["lang"], r["topic_lang"]) for r in rows)
    # English and Japanese questions, about entities of either half of the corpus
    assert set(groups) == {("en", "ja"), ("ja", "ja"), ("en", "en"), ("ja", "en")} and min(groups.values()) >= 5
    assert len({r["id"] for r in rows} | {r["id"] for r in _lines()}) == len(rows) + len(_lines())
    assert UNANSWERABLE in default_sets(DEFAULT_DEVSET)["mixed-ja-en"].gold
