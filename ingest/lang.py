"""Language of a piece of text, deterministic: script counts first, seeded langdetect after."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Below this many letters langdetect is unreliable (MODELS.md: Tokyo -> lt, AI -> tl).
_MIN_LETTERS_FOR_LANGDETECT = 20


def _script_counts(text: str) -> dict[str, int]:
    counts = {"kana": 0, "han": 0, "hangul": 0, "latin": 0, "other": 0}
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0xFF66 <= o <= 0xFF9F or 0x31F0 <= o <= 0x31FF:
            counts["kana"] += 1
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            counts["han"] += 1
        elif 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF:
            counts["hangul"] += 1
        elif ch.isalpha():
            if o < 0x250 or 0xFF21 <= o <= 0xFF5A:
                counts["latin"] += 1
            else:
                counts["other"] += 1
    return counts


@lru_cache(maxsize=1)
def _langdetect():
    from langdetect import DetectorFactory, detect_langs

    DetectorFactory.seed = 0  # langdetect is random unless seeded
    return detect_langs


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code. Kana decide Japanese; hangul Korean; kanji without kana are
    Japanese in this project's world unless langdetect is confident of Chinese."""
    c = _script_counts(text)
    letters = sum(c.values())
    if letters == 0:
        return default
    if c["kana"] and (c["kana"] + c["han"]) * 4 >= c["latin"]:
        return "ja"
    if c["hangul"] > letters / 3:
        return "ko"
    if c["han"] > letters / 3:
        return "ja" if c["han"] < _MIN_LETTERS_FOR_LANGDETECT else _detect_cjk(text)
    if letters < _MIN_LETTERS_FOR_LANGDETECT:
        return default
    try:
        best = _langdetect()(unicodedata.normalize("NFKC", text))[0]
    except Exception:  # langdetect raises on text with no features
        return default
    # Keys, names and numbers fool langdetect into rarer languages; only trust it when sure.
    return best.lang.split("-")[0] if best.prob >= 0.9 else default


def _detect_cjk(text: str) -> str:
    try:
        best = _langdetect()(text)[0]
    except Exception:
        return "ja"
    return "zh" if best.lang.startswith("zh") and best.prob >= 0.9 else "ja"
