"""Bytes to text: detect the encoding of a text file, never guessing silently wrong."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Share of undecodable bytes below which a UTF-8 file is accepted with replacements
# (a stray bad byte in an otherwise fine file) rather than rejected.
_MAX_INVALID_UTF8_SHARE = 0.001


class DecodeError(ValueError):
    pass


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    warning: str | None = None


def _japanese_share(text: str) -> float:
    """How much of `text` looks like ordinary Japanese or ASCII; used to choose between
    legacy encodings that both decode the same bytes without error."""
    if not text:
        return 0.0
    good = 0
    for ch in text:
        o = ord(ch)
        if o < 0x80 or 0x3040 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F or 0xFF01 <= o <= 0xFF5E:
            good += 1
    return good / len(text)


def _japanese_non_ascii_share(text: str) -> float:
    """Share of the non-ASCII characters that Japanese text in a legacy encoding produces:
    kana, kanji, full/half-width forms, CJK and general punctuation, the symbols, Greek and
    Cyrillic of JIS X 0208. A UTF-8 file with a stray bad byte decodes "without error" as
    CP932 too, but into private-use or C1 characters, which this catches."""
    n = good = 0
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            continue
        n += 1
        if (0x3000 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF
                or 0xFF01 <= o <= 0xFF9F or 0xFFE0 <= o <= 0xFFE5 or 0x2010 <= o <= 0x27BF or 0x2460 <= o <= 0x24FF
                or 0x0391 <= o <= 0x0451 or o in (0xA5, 0xA7, 0xA8, 0xAC, 0xB0, 0xB1, 0xB4, 0xB6, 0xD7, 0xF7) or 0x31F0 <= o <= 0x31FF):
            good += 1
    return good / n if n else 1.0


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")  # below U+0020, except \t \n \f \r


def _looks_binary(text: str) -> bool:
    controls = len(_CONTROL.findall(text))
    return controls > max(8, len(text) // 100)


def decode_bytes(data: bytes) -> Decoded:
    if data.startswith(codecs.BOM_UTF8):
        return _checked(data[3:].decode("utf-8", errors="strict"), "utf-8-sig")
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return _checked(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"has a UTF-16 byte-order mark but invalid UTF-16 ({exc.reason})") from None
    if b"\x00" in data:
        raise DecodeError("looks binary (contains NUL bytes), not text")
    try:
        return _checked(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    candidates = []
    for enc in ("cp932", "euc_jp"):
        try:
            candidates.append((enc, data.decode(enc)))
        except UnicodeDecodeError:
            continue
    if candidates:
        enc, text = max(candidates, key=lambda c: _japanese_share(c[1]))
        if _japanese_share(text) >= 0.9 and _japanese_non_ascii_share(text) >= 0.9:
            return _checked(text, "shift_jis" if enc == "cp932" else "euc-jp")
    lossy = data.decode("utf-8", errors="replace")
    invalid = lossy.count("\ufffd")
    if invalid <= max(1, int(len(data) * _MAX_INVALID_UTF8_SHARE)):
        return _checked(lossy, "utf-8", warning=f"{invalid} invalid UTF-8 byte sequence(s) replaced with U+FFFD")
    raise DecodeError("is not valid UTF-8, UTF-16, Shift_JIS/CP932 or EUC-JP text")


def _checked(text: str, encoding: str, warning: str | None = None) -> Decoded:
    if _looks_binary(text):
        raise DecodeError("looks binary (many control characters), not text")
    return Decoded(text=text, encoding=encoding, warning=warning)
