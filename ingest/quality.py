"""Is extracted text real text? PDFs whose fonts have no Unicode map extract as glyph ids:
control characters, private-use code points, replacement characters or symbol soup.
Such text must be reported, never indexed as if it were the document."""

from __future__ import annotations

import re
import unicodedata

# A page needs this many non-space characters before it is judged; shorter pages are
# judged only as part of the whole document.
MIN_CHARS = 40
_MAX_BAD_SHARE = 0.05  # control, private-use or U+FFFD characters
_MIN_WORDLIKE_SHARE = 0.35  # letters (ideographs, kana), digits and combining marks
_MIN_LATIN_WORD_SHARE = 0.3  # Latin tokens that look like words (have a vowel, few digits/symbols)
_LATIN_TOKEN = re.compile(r"\S+")
_VOWELS = set("aeiouyAEIOUYàáâäèéêëìíîïòóôöùúûüÀÁÂÄÈÉÊËÌÍÎÏÒÓÔÖÙÚÛÜ")


def garbage_reason(text: str) -> str | None:
    """None if `text` reads like text; else a short reason it does not."""
    chars = [ch for ch in text if not ch.isspace()]
    n = len(chars)
    if n < MIN_CHARS:
        return None
    bad = 0
    wordlike = 0
    latin = 0
    for ch in chars:
        o = ord(ch)
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Cs", "Cn") or o == 0xFFFD:
            bad += 1
        elif cat[0] in "LNM":
            wordlike += 1
            if o < 0x250 and cat[0] == "L":
                latin += 1
    if bad > n * _MAX_BAD_SHARE:
        return f"{bad * 100 // n}% control, private-use or replacement characters"
    if wordlike < n * _MIN_WORDLIKE_SHARE:
        return f"only {wordlike * 100 // n}% letters and digits"
    if latin > n * 0.8:
        tokens = _LATIN_TOKEN.findall(text)
        if len(tokens) >= 8:
            words = sum(1 for t in tokens if _looks_like_word(t))
            if words < len(tokens) * _MIN_LATIN_WORD_SHARE:
                return f"only {words * 100 // len(tokens)}% of its tokens look like words"
    return None


def _looks_like_word(token: str) -> bool:
    core = token.strip(".,;:!?()[]\"'«»“”‘’-")
    if not core or len(core) > 30:
        return False
    if core.isdigit():
        return True
    letters = sum(1 for ch in core if ch.isalpha())
    return letters >= len(core) * 0.7 and (len(core) <= 3 or any(ch in _VOWELS for ch in core))
