"""The API's passage object (docs/CONTRACTS.md §2), built from a retrieval hit."""

from __future__ import annotations

from typing import Any

from kotae.index.search import Hit


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
