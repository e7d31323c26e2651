"""One file to a Document and its passages: decode, front matter, structure, chunks."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from kotae.ingest.chunk import ChunkSettings, TokenCounter, chunk_document
from kotae.ingest.decode import DecodeError, decode_bytes
from kotae.ingest.discover import SourceFile
from kotae.ingest.document import Document, Passage
from kotae.ingest.frontmatter import split_front_matter, title_from_metadata
from kotae.ingest.pdf import PdfError, PdfLimits, extract_pdf
from kotae.ingest.structure import segment_body
from kotae.settings import MB


class IngestError(ValueError):
    """A file that cannot become a document; the message says why, for the summary."""


@dataclass(frozen=True)
class ReadLimits:
    """What one file may cost. Files above the size caps are not read at all."""

    max_text_bytes: int = 20_000_000
    max_pdf_bytes: int = 200_000_000
    pdf: PdfLimits = PdfLimits()

    def max_bytes(self, kind: str) -> int:
        return self.max_pdf_bytes if kind == "pdf" else self.max_text_bytes


def too_large(kind: str, size: int, limits: ReadLimits) -> str | None:
    """The skip reason for a file of `size` bytes, or None if it may be read."""
    cap = limits.max_bytes(kind)
    if size <= cap:
        return None
    setting = "KOTAE_MAX_PDF_MB" if kind == "pdf" else "KOTAE_MAX_TEXT_MB"
    return f"is {size / MB:.1f} MB, above the {cap / MB:g} MB limit for {'PDF' if kind == 'pdf' else 'text'} files ({setting}); not read"


@dataclass(frozen=True)
class ReadDocument:
    document: Document
    passages: list[Passage]


_FIRST_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
# A plain-text report usually opens with its title on a short line of its own.
_FIRST_LINE = re.compile(r"\A\s*([^\n]{1,80})\n\s*\n")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_document(
    source: SourceFile,
    data: bytes,
    cfg: ChunkSettings,
    count_tokens: TokenCounter | None = None,
    limits: ReadLimits | None = None,
) -> ReadDocument:
    limits = limits or ReadLimits()
    reason = too_large(source.kind, len(data), limits)
    if reason:
        raise IngestError(reason)
    if not data.strip():
        raise IngestError("is empty")
    warnings: list[str] = []
    page_starts: tuple[int, ...] = ()
    pdf_title = None
    if source.kind == "pdf":
        try:
            pdf = extract_pdf(data, limits=limits.pdf)
        except PdfError as exc:
            raise IngestError(str(exc)) from None
        text, encoding, page_starts, pdf_title = pdf.text, "pdf", pdf.page_starts, pdf.title
        warnings.extend(pdf.warnings)
    else:
        try:
            decoded = decode_bytes(data)
        except DecodeError as exc:
            raise IngestError(str(exc)) from None
        text, encoding = decoded.text, decoded.encoding
        if decoded.warning:
            warnings.append(decoded.warning)
    if not text.strip():
        raise IngestError("has only white space")

    fm = split_front_matter(text) if source.kind != "pdf" else None
    metadata = dict(fm.metadata) if fm else {}
    if fm and fm.error:
        warnings.append(fm.error)
    body_start = fm.body_start if fm else 0
    heading = _FIRST_HEADING.search(text, body_start) or _FIRST_LINE.match(text[body_start:])
    title = (
        title_from_metadata(metadata)
        or pdf_title
        or (re.sub(r"\*\*|__|`", "", heading.group(1)).strip() if heading else None)
        or Path(source.doc_id).stem
    )
    doc = Document(
        doc_id=source.doc_id,
        text=text,
        title=title,
        kind=source.kind,
        encoding=encoding,
        content_hash=content_hash(data),
        metadata=_jsonable(metadata),
        page_starts=page_starts,
        warnings=tuple(warnings),
    )
    segments = segment_body(text, body_start, len(text), page_starts)
    passages = chunk_document(doc, segments, cfg, front_matter=fm, count_tokens=count_tokens)
    if not passages:
        raise IngestError("has no text to index")
    return ReadDocument(doc, passages)


def _jsonable(value, depth: int = 0):
    """Front matter values as plain JSON types (YAML dates become ISO strings)."""
    if depth > 8:
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in list(value)[:200]]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
