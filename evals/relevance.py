"""Is a retrieved passage relevant to a gold question? (docs/CONTRACTS.md §3, binary relevance)

- ``docs`` + ``answers``: the passage comes from one of ``docs`` and contains one of ``answers``
  after Unicode NFKC and removal of all white space. The passage's shown ``text`` and its source
  span ``original_text[char_start:char_end]`` are both checked (answers are copied from the
  source, ``text`` may have layout noise removed).
- ``docs`` without ``answers``: any passage of those documents.
- ``passage`` spans: ``[char_start, char_end)`` overlaps a gold span of the same document by at
  least half of the shorter of the two. A span without ``passage_start`` (or whose start does not
  match the text there) is located in the document's original text.
- ``unanswerable``: nothing is relevant.

Criteria a question gives are OR-ed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable

from kotae.evals.gold import GoldPassage, GoldQuestion

_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, then every white-space character removed (the contract's comparison)."""
    return _WS.sub("", unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class Span:
    doc_id: str
    start: int
    end: int


def overlaps_enough(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Overlap of [a) and [b) is at least half of the shorter one (and non-empty)."""
    overlap = min(a_end, b_end) - max(a_start, b_start)
    shorter = min(a_end - a_start, b_end - b_start)
    return overlap > 0 and shorter > 0 and overlap * 2 >= shorter


def _normalized_with_map(text: str) -> tuple[str, list[int]]:
    """Normalised text and, per normalised character, the offset of its source character."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for n in _WS.sub("", unicodedata.normalize("NFKC", ch)):
            out.append(n)
            where.append(i)
    return "".join(out), where


def locate(doc_text: str, passage: GoldPassage) -> tuple[int, int] | None:
    """The [start, end) of a gold passage in the original text, or None if it is not there."""
    text = passage.text
    if passage.start is not None and doc_text[passage.start : passage.start + len(text)] == text:
        return passage.start, passage.start + len(text)
    hits = [m.start() for m in re.finditer(re.escape(text), doc_text)]
    if not hits:
        # Tolerate white-space and width differences (PDF extraction, copy-paste).
        norm_doc, where = _normalized_with_map(doc_text)
        needle = normalize(text)
        if not needle:
            return None
        starts = [m.start() for m in re.finditer(re.escape(needle), norm_doc)]
        if not starts:
            return None
        spans = [(where[s], where[s + len(needle) - 1] + 1) for s in starts]
    else:
        spans = [(s, s + len(text)) for s in hits]
    if passage.start is not None:
        return min(spans, key=lambda sp: abs(sp[0] - passage.start))
    return spans[0]


class RelevanceJudge:
    """Judges passages against gold questions; locates passage spans once per question.

    ``doc_text(doc_id)`` returns a document's original decoded text (or None); it is only
    needed for answer checks on the source span and for locating ``passage`` spans.
    """

    def __init__(self, doc_text: Callable[[str], str | None] | None = None):
        self._doc_text = doc_text
        self._texts: dict[str, str | None] = {}
        self._spans: dict[str, tuple[Span, ...]] = {}
        self._answers: dict[str, tuple[str, ...]] = {}
        self.warnings: list[str] = []

    def text_of(self, doc_id: str) -> str | None:
        if doc_id not in self._texts:
            self._texts[doc_id] = self._doc_text(doc_id) if self._doc_text else None
        return self._texts[doc_id]

    def spans(self, q: GoldQuestion) -> tuple[Span, ...]:
        if q.id not in self._spans:
            found = []
            for p in q.passages:
                text = self.text_of(p.doc)
                if text is None:
                    self.warnings.append(f"{q.id}: gold passage document {p.doc!r} is not in the index")
                    continue
                span = locate(text, p)
                if span is None:
                    self.warnings.append(f"{q.id}: gold passage {p.text[:40]!r} not found in {p.doc}")
                    continue
                if p.start is not None and span[0] != p.start:
                    self.warnings.append(f"{q.id}: passage_start {p.start} of {p.doc} does not match; found the text at {span[0]}")
                found.append(Span(p.doc, *span))
            self._spans[q.id] = tuple(found)
        return self._spans[q.id]

    def _norm_answers(self, q: GoldQuestion) -> tuple[str, ...]:
        if q.id not in self._answers:
            self._answers[q.id] = tuple(a for a in (normalize(x) for x in q.answers) if a)
        return self._answers[q.id]

    def is_relevant(self, q: GoldQuestion, doc_id: str, char_start: int, char_end: int, text: str = "") -> bool:
        if q.unanswerable:
            return False
        if q.docs and doc_id in q.docs:
            answers = self._norm_answers(q)
            if not q.answers:
                return True
            shown = normalize(text)
            if any(a in shown for a in answers):
                return True
            source = self.text_of(doc_id)
            if source is not None:
                src = normalize(source[char_start:char_end])
                if any(a in src for a in answers):
                    return True
        if q.passages:
            for span in self.spans(q):
                if span.doc_id == doc_id and overlaps_enough(char_start, char_end, span.start, span.end):
                    return True
        return False

    def judge_hit(self, q: GoldQuestion, hit: Any) -> bool:
        """``hit``: a :class:`kotae.index.search.Hit`, a stored passage, or a docs/CONTRACTS.md §2 dict."""
        get = hit.get if isinstance(hit, dict) else lambda k, d=None: getattr(hit, k, d)
        return self.is_relevant(q, get("doc_id"), int(get("char_start")), int(get("char_end")), get("text", "") or "")
