"""The API's passage object (docs/CONTRACTS.md §2), built from a retrieval hit."""

from __future__ import annotations

from typing import Any

from kotae.index.search import Hit
from kotae.ingest.chunk import SECTION_SEPARATOR


def place_label(title: str | None, section: str | None) -> str:
    """Where a passage sits, for people: `title › section`, without saying a heading twice. A
    document whose first heading is its title (most Markdown files) would otherwise read
    「メモ › メモ › 概要」."""
    parts: list[str] = [title] if title else []
    for part in section.split(SECTION_SEPARATOR) if section else ():
        if not parts or part != parts[-1]:
            parts.append(part)
    return SECTION_SEPARATOR.join(parts)


def passage_json(hit: Hit, citation: int) -> dict[str, Any]:
    return {
        "citation": citation,
        "doc_id": hit.doc_id,
        "title": hit.title,
        "section": hit.section,
        "page": hit.page,
        "char_start": hit.char_start,
        "char_end": hit.char_end,
        "text": hit.text,
        "lang": hit.lang,
        "score": round(hit.score, 6),
        "scores": {k: round(v, 6) for k, v in hit.scores.items()},
        "highlight": list(hit.highlight),
    }
