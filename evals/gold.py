"""Gold question files (docs/CONTRACTS.md §3): load, validate, normalise.

Every form of relevance the contract allows is accepted:

- ``docs`` (+ optional ``answers``), or ``doc`` as shorthand for ``docs: [doc]``;
- ``passage`` (exact text of a span in ``doc``), optional ``passage_start`` and
  ``alt_passages`` (objects with ``passage`` and optional ``passage_start``);
- ``unanswerable: true``.

Keys the evaluator does not know are kept in :attr:`GoldQuestion.extra` and passed through
to the per-question report.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

KNOWN_KEYS = {"id", "question", "lang", "type", "docs", "doc", "answers", "passage", "passage_start",
              "alt_passages", "unanswerable"}


class GoldError(ValueError):
    """The gold file breaks docs/CONTRACTS.md §3; the message names the file and line."""


@dataclass(frozen=True)
class GoldPassage:
    """A gold span: its exact text in ``doc`` and, if the file gives it, its start offset."""

    doc: str
    text: str
    start: int | None = None


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    lang: str  # from the file, else detected from the question text
    type: str | None = None
    docs: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    passages: tuple[GoldPassage, ...] = ()
    unanswerable: bool = False
    # Every key of the line that the evaluator does not interpret (type, style, source, ...).
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    lang_given: bool = True

    @property
    def answerable(self) -> bool:
        return not self.unanswerable

    def to_dict(self) -> dict[str, Any]:
        """The question as written back into reports: the original keys plus the derived lang."""
        out: dict[str, Any] = {"id": self.id, "question": self.question, "lang": self.lang}
        if self.type is not None:
            out["type"] = self.type
        if self.docs:
            out["docs"] = list(self.docs)
        if self.answers:
            out["answers"] = list(self.answers)
        if self.passages:
            out["passages"] = [{"doc": p.doc, "passage": p.text, "passage_start": p.start} for p in self.passages]
        if self.unanswerable:
            out["unanswerable"] = True
        out.update(self.extra)
        return out


def _fail(where: str, message: str) -> GoldError:
    return GoldError(f"{where}: {message}")


def _str_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(where, f"{key!r} must be a list of non-empty strings")
    return tuple(dict.fromkeys(value))


def _gold_passage(obj: Any, doc: str | None, where: str, key: str) -> GoldPassage:
    if isinstance(obj, str):
        obj = {"passage": obj}
    if not isinstance(obj, dict):
        raise _fail(where, f"{key!r} entries must be objects with 'passage' and optional 'passage_start'")
    text = obj.get("passage")
    if not isinstance(text, str) or not text.strip():
        raise _fail(where, f"{key!r}: 'passage' must be a non-empty string")
    span_doc = obj.get("doc", doc)
    if not isinstance(span_doc, str) or not span_doc:
        raise _fail(where, f"{key!r} needs 'doc' (the document the passage is in)")
    start = obj.get("passage_start")
    if start is not None and (isinstance(start, bool) or not isinstance(start, int) or start < 0):
        raise _fail(where, f"{key!r}: 'passage_start' must be a non-negative integer")
    return GoldPassage(span_doc, text, start)


def parse_question(obj: Any, where: str = "<gold>") -> GoldQuestion:
    """One gold line (already JSON-decoded) to a :class:`GoldQuestion`, or :class:`GoldError`."""
    if not isinstance(obj, dict):
        raise _fail(where, "each line must be a JSON object")
    qid, question = obj.get("id"), obj.get("question")
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid.strip():
        raise _fail(where, "'id' is required (a non-empty string)")
    where = f"{where} (id {qid})"
    if not isinstance(question, str) or not question.strip():
        raise _fail(where, "'question' is required (a non-empty string)")

    lang = obj.get("lang")
    lang_given = lang is not None
    if lang is None:
        from kotae.ingest.lang import detect_language

        lang = detect_language(question)
    elif not isinstance(lang, str) or not lang:
        raise _fail(where, "'lang' must be a language code such as 'ja' or 'en'")
    qtype = obj.get("type")
    if qtype is not None and not isinstance(qtype, str):
        raise _fail(where, "'type' must be a string")

    unanswerable = obj.get("unanswerable", False)
    if not isinstance(unanswerable, bool):
        raise _fail(where, "'unanswerable' must be true or false")

    docs: tuple[str, ...] = ()
    if obj.get("docs") is not None:
        docs = _str_list(obj["docs"], "docs", where)
    doc = obj.get("doc")
    if doc is not None:
        if not isinstance(doc, str) or not doc:
            raise _fail(where, "'doc' must be a document id")
    answers = _str_list(obj["answers"], "answers", where) if obj.get("answers") is not None else ()

    passages: list[GoldPassage] = []
    if obj.get("passage") is not None:
        if doc is None and len(docs) != 1:
            raise _fail(where, "'passage' needs 'doc' (the document the passage is in)")
        passages.append(_gold_passage({"passage": obj["passage"], "passage_start": obj.get("passage_start")},
                                      doc or docs[0], where, "passage"))
    elif obj.get("passage_start") is not None:
        raise _fail(where, "'passage_start' without 'passage'")
    alts = obj.get("alt_passages")
    if alts is not None:
        if not isinstance(alts, list):
            raise _fail(where, "'alt_passages' must be a list")
        if not passages:
            raise _fail(where, "'alt_passages' without 'passage'")
        passages.extend(_gold_passage(a, passages[0].doc, where, "alt_passages") for a in alts)

    # `doc` means `docs: [doc]` unless it only names the document of a passage span:
    # then relevance is the span overlap, not "any passage of the document".
    if doc is not None and not passages and doc not in docs:
        docs = docs + (doc,)
    # Beside a passage span, `answers` are the gold answer strings for answer metrics; the
    # span alone decides relevance. Without a span they select passages of `docs`.
    if answers and not docs and not passages:
        raise _fail(where, "'answers' needs 'docs' or 'doc' (the documents the answers are in)")

    if unanswerable and (docs or answers or passages):
        raise _fail(where, "an unanswerable question cannot also list docs, answers or passages")
    if not unanswerable and not (docs or passages):
        raise _fail(where, "no relevance given: add 'docs' (+ 'answers'), 'doc' + 'passage', or 'unanswerable': true")

    extra = {k: v for k, v in obj.items() if k not in KNOWN_KEYS}
    return GoldQuestion(
        id=qid, question=question, lang=lang, type=qtype if qtype is not None else ("unanswerable" if unanswerable else None),
        docs=docs, answers=answers, passages=tuple(passages), unanswerable=unanswerable, extra=extra, lang_given=lang_given,
    )


def parse_gold(objects: Iterable[Any], source: str = "<gold>") -> list[GoldQuestion]:
    """Parse already-decoded gold lines; ids must be unique and there must be at least one."""
    questions = [parse_question(obj, f"{source}:{i}") for i, obj in enumerate(objects, 1)]
    if not questions:
        raise GoldError(f"{source}: no questions")
    dups = [qid for qid, n in Counter(q.id for q in questions).items() if n > 1]
    if dups:
        raise GoldError(f"{source}: duplicate ids: {', '.join(sorted(dups)[:10])}")
    return questions


def load_gold(path: str | Path) -> list[GoldQuestion]:
    """Read a JSON Lines gold file (UTF-8, BOM allowed; blank lines and ``#`` comments skipped)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"gold file {path} not found")
    objects: list[Any] = []
    lines: list[int] = []
    text = path.read_text(encoding="utf-8-sig")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise GoldError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        lines.append(lineno)
    if not objects:
        raise GoldError(f"{path}: no questions")
    questions = [parse_question(obj, f"{path}:{lineno}") for obj, lineno in zip(objects, lines)]
    dups = [qid for qid, n in Counter(q.id for q in questions).items() if n > 1]
    if dups:
        raise GoldError(f"{path}: duplicate ids: {', '.join(sorted(dups)[:10])}")
    return questions


def check_against_corpus(questions: Iterable[GoldQuestion], doc_ids: Iterable[str]) -> list[str]:
    """Problems a run would silently score as misses: gold documents that are not in the index."""
    known = set(doc_ids)
    problems = []
    for q in questions:
        missing = [d for d in list(q.docs) + [p.doc for p in q.passages] if d not in known]
        if missing:
            problems.append(f"{q.id}: document(s) not in the index: {', '.join(dict.fromkeys(missing))}")
    return problems
