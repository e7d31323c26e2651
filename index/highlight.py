"""What in a passage can be quoted as an answer, and how it reads.

A passage is cut into *answer units* with their span in the passage text:

- sentences of prose, each knowing the heading it sits under (a heading line is never quoted
  alone: "What is X?" is answered by the sentences under heading X; the passage's section is no
  unit, and a heading inside the passage reads as the first unit under it);
- ``key: value`` lines (YAML front matter, metadata blocks) with the key made readable,
  ``largest_investor: "ASML Holding NV"`` -> ``largest investor: ASML Holding NV``; a list
  item of mappings (``- name: …`` with its keys) is one unit;
- table rows quoted with their header, ``日付: 2023-06-13 · 種別: Seed · 金額: €105m``;
- a front-matter field that only gives the document's title (``title: "…"``) is no unit either:
  it repeats the question's names, so it would outscore every line of its passage, yet it says
  nothing the source line under an answer does not;
- a unit longer than MAX_UNIT_CHARS reads cut, and keeps its whole text: quoted for a question, it
  reads as the part that speaks to it (``focus``: a long row by its first cell and the cells asked
  about, a long sentence by the stretch that holds the question's words);
- an attribution line under a quotation (``— Arthur Mensch (2026年5月、フランス国民議会にて)``) is
  no unit: it says who said the quotation's sentences, so it joins their key.

Each unit also carries ``key``: the words that say what it is about without being part of it
(heading, key path, column names), which the scorer (index/rerank.py) counts for the question.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from typing import Callable, Collection

from kotae.ingest.sentences import split_sentences

MAX_UNIT_CHARS = 280


@dataclass(frozen=True)
class Unit:
    start: int  # span in the passage text
    end: int
    text: str  # as an answer quotes it
    key: str = ""  # what it is about: heading, key path, column names
    kind: str = "sentence"  # "sentence", "label" (a heading-like line), "field" (key: value), "row" (table row)
    full: str = ""  # the whole text when ``text`` is cut to MAX_UNIT_CHARS ("": ``text`` is whole)
    # what the unit says itself when ``text`` quotes more ("": ``text``): a heading quoted with the
    # first unit under it is scored on its own words, as a label
    words: str = ""

    @property
    def own(self) -> str:
        return self.words or self.text


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        spans.extend((pos + s, pos + e) for s, e in split_sentences(line))
        pos += len(line) + 1
    return spans or [(0, len(text))]


# -- display text ------------------------------------------------------------------------------

_MARKUP = re.compile(r"\*\*|__|`|^\s*(?:#{1,6}\s+|[-*+•・]\s+|>\s*|\d+[.)]\s+)|\|")
_SUP = re.compile(r"<sup>[^<]{0,8}</sup>|<[^>\n]{1,40}>")


def clean_sentence(sentence: str, limit: int | None = MAX_UNIT_CHARS) -> str:
    """A sentence as it should read inside an answer: no Markdown markers, one line, at most
    ``limit`` characters (None: whole)."""
    lines = [_MARKUP.sub("", _SUP.sub("", line)).strip().strip("\"'") for line in sentence.splitlines()]
    text = " ".join(x for x in lines if x)
    text = re.sub(r"\s{2,}", " ", text).strip()
    text = re.sub(r"([。．！？])\1+", r"\1", text)
    # a footnote reference after the full stop ("…悪化する。 55", "…示している。³⁶") is not part of it
    text = re.sub(r"([。．！？])\s*(?:\d{1,3}|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)$", r"\1", text)
    return _cut(text, limit)


def _cut(text: str, limit: int | None = MAX_UNIT_CHARS) -> str:
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


CELL_SEPARATOR = " · "


def focus(unit: Unit, wanted: Callable[[str], bool]) -> str:
    """The text to quote of a unit cut to MAX_UNIT_CHARS, given what the question asks
    (``wanted``: does a piece of text speak to it). Its head alone can miss what was asked: the
    last column of a long table row (``Repository: mistralai/Mistral-Medium-3.5-128B``), the
    end of a long sentence. A row (or list item) keeps its first cell, which says what the row
    is, and the cells that are wanted, skipped ones shown as "…"; a sentence, the stretch of
    MAX_UNIT_CHARS that holds the most wanted words. Without anything wanted past the head, the
    head as before. Only the quoted text changes: the unit is scored on its head as before."""
    if not unit.full:
        return unit.text
    text = unit.full
    if unit.kind in ("row", "field") and CELL_SEPARATOR in text:
        cells = text.split(CELL_SEPARATOR)
        keep = [0] + [i for i in range(1, len(cells)) if wanted(cells[i])]
        if len(keep) > 1 and _cut(CELL_SEPARATOR.join(cells[i] for i in keep)) != unit.text:
            parts: list[str] = []
            for n, i in enumerate(keep):
                if n and i != keep[n - 1] + 1:
                    parts.append("…")
                parts.append(cells[i])
            if keep[-1] != len(cells) - 1:
                parts.append("…")
            return _cut(CELL_SEPARATOR.join(parts))
        return unit.text
    # a sentence: the window of the most wanted pieces (words between spaces or punctuation)
    pieces = [(m.start(), m.end()) for m in _PIECE.finditer(text)]
    hits = [(s, e) for s, e in pieces if wanted(text[s:e])]
    if not hits or hits[-1][1] <= MAX_UNIT_CHARS - 1:
        return unit.text
    span = MAX_UNIT_CHARS - 2  # room for "…" on both sides
    best, best_start = -1, 0
    starts = [s for s, _ in pieces]
    hit_starts, hit_ends = [s for s, _ in hits], [e for _, e in hits]
    for s, _ in hits:
        # open on a word, a little before the first wanted one
        start = starts[bisect_left(starts, min(s - _LEAD, len(text) - span))] if s > _LEAD else 0
        n = bisect_right(hit_ends, start + span) - bisect_left(hit_starts, start)  # the wanted pieces inside
        if n > best:
            best, best_start = n, start
    if best_start == 0:
        return unit.text
    return "…" + text[best_start:best_start + span].strip() + ("…" if best_start + span < len(text) else "")


# the pieces of a long sentence weighed for its window; _LEAD characters before the first
# wanted one are kept so the window does not open on it
_PIECE = re.compile(r"[^\s、。，,.;；:：()（）「」]+")
_LEAD = 40


# camelCase word boundaries: a capital after a lower-case letter or digit (foundingDate), or
# the last capital of an acronym before a lower-case letter (HQCity)
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])")


def _readable_key(key: str) -> str:
    """``largest_investor`` and ``largestInvestor`` -> ``largest investor``: words a question can meet."""
    return _CAMEL.sub(lambda m: " " + m.group(0).lower(), key).replace("_", " ").strip()


def _value(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if value.startswith("[") and value.endswith("]"):
        value = ", ".join(v.strip().strip("\"'") for v in value[1:-1].split(",") if v.strip())
    return value.strip()


# -- structure of lines ------------------------------------------------------------------------

_FIELD = re.compile(r"^(\s*)(-\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*:(?:\s+(.*?))?\s*$")
_LIST_SCALAR = re.compile(r"^(\s*)-\s+(.+?)\s*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_SECTION_SEPARATOR = " › "
# A description-like value reads as the sentence it is, without its key.
_LONG_VALUE = 40


def _cells(line: str) -> list[str]:
    if "\t" in line and not _TABLE_ROW.match(line):
        parts = line.split("\t")
    else:
        parts = line.strip().strip("|").split("|")
    return [clean_sentence(p) for p in parts]


# A column that gives a row's sources ("根拠", "Source") holding only footnote numbers ("10",
# "[3]", "11, 14") says nothing a reader of the quoted row can follow: the notes are not quoted.
_REFERENCE_COLUMN = re.compile(r"^(?:根拠|出典|典拠|参照|参考|脚注|注|引用|ソース|情報源|sources?|refs?|references?|citations?|notes?|cites?)$",
                               re.IGNORECASE)
_FOOTNOTE_REFS = re.compile(r"^\[?\d{1,3}\]?(?:\s*[,、，]\s*\[?\d{1,3}\]?)*$")


def _row_text(cells: list[str], header: list[str] | None) -> str:
    if header and len(header) == len(cells):
        pairs = [f"{h}: {c}" if h else c for h, c in zip(header, cells)
                 if c and not (_REFERENCE_COLUMN.match(h) and _FOOTNOTE_REFS.match(c))]
    else:
        pairs = [c for c in cells if c]
    return " · ".join(pairs)


def _heading_titles(context: str) -> set[str]:
    """Document title and section names, as they appear as lines in the passage text."""
    first = context.split("\n", 1)[0]
    return {clean_sentence(t) for t in first.split(_SECTION_SEPARATOR) if t.strip()}


def _context_header(context: str) -> list[str] | None:
    """The header row the chunker records for a table passage that starts mid-table."""
    if "\n" not in context:
        return None
    line = context.split("\n", 1)[1]
    return _cells(line) if _TABLE_ROW.match(line) or "\t" in line else None


# "— Name (where, when)" / "―Name" after a quotation: the dash (not a hyphen list marker) opens it
_ATTRIBUTION = re.compile(r"^[—―]+\s*\S")
_MAX_LABEL_CHARS = 40
_SENTENCE_END = tuple("。．.！!？?")
_SPACE = re.compile(r"\s+")


def _is_label(text: str) -> bool:
    return 0 < len(text) <= _MAX_LABEL_CHARS and not text.endswith(_SENTENCE_END)


def _states_something(title: str) -> bool:
    """Whether a line read as the document's title is a sentence: a note without a heading gets
    its first line as its title (ingest/read.py), and 「サクラロボティクスは2019年に京都で設立された。」
    must still be quoted. A Japanese sentence end says so; an English line ending in a full stop
    does when it is long and no "Chapter 8. Basic Configuration: Network, …" heading."""
    return title.endswith(("。", "．")) or (title.endswith(".") and len(title.split()) >= 6 and ":" not in title)


def _is_tab_row(lines: list[tuple[int, int, str]], i: int) -> bool:
    return i < len(lines) and "\t" in lines[i][2].strip()


ANNOUNCES = (":", "：")  # a sentence ending so announces the lines that follow
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•・]|\d+[.)])\s+")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _list_sibling(lines: list[tuple[int, int, str]], i: int) -> bool:
    """A list item followed by a line no deeper than itself is one item among others
    ("- コスト: 25倍の削減" then "- 応答時間: 半分"), not a heading over what follows."""
    line, nxt = lines[i][2], lines[i + 1][2]
    return bool(_LIST_ITEM.match(line)) and _indent(nxt) <= _indent(line)


def _depth(line: str) -> float:
    """A YAML line's depth: its indentation, and a list item's marker a half step deeper than a
    key at the same indentation (``key:`` over ``- value`` is the compact form of a sequence)."""
    return _indent(line) + (0.5 if line.lstrip().startswith("- ") else 0.0)


def structure_lead(before: str, first_line: str) -> str:
    """The lines of a YAML block that open what ``first_line`` continues, from the text
    ``before`` it: a passage cut from front matter in the middle of a mapping or a list item
    starts with ``role: "CTO & Co-founder"``, whose meaning (whose role, under which key) is in
    the lines before the cut. Returned: its ancestors (the ``key:`` lines above it, nearest
    last) and, when it continues a list item of mappings, the item's earlier lines from its
    ``- name: …`` on, so that the item reads as one record with what identifies it
    (``name: Timothée Lacroix · role: CTO & Co-founder``). "" when it opens at the top level."""
    if not first_line.strip() or _depth(first_line) == 0:
        return ""
    depth = _depth(first_line)
    lines = [line for line in before.split("\n") if line.strip()]
    keep: list[int] = []
    item: int | None = None  # the innermost list item the cut falls into
    for i in range(len(lines) - 1, -1, -1):
        d = _depth(lines[i])
        if d < depth:
            keep.append(i)
            if item is None and lines[i].lstrip().startswith("- ") and _FIELD.match(lines[i]):
                item = i
            depth = d
            if d == 0:
                break
    if item is not None:  # the item's own earlier lines
        keep.extend(range(item + 1, len(lines)))
    return "\n".join(lines[i] for i in sorted(set(keep)))


def answer_units(text: str, context: str = "", headings: Collection[str] = ()) -> list[Unit]:
    """The units of a passage in text order (see the module docstring). ``headings``: the texts of
    the passage's lines that are headings in its document (index/headings.py); each is the key of
    the units under it and is quoted only with the first of them (``_under_headings``)."""
    lines: list[tuple[int, int, str]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, pos + len(line), line))
        pos += len(line) + 1
    titles = _heading_titles(context)
    document_title = clean_sentence(context.split("\n", 1)[0].split(_SECTION_SEPARATOR)[0]) if context else ""
    section = context.split("\n", 1)[0].split(_SECTION_SEPARATOR)[-1] if context else ""
    heading = section
    header = _context_header(context)
    tab_header: list[str] | None = None
    parents: list[tuple[int, str]] = []  # (indent, key) of `key:` lines without a value
    item: list | None = None  # [start, end, indent, parts, key] of an open `- key: value` list item
    units: list[Unit] = []
    # index in `units` of the first unit under a heading -> the heading's start, text and key
    leads: dict[int, tuple[int, str, str]] = {}
    paragraph = 0  # index in `units` of the first unit of the current paragraph (or of the text under a label)

    def attribute(shown: str) -> bool:
        """An attribution after a quotation joins the key of the paragraph's units so far."""
        if not _ATTRIBUTION.match(shown) or paragraph >= len(units):
            return False
        said = shown.lstrip("—― ")
        units[paragraph:] = [replace(u, key=f"{u.key} {said}".strip()) for u in units[paragraph:]]
        return True

    def close_item() -> None:
        nonlocal item
        if item is not None:
            s, e, _, parts, key = item
            units.append(Unit(s, e, clean_sentence(" · ".join(parts), None), key, "field"))
            item = None

    for i, (ls, le, line) in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            close_item()
            tab_header = None
            paragraph = len(units)
            continue
        indent = len(line) - len(line.lstrip())
        s, e = ls + indent, ls + len(line.rstrip())
        field = _FIELD.match(line)
        if item is not None and not (field and not field.group(2) and indent > item[2]):
            close_item()
        if headings and (shown := clean_sentence(stripped, None)) in headings and shown not in titles:
            close_item()
            leads[len(units)] = (s, shown, heading)  # the nearest heading above the next unit
            tab_header, heading, paragraph = None, shown, len(units)
            parents.clear()
            continue
        # tables: a header row is followed by its separator; it is never an answer itself
        if _TABLE_ROW.match(line):
            if _TABLE_SEPARATOR.match(line):
                continue
            nxt = lines[i + 1][2] if i + 1 < len(lines) else ""
            if _TABLE_SEPARATOR.match(nxt):
                header = _cells(line)
                continue
            units.append(Unit(s, e, clean_sentence(_row_text(_cells(line), header), None), " ".join(header or ()), "row"))
            continue
        if "\t" in stripped and len(_cells(line)) >= 2 and (tab_header is not None or _is_tab_row(lines, i + 1)):
            # tab-separated tables (plain text): the first row of a run is its header
            if tab_header is None:
                tab_header = _cells(line)
                continue
            units.append(Unit(s, e, clean_sentence(_row_text(_cells(line), tab_header), None), " ".join(tab_header), "row"))
            continue
        tab_header = None
        if field:
            key, value = field.group(3), _value(field.group(4) or "")
            while parents and parents[-1][0] >= indent:
                parents.pop()
            path = " ".join(_readable_key(k) for _, k in parents)
            if field.group(2):  # `- key: value` opens a list item of mappings
                item = [s, e, indent, [f"{_readable_key(key)}: {value}"] if value else [], path]
                continue
            if item is not None:  # a key of the open list item
                if value:
                    item[1] = e
                    item[3].append(f"{_readable_key(key)}: {value}")
                continue
            if not value:
                parents.append((indent, key))
                continue
            if not path and clean_sentence(value) == document_title:
                continue
            shown = value if len(value) >= _LONG_VALUE else f"{_readable_key(key)}: {value}"
            units.append(Unit(s, e, clean_sentence(shown, None), f"{path} {_readable_key(key)}".strip(), "field"))
            continue
        scalar = _LIST_SCALAR.match(line)
        if scalar and parents and indent > parents[-1][0]:  # `- value` under a `key:`
            path = " ".join(_readable_key(k) for _, k in parents)
            units.append(Unit(s, e, clean_sentence(f"{_readable_key(parents[-1][1])}: {_value(scalar.group(2))}", None), path, "field"))
            continue
        parents.clear()
        shown = clean_sentence(stripped, None)
        if attribute(shown):
            continue
        if (shown in titles or (shown and shown == heading)) and not (shown in titles and _states_something(shown)):
            heading = shown
            continue
        if _is_label(shown) and i + 1 < len(lines) and lines[i + 1][2].strip() and not _list_sibling(lines, i):
            # a short unpunctuated line over more text: a heading the chunker did not see
            # ("Series C（2025年9月）の詳細", "Arthur Mensch（CEO・共同創業者）")
            units.append(Unit(s, e, shown, heading, "label"))
            heading = shown
            paragraph = len(units)  # an attribution below speaks for the text under the label, not for it
            continue
        for ss, se in split_sentences(line):
            if attribute(clean_sentence(line[ss:se])):
                continue
            units.append(Unit(ls + ss, ls + se, clean_sentence(line[ss:se].replace("\t", " · "), None), heading, "sentence"))
    close_item()
    return [_shortened(u) for u in _under_headings(units, leads)]


