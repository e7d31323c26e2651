"""Markdown-aware segmentation of a document body into sentences that know their section.

Plain text is treated as Markdown without markup, which is what it is. The output is a flat
list of segments with offsets into the original text; chunking never looks at markup again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kotae.ingest.sentences import split_sentences

_LINE_END = re.compile(r"[\n\f]")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+・•]|\d{1,3}[.)])\s+")
_URL = re.compile(r"<?https?://\S+>?")
_SPACE = re.compile(r"\s+")
# Plain-text reports mark headings only by layout: a short line alone between blank lines.
_MAX_PLAIN_HEADING_CHARS = 40
_SENTENCE_END_CHARS = "。．.！!？?：:、，,」』）)"
_HTML_BLOCK = re.compile(r"^ {0,3}<(?:/?(?:div|p|a|table|tr|td|th|ul|ol|li|script|style|iframe|img|span|section|figure|details|summary|center|br|hr|form|nav|footer|header|aside)\b|!--)", re.IGNORECASE)


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    kind: str  # "heading", "body" or "table"
    section: tuple[str, ...]
    page: int | None = None
    # Segments in different blocks (paragraph, table, page) are never packed across a
    # section or page change; a new paragraph is only a preferred place to cut.
    new_block: bool = False
    table_header: str | None = None


def _lines(text: str, start: int, end: int):
    """(start, end, page_break_before) of each line; a form feed (PDF page break) ends a
    line as a newline does."""
    pos, page_break = start, False
    for m in _LINE_END.finditer(text, start, end):
        yield pos, m.start(), page_break
        pos, page_break = m.end(), m.group(0) == "\f"
    yield pos, end, page_break


def segment_body(text: str, start: int, end: int, page_starts: tuple[int, ...] = (), sentences: bool = True) -> list[Segment]:
    """``sentences`` False: a paragraph is one body segment, not cut into sentences (heading_spans:
    cutting was most of the cost)."""
    segments: list[Segment] = []
    plain_headings = not any(_HEADING.match(text[ls:le]) for ls, le, _ in _lines(text, start, end))
    section: list[tuple[int, str]] = []
    paragraph: list[int] = []  # [start, end] of the open paragraph
    table_header: str | None = None
    in_html = False
    page = 1 if page_starts else None

    def path() -> tuple[str, ...]:
        return tuple(title for _, title in section)

    def flush() -> None:
        nonlocal paragraph
        if paragraph and _is_link_list(text[paragraph[0] : paragraph[1]]):
            paragraph = []
        if paragraph and plain_headings and _is_plain_heading(text, paragraph[0], paragraph[1], end):
            section[:] = [(1, text[paragraph[0] : paragraph[1]].strip())]
            segments.append(Segment(paragraph[0], paragraph[1], "heading", path(), page, new_block=True))
            paragraph = []
        if paragraph:
            first = True
            for s, e in split_sentences(text, paragraph[0], paragraph[1]) if sentences else [paragraph]:
                segments.append(Segment(s, e, "body", path(), page, new_block=first))
                first = False
            paragraph = []

    for ls, le, page_break in _lines(text, start, end):
        if page_break:
            flush()
            table_header = None
            in_html = False
            if page is not None:
                page += 1
        line = text[ls:le]
        stripped = line.strip()
        if in_html:
            in_html = bool(stripped)
            continue
        if not stripped:
            flush()
            table_header = None
            continue
        if _HTML_BLOCK.match(line):
            flush()
            _drop_link_caption(segments, text, ls)
            in_html = True
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            table_header = None
            level = len(heading.group(1))
            while section and section[-1][0] >= level:
                section.pop()
            title = _strip_inline(heading.group(2))
            section.append((level, title))
            segments.append(Segment(ls + (len(line) - len(line.lstrip())), ls + len(line.rstrip()), "heading", path(), page, new_block=True))
            continue
        if _TABLE_ROW.match(line):
            flush()
            if _TABLE_SEPARATOR.match(line):
                continue
            s = ls + (len(line) - len(line.lstrip()))
            e = ls + len(line.rstrip())
            if table_header is None:
                table_header = stripped
                segments.append(Segment(s, e, "table", path(), page, new_block=True, table_header=None))
            else:
                segments.append(Segment(s, e, "table", path(), page, table_header=table_header))
            continue
        table_header = None
        if _THEMATIC_BREAK.match(line):
            flush()
            continue
        if _LIST_ITEM.match(line):
            flush()
        if paragraph:
            paragraph[1] = le
        else:
            paragraph = [ls, le]
    flush()
    return segments


def heading_spans(text: str, start: int, end: int, page_starts: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """The (start, end) of every heading line of a body, as segment_body finds them."""
    return [(s.start, s.end) for s in segment_body(text, start, end, page_starts, sentences=False) if s.kind == "heading"]


def starts_list_item(text: str, start: int) -> bool:
    """Whether the line at `start` is a list item ("- ", "・", "1. ")."""
    return bool(_LIST_ITEM.match(text[start : start + 8]))


# A short line right above an HTML block ("📚 More on this") is the block's caption.
_MAX_CAPTION_CHARS = 60


def _drop_link_caption(segments: list[Segment], text: str, html_start: int) -> None:
    if not segments or segments[-1].kind != "body" or not segments[-1].new_block:
        return
    last = segments[-1]
    if last.end - last.start <= _MAX_CAPTION_CHARS and text.count("\n", last.end, html_start) <= 2:
        segments.pop()


def _is_link_list(block: str) -> bool:
    """Reference lists and link farms: mostly URLs, nothing a question is answered by."""
    visible = len(_SPACE.sub("", block))  # non-space characters (a regex: a Python loop per character was slow)
    urls = sum(len(m.group(0)) for m in _URL.finditer(block))
    return visible > 0 and urls / visible > 0.6


def _is_plain_heading(text: str, start: int, end: int, body_end: int) -> bool:
    line = text[start:end].strip()
    if "\n" in line or len(line) > _MAX_PLAIN_HEADING_CHARS or line[-1] in _SENTENCE_END_CHARS:
        return False
    if _LIST_ITEM.match(line) or _TABLE_ROW.match(line):
        return False
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    return (start == 0 or before.endswith("\n\n") or "\n\n" in text[max(0, start - 3) : start]) and (end >= body_end or after.startswith("\n\n"))


def _strip_inline(title: str) -> str:
    return re.sub(r"\*\*|__|`", "", title).strip()
