"""Display text for a passage: the source span without layout noise.

The passage's offsets keep pointing at the untouched source; only what the user reads (and
what is embedded) is cleaned: soft line breaks joined (slide and PDF text; a word broken at
a hyphen is joined without a space), bold markers, footnote marks (`<sup>39</sup>`, `³⁹`),
bare page numbers, heading marks and Markdown escapes removed. A heading keeps its own line, so it never runs into the
sentence after it; every line break left in the display text is a real boundary
(kotae.index.highlight splits sentences there).
"""

from __future__ import annotations

import re

# Passage text is what is embedded: an index built with other cleaning rules is re-embedded
# (index/build.py). Bump when a change here or in sentences.py alters existing passages.
TEXT_CLEANING = 3

_SUP = re.compile(r"<sup>[^<]{0,8}</sup>")
# Unicode superscript digits after a sentence end, a closing bracket or a CJK character are
# footnote marks ("…といえる。 ³⁹"); after a Latin letter only two or more are ("founded³⁹"),
# since one is usually a unit power (km², m³).
_SUP_DIGITS = "¹²³⁴⁵⁶⁷⁸⁹⁰"
_FOOTNOTE_MARK = re.compile(
    rf"(?:(?<=[。．！？.!?」』）)\]\"'”’\u3040-\u30ff\u3400-\u9fff])[ \t]*[{_SUP_DIGITS}]+"
    rf"|(?<=[A-Za-z])[{_SUP_DIGITS}]{{2,}})(?![{_SUP_DIGITS}\w])"
)
_BOLD = re.compile(r"\*\*|__")
# A line that is bold as a whole ("**1. 垂直統合の加速**") is a heading in all but name.
_BOLD_LINE = re.compile(r"^[ \t]*(\*\*|__)(?=\S)(.+?)(?<=\S)\1[ \t]*$", re.MULTILINE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!$|])")
_HEADING_MARK = re.compile(r"^ {0,3}#{1,6}[ \t]+", re.MULTILINE)
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$", re.MULTILINE)
# A paragraph that is only a small number is a page number left by PDF-to-text conversion.
_PAGE_NUMBER = re.compile(r"(?:^|(?<=\n\n))[ \t]*\d{1,3}[ \t]*(?=\n\n|$)")
_STARTS_BLOCK = re.compile(r"^\s*(?:[-*+・•]|\d{1,3}[.)]|\||#)")
# Numbered chapter headings of plain text: 第2章 / 第三節 / 第1部 ...
_CHAPTER = re.compile(r"^第[0-9０-９一二三四五六七八九十百]+[章節部編款条]")
_SENTENCE_END = "。．！？.!?」』)）"
_CONTINUES = "、，,:：;；(（「『[【-–—/・"
_MAX_HEADING_CHARS = 30


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x3000 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF


def _is_kana(ch: str) -> bool:
    return 0x3040 <= ord(ch) <= 0x309F  # hiragana: particles and inflections continue a phrase


def _ends_heading(prev: str, line: str) -> bool:
    """A short line without closing punctuation, followed by a full sentence, is a heading
    ("第2章 船隊" + "同社が…。"), where a short slide line continues ("100社以上の" + "大規模…")."""
    if len(prev) > _MAX_HEADING_CHARS or prev[-1] in _SENTENCE_END or prev[-1] in _CONTINUES:
        return False
    if _CHAPTER.match(prev):
        return True
    return not _is_kana(prev[-1]) and len(line) >= max(2 * len(prev), 24) and line[-1] in _SENTENCE_END


def _join_soft_breaks(text: str, headings: list[str] | None = None) -> str:
    """``headings``: the lines kept off the sentence after them as headings (_ends_heading) are added."""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not out:
            out.append(stripped)
            continue
        prev = out[-1]
        if not stripped:
            if prev:
                out.append("")
            continue
        if not prev or _STARTS_BLOCK.match(line) or prev.startswith(("|", "#")):
            out.append(stripped)
        elif _ends_heading(prev, stripped):
            if headings is not None:
                headings.append(prev)
            out.append(stripped)
        elif prev[-1] in "-‐" and len(prev) > 1 and prev[-2].isalpha() and stripped[0].islower():
            out[-1] = prev + stripped  # a word broken at a hyphen: "state-of-the-" + "art", never "the- art"
        elif _is_cjk(prev[-1]) or _is_cjk(stripped[0]):
            out[-1] = prev + stripped
        else:
            out[-1] = prev + " " + stripped
    return "\n".join(line for line in out if line)


def clean_text(source: str, headings: list[str] | None = None) -> str:
    """``headings``: the lines of the result that are headings are added to it: those marked (a
    Markdown heading, a line bold as a whole) and the short lines kept off the sentence after them."""
    text = source.replace("\f", "\n\n")
    text = _THEMATIC_BREAK.sub("", text)
    text = _PAGE_NUMBER.sub("", text)
    text = _SUP.sub("", text)
    text = _BOLD_LINE.sub(r"# \2", text)
    text = _BOLD.sub("", text)
    text = _FOOTNOTE_MARK.sub("", text)
    text = _ESCAPE.sub(r"\1", text)
    # Heading marks go after joining: they are what keeps a heading off the next line.
    text = _join_soft_breaks(text, headings)
    if headings is not None:
        headings.extend(_HEADING_MARK.sub("", line) for line in text.split("\n") if _HEADING_MARK.match(line))
    text = _HEADING_MARK.sub("", text)
    return text or source.strip()  # a span of nothing but layout noise still shows something
