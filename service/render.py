"""Terminal rendering of ranked passages: `[n] title › section (p. N) score`, then the
text with the answering sentence highlighted."""

from __future__ import annotations

import textwrap

from kotae.index.search import Hit, SearchResult

_BOLD, _RESET = "\033[1;33m", "\033[0m"


def format_hit(hit: Hit, citation: int, color: bool) -> str:
    where = " › ".join(x for x in (hit.title, hit.section) if x)
    page = f" (p. {hit.page})" if hit.page else ""
    head = f"[{citation}] {where}{page}  score {hit.score:.4f}  {hit.doc_id}:{hit.char_start}-{hit.char_end}"
    s, e = hit.highlight
    on, off = (_BOLD, _RESET) if color else ("**", "**")
    body = hit.text[:s] + on + hit.text[s:e] + off + hit.text[e:]
    return head + "\n" + textwrap.indent(body, "    ")


def format_result(result: SearchResult, color: bool) -> str:
    if not result.hits:
        return "No passage found in the documents."
    return "\n\n".join(format_hit(h, i, color) for i, h in enumerate(result.hits, start=1))
