"""Text out of PDFs with pypdf, pages kept apart by form feeds so offsets map to pages.

Hostile PDFs are bounded: a page cap, a cap on text per page and per document, a time
budget, pypdf's decompression and parsing limits lowered for text extraction, and any error
on one page costs that page only. Pages whose text is garbage (fonts without a Unicode
map) are left out and reported; a PDF with nothing readable is an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import time
from dataclasses import dataclass

from kotae.ingest.quality import garbage_reason


class PdfError(ValueError):
    pass


@dataclass(frozen=True)
class PdfText:
    text: str  # pages joined by '\f'
    page_starts: tuple[int, ...]
    title: str | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PdfLimits:
    max_pages: int = 5000
    max_page_chars: int = 200_000
    max_chars: int = 20_000_000
    seconds: float = 120.0
    # pypdf limits, far below its defaults: a page's text never needs more.
    max_stream_bytes: int = 32_000_000
    max_stream_tokens: int = 300_000


def _pypdf_limits(limits: PdfLimits):
    try:
        from pypdf import apply_configuration
    except ImportError:  # pypdf < 7 has only its built-in limits
        return contextlib.nullcontext()
    return apply_configuration(
        zlib_maximum_output_length=limits.max_stream_bytes,
        lzw_maximum_output_length=limits.max_stream_bytes,
        run_length_maximum_output_length=limits.max_stream_bytes,
        stream_parsing_work_maximum_count=limits.max_stream_tokens,
    )


def _pages_list(pages: list[int]) -> str:
    shown = ", ".join(str(p) for p in pages[:10])
    return shown + (f" and {len(pages) - 10} more" if len(pages) > 10 else "")


def extract_pdf(data: bytes, max_pages: int | None = None, limits: PdfLimits | None = None) -> PdfText:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    limits = limits or PdfLimits()
    if max_pages is not None:
        limits = dataclasses.replace(limits, max_pages=max_pages)
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise PdfError("is not a PDF (no %PDF header)")
    started = time.monotonic()
    warnings: list[str] = []
    failed: list[int] = []
    garbage: list[tuple[int, str]] = []
    truncated: list[int] = []
    texts: list[str] = []
    total = 0
    with _pypdf_limits(limits):
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                # An empty user password is common; anything else we cannot open.
                try:
                    opened = reader.decrypt("")
                except (PyPdfError, NotImplementedError) as exc:
                    raise PdfError(f"is an encrypted PDF that cannot be opened ({str(exc)[:120]})") from None
                if not opened:
                    raise PdfError("is an encrypted PDF that needs a password")
            pages = reader.pages
            n = len(pages)
            meta_title = None
            with contextlib.suppress(Exception):
                if reader.metadata is not None and reader.metadata.title:
                    meta_title = str(reader.metadata.title).strip() or None
        except PdfError:
            raise
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
                RecursionError, NotImplementedError, AssertionError, ZeroDivisionError) as exc:
            raise PdfError(f"is a broken PDF ({type(exc).__name__}: {str(exc)[:120]})") from None
        if n > limits.max_pages:
            warnings.append(f"only the first {limits.max_pages} of {n} pages were read")
            n = limits.max_pages
        for i in range(n):
            if i > 0 and time.monotonic() - started > limits.seconds:
                warnings.append(f"reading stopped after {limits.seconds:.0f} s at page {i} of {n}")
                break
            if total >= limits.max_chars:
                warnings.append(f"reading stopped at page {i} of {n}: the text limit of {limits.max_chars:,} characters was reached")
                break
            try:
                page_text = (pages[i].extract_text() or "").replace("\f", "\n")
            except Exception as exc:  # noqa: BLE001 - one bad page costs that page only
                failed.append(i + 1)
                if len(failed) == 1:
                    warnings.append(f"page {i + 1} could not be read ({type(exc).__name__}: {str(exc)[:80]})")
                page_text = ""
            if len(page_text) > limits.max_page_chars:
                truncated.append(i + 1)
                page_text = page_text[: limits.max_page_chars]
            reason = garbage_reason(page_text)
            if reason:
                garbage.append((i + 1, reason))
                page_text = ""
            texts.append(page_text)
            total += len(page_text)
    if len(failed) > 1:
        warnings.append(f"{len(failed)} pages could not be read: {_pages_list(failed)}")
    if truncated:
        warnings.append(f"text of page(s) {_pages_list(truncated)} cut at {limits.max_page_chars:,} characters")
    # Short pages escape the per-page check; judge what is left as a whole too.
    remaining = "\n".join(texts)
    reason = garbage_reason(remaining) if remaining.strip() else (garbage[0][1] if garbage else None)
    if reason:
        raise PdfError(f"text extracted from this PDF is unreadable ({reason}; fonts without a Unicode map?); not indexed")
    if garbage:
        warnings.append(f"page(s) {_pages_list([p for p, _ in garbage])} left out: unreadable text ({garbage[0][1]}; fonts without a Unicode map?)")
    starts = []
    pos = 0
    for t in texts:
        starts.append(pos)
        pos += len(t) + 1
    text = "\f".join(texts)
    if not text.strip():
        if failed and len(failed) == len(texts):
            raise PdfError(f"is a broken PDF: none of its {len(texts)} page(s) could be read")
        raise PdfError("has no text layer (scanned images?); nothing to index")
    return PdfText(text, tuple(starts), meta_title, tuple(warnings))
