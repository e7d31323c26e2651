"""Data that leaves the ingest stage: documents and the passages cut from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    doc_id: str  # path relative to the corpus root, '/'-separated
    text: str  # the original decoded text; passages' offsets index into it
    title: str
    kind: str  # "text", "markdown" or "pdf"
    encoding: str
    content_hash: str  # of the raw file bytes
    metadata: dict[str, Any] = field(default_factory=dict)
    # For PDFs, the offset in `text` where each page starts (pages are joined by '\f').
    page_starts: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()

    def page_at(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        page = 0
        for i, start in enumerate(self.page_starts):
            if start <= offset:
                page = i
        return page + 1


@dataclass(frozen=True)
class Passage:
    doc_id: str
    ordinal: int  # position within its document
    char_start: int
    char_end: int
    text: str  # what the user sees: the source span with layout noise removed
    section: str | None
    page: int | None
    lang: str
    kind: str  # "body", "table" or "front_matter"
    # Said to the embedder and the keyword index but not part of `text`:
    # title, section path, and a table's header row.
    context: str = ""

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text
