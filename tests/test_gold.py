"""Validation of the gold question file evals/gold.jsonl (docs/CONTRACTS.md §3).

Standard library + pytest only. Checks that the file parses, that every
question is well-formed, that every answer string really occurs in one of the
documents it lists (after Unicode NFKC and removal of all white space, the
same comparison the evaluator uses), and that the set keeps its minimum size
and coverage per language, type and style.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "evals" / "gold.jsonl"
CORPUS = ROOT / "corpus"

REQUIRED_KEYS = {"id", "question", "lang", "type", "style"}
LANGS = {"ja", "en"}
TYPES = {
    "fact",
    "paraphrase",
    "table",
    "front_matter",
    "slide",
    "multi_doc",
    "numeric",
    "unanswerable",
}
STYLES = {"natural", "lookup"}

MIN_TOTAL = 120
MIN_PER_LANG = 50
MIN_UNANSWERABLE = 10
MIN_PER_TYPE = 5


def _norm(text: str) -> str:
    """NFKC, then drop every white-space character (contract §3)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _read_doc(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8")


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    assert GOLD.is_file(), f"missing {GOLD}"
    rows = []
    for lineno, line in enumerate(GOLD.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - failure path
            pytest.fail(f"{GOLD.name}:{lineno} is not valid JSON: {exc}")
        assert isinstance(obj, dict), f"line {lineno} is not a JSON object"
        rows.append(obj)
    assert rows, "gold file is empty"
    return rows


@pytest.fixture(scope="module")
def corpus_norm() -> dict[str, str]:
    docs = {}
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file():
            doc_id = path.relative_to(CORPUS).as_posix()
            try:
                docs[doc_id] = _norm(_read_doc(path))
            except UnicodeDecodeError:
                continue
    assert docs, f"no readable documents under {CORPUS}"
    return docs


def test_required_keys_and_values(questions):
    for q in questions:
        missing = REQUIRED_KEYS - q.keys()
        assert not missing, f"{q.get('id')}: missing keys {sorted(missing)}"
        assert isinstance(q["id"], str) and q["id"], q
        assert isinstance(q["question"], str) and q["question"].strip(), q["id"]
        assert q["lang"] in LANGS, f"{q['id']}: lang {q['lang']!r}"
        assert q["type"] in TYPES, f"{q['id']}: type {q['type']!r}"
        assert q["style"] in STYLES, f"{q['id']}: style {q['style']!r}"


def test_ids_unique(questions):
    counts = Counter(q["id"] for q in questions)
    dups = [i for i, n in counts.items() if n > 1]
    assert not dups, f"duplicate ids: {dups}"


def test_questions_unique(questions):
    counts = Counter(_norm(q["question"]).lower() for q in questions)
    dups = [i for i, n in counts.items() if n > 1]
    assert not dups, f"duplicate question texts: {dups}"


def test_unanswerable_shape(questions):
    for q in questions:
        is_unans = q["type"] == "unanswerable"
        assert bool(q.get("unanswerable", False)) == is_unans, (
            f"{q['id']}: type and unanswerable flag disagree"
        )
        if is_unans:
            assert q["unanswerable"] is True, q["id"]
            for key in ("docs", "doc", "answers", "passage"):
                assert not q.get(key), f"{q['id']}: unanswerable but has {key!r}"


def test_answerable_shape(questions):
    for q in questions:
        if q.get("unanswerable"):
            continue
        docs, answers = q.get("docs"), q.get("answers")
        assert isinstance(docs, list) and docs, f"{q['id']}: needs a non-empty docs list"
        assert all(isinstance(d, str) and d for d in docs), q["id"]
        assert len(set(docs)) == len(docs), f"{q['id']}: duplicate doc ids"
        assert isinstance(answers, list) and answers, f"{q['id']}: needs answers"
        for a in answers:
            assert isinstance(a, str), q["id"]
            assert len(_norm(a)) >= 2, f"{q['id']}: answer {a!r} is too short"
        if q["type"] == "multi_doc":
            assert len(docs) >= 2, f"{q['id']}: multi_doc must list several docs"


def test_listed_docs_exist(questions, corpus_norm):
    for q in questions:
        for d in q.get("docs", []):
            assert (CORPUS / d).is_file(), f"{q['id']}: doc {d!r} not in corpus/"
            assert d in corpus_norm, f"{q['id']}: doc {d!r} could not be read"


def test_every_answer_occurs_in_a_listed_doc(questions, corpus_norm):
    problems = []
    for q in questions:
        for a in q.get("answers", []):
            na = _norm(a)
            if not any(na in corpus_norm.get(d, "") for d in q.get("docs", [])):
                problems.append(f"{q['id']}: {a!r}")
    assert not problems, "answers not found in their docs:\n" + "\n".join(problems)


def test_every_listed_doc_contains_an_answer(questions, corpus_norm):
    """A listed doc without any answer string could never yield a relevant passage."""
    problems = []
    for q in questions:
        answers = [_norm(a) for a in q.get("answers", [])]
        for d in q.get("docs", []):
            text = corpus_norm.get(d, "")
            if not any(a in text for a in answers):
                problems.append(f"{q['id']}: {d}")
    assert not problems, "docs without any answer:\n" + "\n".join(problems)


def test_counts(questions):
    total = len(questions)
    langs = Counter(q["lang"] for q in questions)
    types = Counter(q["type"] for q in questions)
    natural = sum(1 for q in questions if q["style"] == "natural")
    unans = sum(1 for q in questions if q.get("unanswerable"))
    assert total >= MIN_TOTAL, f"only {total} questions"
    assert langs["ja"] >= MIN_PER_LANG, f"only {langs['ja']} ja questions"
    assert langs["en"] >= MIN_PER_LANG, f"only {langs['en']} en questions"
    assert unans >= MIN_UNANSWERABLE, f"only {unans} unanswerable questions"
    assert natural * 2 >= total, f"only {natural}/{total} natural questions"
    for t in TYPES:
        assert types[t] >= MIN_PER_TYPE, f"type {t!r} has only {types[t]} questions"
