"""The plain baseline kotae has to beat: BM25 over character bigrams, one passage per paragraph.

Issue 10's targets compare kotae against "a plain character-bigram BM25 run on the same set".
This is that run, built from the documents of a kotae index (so offsets and document ids are the
ones the gold files and the relevance judge use) but with none of kotae's machinery:

- passages are the document's paragraphs (text between blank lines), not kotae's chunks;
- tokens are kotae's ``bigram`` tokenizer (Japanese runs as overlapping character bigrams,
  Latin words lower-cased with a light plural/stop-word normalisation); no title or section
  context is added to a paragraph;
- ranking is bm25s BM25 (Lucene idf, k1=1.5, b=0.75), no dense side, no fusion, no second
  stage, no de-duplication, no abstention.

Nothing is embedded, so it costs seconds on any corpus. It never touches the index on disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kotae.index.backends import SearchBackend
from kotae.index.keyword import KeywordIndex
from kotae.index.tokenize import tokenize

# A paragraph ends at a blank line (white space only).
_PARAGRAPH = re.compile(r"[^\n]*\S[^\n]*(?:\n[^\n]*\S[^\n]*)*")


@dataclass(frozen=True)
class BaselineConfig:
    """What the baseline is, for the report's configuration record."""

    mode: str = "keyword"
    passages: str = "paragraphs (blank-line separated), no context"
    tokenizer: str = "bigram"
    ranking: str = "bm25s BM25 (Lucene idf, k1=1.5, b=0.75)"


@dataclass(frozen=True)
class _Para:
    doc_id: str
    char_start: int
    char_end: int
    text: str
    lang: str


@dataclass(frozen=True)
class _Stored:
    """The shape of :class:`kotae.index.backends.StoredPassage` the relevance judge reads."""

    id: str
    passage: _Para


def paragraphs(text: str) -> list[tuple[int, int]]:
    """[start, end) of every paragraph: maximal runs of non-blank lines."""
    return [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text)]


def _index_langs(index: SearchBackend, doc_id: str) -> list[tuple[int, int, str]]:
    """The (start, end, lang) of a document's passages in the index: a paragraph takes the
    language kotae gave the text there, so "cross-lingual" means the same for every config."""
    return [(sp.passage.char_start, sp.passage.char_end, sp.passage.lang) for sp in index.document_passages(doc_id)]


def _lang_of(start: int, end: int, spans: list[tuple[int, int, str]]) -> str:
    """The language of the index passage overlapping [start, end) most (characters)."""
    best, lang = 0, "und"
    for s, e, passage_lang in spans:
        overlap = min(end, e) - max(start, s)
        if overlap > best:
            best, lang = overlap, passage_lang
    return lang


class ParagraphBackend:
    """The baseline's passages, exposing what :func:`kotae.evals.evaluate` reads of an index
    (``documents``, ``document``, ``document_passages``) so relevance is enumerated over
    paragraphs and recall has the right denominator. A paragraph's id is ``doc_id¶n``."""

    def __init__(self, index: SearchBackend):
        self._index = index
        self._docs = index.documents()
        self.paragraphs: list[_Stored] = []
        self._by_doc: dict[str, list[_Stored]] = {}
        for d in self._docs:
            doc = index.document(d["doc_id"])
            if doc is None:
                continue
            spans = _index_langs(index, doc.doc_id)
            paras = [_Stored(f"{doc.doc_id}¶{i}", _Para(doc.doc_id, s, e, doc.text[s:e], _lang_of(s, e, spans)))
                     for i, (s, e) in enumerate(paragraphs(doc.text))]
            self._by_doc[doc.doc_id] = paras
            self.paragraphs.extend(paras)

    def documents(self) -> list[dict[str, Any]]:
        return self._docs

    def document(self, doc_id: str):
        return self._index.document(doc_id)

    def document_passages(self, doc_id: str) -> list[_Stored]:
        return self._by_doc.get(doc_id, [])


class ParagraphBM25:
    """``search(query, k)`` over the paragraphs of an opened kotae index."""

    def __init__(self, index: Any):
        self.backend = ParagraphBackend(index)
        self.config = BaselineConfig()
        self._bm25 = KeywordIndex.build([tokenize(p.passage.text, self.config.tokenizer) for p in self.backend.paragraphs])

    def search(self, query: str, k: int = 10) -> list[dict[str, Any]]:
        scores, rows = self._bm25.search(tokenize(query, self.config.tokenizer), k)
        out = []
        for rank, (score, row) in enumerate(zip(scores.tolist(), rows.tolist()), 1):
            stored = self.backend.paragraphs[row]
            p = stored.passage
            out.append({"citation": rank, "doc_id": p.doc_id, "char_start": p.char_start, "char_end": p.char_end,
                        "text": p.text, "lang": p.lang, "score": float(score), "id": stored.id, "kind": "paragraph"})
        return out
