"""Terminal rendering of answers and ranked passages: the answer's Markdown (``**Sources**``,
`` `doc_id` ``) as a terminal shows it, then each passage as `[n] title › section (p. N) score`
with the answering sentence highlighted.

Styles are ANSI escapes, used only when the output is a terminal and ``NO_COLOR`` is not set
(the no-color.org convention every terminal program honours, so it is read here rather than
as a ``KOTAE_*`` setting); otherwise the text is plain, without Markdown marks: a pipe or a
file gets words, and a program that needs the structure asks for ``--json``."""

from __future__ import annotations

import os
import re
import textwrap
from typing import TextIO

from kotae.index.search import Hit, SearchResult
from kotae.service.passages import place_label

_HIGHLIGHT, _BOLD, _RESET = "\033[1;33m", "\033[1m", "\033[0m"
# **strong** (never across lines: a lone ** in a quoted sentence is not a pair) and `code`
_STRONG = re.compile(r"\*\*(?=\S)([^\n]+?)(?<=\S)\*\*")
_CODE = re.compile(r"`([^`\n]+)`")


def use_color(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR")


def render_markdown(text: str, color: bool) -> str:
    """The inline Markdown of an answer (extractive or from the LLM) for a terminal: strong text
    bold when ``color``, code spans as their text."""
    text = _STRONG.sub(rf"{_BOLD}\1{_RESET}" if color else r"\1", text)
    return _CODE.sub(r"\1", text)


def format_hit(hit: Hit, citation: int, color: bool) -> str:
    where = place_label(hit.title, hit.section)
    page = f" (p. {hit.page})" if hit.page else ""
    head = f"[{citation}] {where}{page}  score {hit.score:.4f}  {hit.doc_id}:{hit.char_start}-{hit.char_end}"
    s, e = hit.highlight
    on, off = (_HIGHLIGHT, _RESET) if color else ("", "")
    body = hit.text[:s] + on + hit.text[s:e] + off + hit.text[e:]
    return head + "\n" + textwrap.indent(body, "    ")


def format_result(result: SearchResult, color: bool) -> str:
    if not result.hits:
        return "No passage found in the documents."
    return "\n\n".join(format_hit(h, i, color) for i, h in enumerate(result.hits, start=1))
