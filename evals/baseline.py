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
from typing import Any, Sequence

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
    """The shape of :class:`kotae.index.meta.StoredPassage` the relevance judge reads."""

    row: int
    passage: _Para


def paragraphs(text: str) -> list[tuple[int, int]]:
    """[start, end) of every paragraph: maximal runs of non-blank lines."""
    return [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text)]


def _index_langs(index: Any) -> dict[str, list[tuple[int, int, str]]]:
    """Per document, the (start, end, lang) of the index's passages: a paragraph takes the
    language kotae gave the text there, so "cross-lingual" means the same for every config."""
    n = int(index.manifest["counts"]["passages"])
    out: dict[str, list[tuple[int, int, str]]] = {}
    for sp in index.passages(list(range(n))):
        p = sp.passage
        out.setdefault(p.doc_id, []).append((p.char_start, p.char_end, p.lang))
    return out


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
    (``documents``, ``document``, ``passages``, ``manifest``) so relevance is enumerated over
    paragraphs and recall has the right denominator."""

    def __init__(self, index: Any):
        self._index = index
        self._docs = index.documents()
        langs = _index_langs(index)
        paras: list[_Para] = []
        for d in self._docs:
            doc = index.document(d["doc_id"])
            if doc is None:
                continue
            spans = langs.get(doc.doc_id, [])
            paras.extend(_Para(doc.doc_id, s, e, doc.text[s:e], _lang_of(s, e, spans)) for s, e in paragraphs(doc.text))
        self.paragraphs = paras
        self.manifest = {"counts": {"passages": len(paras), "documents": len(self._docs)}, "embedder": {"name": "none"},
                         "keyword": {"library": "bm25s", "tokenizer": BaselineConfig.tokenizer},
                         "chunker": {"passages": BaselineConfig.passages}}
        self.path = getattr(index, "path", None)

    def documents(self) -> list[dict[str, Any]]:
        return self._docs

    def document(self, doc_id: str):
        return self._index.document(doc_id)

    def passages(self, rows: Sequence[int]) -> list[_Stored]:
        return [_Stored(int(r), self.paragraphs[int(r)]) for r in rows]


class ParagraphBM25:
    """``search(query, k)`` over the paragraphs of an opened kotae index."""

    def __init__(self, index: Any):
        self.backend = ParagraphBackend(index)
        self.config = BaselineConfig()
        self._bm25 = KeywordIndex.build([tokenize(p.text, self.config.tokenizer) for p in self.backend.paragraphs])

    def search(self, query: str, k: int = 10) -> list[dict[str, Any]]:
        scores, rows = self._bm25.search(tokenize(query, self.config.tokenizer), k)
        out = []
        for rank, (score, row) in enumerate(zip(scores.tolist(), rows.tolist()), 1):
            p = self.backend.paragraphs[row]
            out.append({"citation": rank, "doc_id": p.doc_id, "char_start": p.char_start, "char_end": p.char_end,
                        "text": p.text, "lang": p.lang, "score": float(score), "row": int(row), "kind": "paragraph"})
        return out