def _under_headings(units: list[Unit], leads: dict[int, tuple[int, str, str]]) -> list[Unit]:
    """A heading alone answers nothing: "What is X?" is answered by what heading X introduces. Yet it
    may be what is asked (``Arthur Mensch（CEO・共同創業者）`` over his biography), so it stays a unit,
    scored on its own words as a label, and reads as the first unit under it:
    ``Le Chat Enterprise — プライベートデプロイメント対応``. A heading with nothing under it in the
    passage, or directly over another heading, is no unit; nor is one that the unit under it names
    already ("Kumo Engine is a scheduling system …" under ``Kumo Engine``)."""
    for i in sorted(leads, reverse=True):
        start, title, key = leads[i]
        if i >= len(units) or _compact(title) in _compact(units[i].text):
            continue
        u = units[i]
        glue = " " if title.endswith((*ANNOUNCES, *_SENTENCE_END)) else " — "
        units.insert(i, Unit(start, u.end, f"{title}{glue}{u.text}", key, "label", words=title))
    return units


def _compact(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _shortened(u: Unit) -> Unit:
    """A unit longer than MAX_UNIT_CHARS reads cut (``text``), and keeps its whole text (``full``)
    for the scorer's words and for ``focus``."""
    return replace(u, text=_cut(u.text), full=u.text) if len(u.text) > MAX_UNIT_CHARS else u
