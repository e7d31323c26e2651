"""Sentence boundaries with offsets, for Japanese and English text."""

from __future__ import annotations

import re

# A sentence ends at Japanese or ASCII terminal punctuation, plus any closing brackets,
# quotes and footnote marks that belong to it. A '.' ends a sentence only before white
# space or the end, so "€1.7bn" and "v1.0" stay whole.
_END = re.compile(
    r"""(?:[。！？!?．]+|\.(?=\s|$))      # terminal punctuation
        [」』）)\]】〕"'”’]*                # closers that belong to the sentence
        (?:\s*[¹²³⁴⁵⁶⁷⁸⁹⁰]+)?               # footnote marks written after it
        (?:\s*<sup>[^<]{0,8}</sup>)*      # or as HTML superscripts
    """,
    re.VERBOSE,
)
# A fragment this short after a split (a lone footnote mark) belongs to the previous sentence.
_MIN_SENTENCE_CONTENT = 2
# A period that does not end a sentence: after an enumerator at the start of a line ("1. ",
# "12. "), a middle initial after a name ("Richard M. Stallman"), a dotted acronym ("U.S. ")
# or a common abbreviation ("Dr. ", "e.g. ", "Inc. "). A lone capital after a lowercase word
# ("the other N.") does end one.
_NOT_AN_END = re.compile(
    r"""(?:^|(?<=\n))[ \t]*\d{1,3}\.$
        |(?:^|(?<=\s))[A-Z][a-z]+[ ][A-Z]\.$
        |(?:^|(?<=[\s(]))(?:[A-Z]\.[A-Z]|Mr|Mrs|Ms|Dr|Prof|St|No|vs|approx|Inc|Ltd|Co|Corp|e\.g|i\.e|cf|Fig|fig)\.$""",
    re.VERBOSE,
)
_ABBREV_WINDOW = 24


def _ends_sentence(text: str, start: int, match: re.Match) -> bool:
    if text[match.end() - 1] != "." or match.group(0) != ".":
        return True
    lo = max(start, match.start() - _ABBREV_WINDOW)
    return not _NOT_AN_END.search(text, lo, match.end())


def _content_len(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans (absolute offsets into `text`) of the sentences in text[start:end],
    trimmed of surrounding white space. Line breaks are not boundaries here: the
    structure parser decides which line breaks end a paragraph."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _END.finditer(text, start, end):
        if not _ends_sentence(text, start, m):
            continue
        spans.append((pos, m.end()))
        pos = m.end()
    if pos < end:
        spans.append((pos, end))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s >= e:
            continue
        if trimmed and _content_len(text[s:e]) < _MIN_SENTENCE_CONTENT:
            trimmed[-1] = (trimmed[-1][0], e)
        else:
            trimmed.append((s, e))
    return trimmed


_SOFT_BREAKS = re.compile(r"[、，,;；:：]\s*|\s+")


def split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces of at most `limit` characters, preferring
    commas and spaces near the limit, and a hard cut only where there is neither."""
    pieces = []
    while end - start > limit:
        window_end = start + limit
        cut = None
        for m in _SOFT_BREAKS.finditer(text, start + limit // 2, window_end):
            cut = m.end() if m.end() <= window_end else m.start()
        if cut is None or cut <= start:
            cut = window_end
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces
