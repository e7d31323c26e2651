"""Which lines of a passage are headings, read from its stored document at answer time.

A passage's display text has lost its Markdown marks (``## Step 1: Proprietary Data`` reads
``Step 1: Proprietary Data``), so a sub-heading inside a passage looks like a ``key: value``
line or a short sentence, and was quoted alone as an answer. The heading at a passage's start
is its section (``Passage.section``); the others are found again in the stored document
(``backend.document``), so that no index has to be rebuilt for them:

- the headings ingest/structure.py finds in the document's body (Markdown headings, and in
  plain text without them a short line alone between blank lines), once per document;
- the lines that cleaning the passage's source span (ingest/clean.py, which made its display
  text) keeps apart as headings: a line bold as a whole (``**Le Chat Enterprise**``) and, in
  PDF and slide text, a short line over the full sentence after it (``料金体系``), once per passage.

Both are cached per index view (a Retriever lives as long as its index generation).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from kotae.index.highlight import clean_sentence
from kotae.index.lru import LRU
from kotae.ingest.clean import clean_text
from kotae.ingest.document import Document, Passage
from kotae.ingest.frontmatter import body_start
from kotae.ingest.structure import heading_spans

_NONE: frozenset[str] = frozenset()


def structure_headings(doc: Document) -> tuple[list[int], list[int], list[str]]:
    """Starts, ends and texts (as a passage's line reads) of the heading lines ingest/structure.py
    finds in a document's body."""
    text = doc.text
    spans = heading_spans(text, body_start(text) if doc.kind != "pdf" else 0, len(text), doc.page_starts)
    texts = [clean_sentence(clean_text(text[s:e]), None) for s, e in spans]
    return [s for s, _ in spans], [e for _, e in spans], texts


def passage_headings(doc: Document, start: int, end: int, structure: tuple[list[int], list[int], list[str]]) -> frozenset[str]:
    """The texts of the heading lines of the passage ``doc.text[start:end]``, as its lines read."""
    starts, ends, texts = structure
    found = {texts[i] for i in range(bisect_left(starts, start), bisect_right(starts, end)) if ends[i] <= end}
    marked: list[str] = []
    clean_text(doc.text[start:end], marked)
    found.update(clean_sentence(line, None) for line in marked)
    found.discard("")
    return frozenset(found) if found else _NONE


class DocumentHeadings:
    """The heading lines of an index view's passages (see the module docstring)."""

    def __init__(self, backend, passages: int = 20000, documents: int = 4096, texts: int = 16):
        self._read = getattr(backend, "document", None)  # a backend without stored documents: none known
        self._passages = LRU(passages)
        self._structure = LRU(documents)
        self._texts = LRU(texts)  # the last documents read whole: the passages of one question share a few

    def of(self, passage: Passage) -> frozenset[str]:
        """The texts of the heading lines inside a passage (as its lines read)."""
        if passage.kind == "front_matter" or self._read is None:
            return _NONE
        return self._passages.get_or_make((passage.doc_id, passage.char_start, passage.char_end), lambda: self._find(passage))

    def _find(self, passage: Passage) -> frozenset[str]:
        doc = self._texts.get_or_make(passage.doc_id, lambda: self._read(passage.doc_id) or False)
        if doc is False:
            return _NONE
        structure = self._structure.get_or_make(passage.doc_id, lambda: structure_headings(doc))
        return passage_headings(doc, passage.char_start, passage.char_end, structure)
