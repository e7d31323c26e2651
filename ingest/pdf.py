"""Text out of PDFs with pypdf, pages kept apart by form feeds so offsets map to pages."""

from __future__ import annotations

import io
from dataclasses import dataclass


class PdfError(ValueError):
    pass


@dataclass(frozen=True)
class PdfText:
    text: str  # pages joined by '\f'
    page_starts: tuple[int, ...]
    title: str | None
    warnings: tuple[str, ...] = ()


def extract_pdf(data: bytes, max_pages: int = 5000) -> PdfText:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise PdfError("is not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # An empty user password is common; anything else we cannot open.
            if not reader.decrypt(""):
                raise PdfError("is an encrypted PDF that needs a password")
        pages = reader.pages
        n = len(pages)
        warnings = []
        if n > max_pages:
            warnings.append(f"only the first {max_pages} of {n} pages were read")
            n = max_pages
        texts = []
        for i in range(n):
            texts.append((pages[i].extract_text() or "").replace("\f", "\n"))
        meta_title = None
        if reader.metadata is not None and reader.metadata.title:
            meta_title = str(reader.metadata.title).strip() or None
    except PdfError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise PdfError(f"is a broken PDF ({type(exc).__name__}: {str(exc)[:120]})") from None
    starts = []
    pos = 0
    for t in texts:
        starts.append(pos)
        pos += len(t) + 1
    text = "\f".join(texts)
    if not text.strip():
        raise PdfError("has no text layer (scanned images?); nothing to index")
    return PdfText(text, tuple(starts), meta_title, tuple(warnings))
