"""Display text for a passage: the source span without layout noise.

The passage's offsets keep pointing at the untouched source; only what the user reads (and
what is embedded) is cleaned: soft line breaks joined (slide and PDF text), bold markers,
footnote superscripts, heading marks and Markdown escapes removed.
"""

from __future__ import annotations

import re

_SUP = re.compile(r"<sup>[^<]{0,8}</sup>")
_BOLD = re.compile(r"\*\*|__")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!$|])")
_HEADING_MARK = re.compile(r"^ {0,3}#{1,6}[ \t]+", re.MULTILINE)
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$", re.MULTILINE)
_STARTS_BLOCK = re.compile(r"^\s*(?:[-*+・•]|\d{1,3}[.)]|\||#)")


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x3000 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF


def _join_soft_breaks(text: str) -> str:
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
        elif _is_cjk(prev[-1]) or _is_cjk(stripped[0]):
            out[-1] = prev + stripped
        else:
            out[-1] = prev + " " + stripped
    return "\n".join(line for line in out if line)


def clean_text(source: str) -> str:
    text = source.replace("\f", "\n\n")
    text = _THEMATIC_BREAK.sub("", text)
    text = _SUP.sub("", text)
    text = _BOLD.sub("", text)
    text = _ESCAPE.sub(r"\1", text)
    # Heading marks go after joining: they are what keeps a heading off the next line.
    return _HEADING_MARK.sub("", _join_soft_breaks(text))
