"""Language of a piece of text, deterministic: script counts first, seeded langdetect after.

Two costs shaped this module. langdetect is slow (it was ~75% of reading English text when it
ran on every passage), so the script check decides whatever it can, and a document's passages
share ONE detection of the document's Latin-script language (:class:`DocumentLanguages`).
And langdetect guesses among 55 languages: a reference list of English names, initials and
years came out as Catalan. So it only chooses among the languages a kotae corpus plausibly
holds, and short or list-like Latin text, where n-gram statistics say little, is English.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Below this many letters langdetect is unreliable (MODELS.md: Tokyo -> lt, AI -> tl).
_MIN_LETTERS_FOR_LANGDETECT = 20
# Another Latin-script language than English needs this much text and this much confidence.
_MIN_LETTERS_FOR_OTHER = 120
_MIN_PROB_FOR_OTHER = 0.99
# Latin-script languages a document may be tagged with; anything else reads as English.
LATIN_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl")
_CJK_LANGUAGES = ("ja", "zh-cn", "zh-tw", "ko")
# langdetect reads at most this much of a document: enough for a confident answer.
_SAMPLE_CHARS = 2000

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f\u31f0-\u31ff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\uff21-\uff3a\uff41-\uff5a]")
_LETTER = re.compile(r"[^\W\d_]")  # any letter, any script
# A line that reads like prose: several words, mostly letters (not "[3] Smith, J. (2019). 12-34").
_PROSE_LINE = re.compile(r"^(?=(?:[^\n]*?[a-z]{3,}\b){6})[^\n]{40,}$", re.MULTILINE)


def _script_counts(text: str) -> dict[str, int]:
    """Letters per script, counted by the regex engine (a Python loop per character cost more
    than everything else in reading a large file)."""
    kana = len(_KANA.findall(text))
    han = len(_HAN.findall(text))
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    letters = len(_LETTER.findall(text))
    return {"kana": kana, "han": han, "hangul": hangul, "latin": latin,
            "other": max(0, letters - kana - han - hangul - latin)}


@lru_cache(maxsize=4)
def _factory(languages: tuple[str, ...]):
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.seed = 0  # langdetect is random unless seeded
    profiles = []
    for lang in languages:
        with open(f"{PROFILES_DIRECTORY}/{lang}", encoding="utf-8") as f:
            profiles.append(f.read())
    factory.load_json_profile(profiles)
    return factory


def _best(text: str, languages: tuple[str, ...]) -> tuple[str, float] | None:
    try:
        detector = _factory(languages).create()
        detector.append(text[:_SAMPLE_CHARS])
        best = detector.get_probabilities()[0]
    except Exception:  # langdetect raises on text with no features
        return None
    return best.lang, best.prob


def _script_language(c: dict[str, int]) -> str | None:
    """The answer the scripts alone give, or None for Latin-script text."""
    letters = sum(c.values())
    if c["kana"] and (c["kana"] + c["han"]) * 4 >= c["latin"]:
        return "ja"
    if c["hangul"] > letters / 3:
        return "ko"
    if c["han"] > letters / 3:
        return "han"
    return None


# English function words: running English text has ~20-30% of them, other Latin-script languages
# a few percent. Above the threshold the text is English without asking langdetect (~30 ms a call).
_ENGLISH_WORDS = frozenset("the of and to in is that for it with as was on be by this are or from at an which not have".split())
_WORD = re.compile(r"[a-z]+")
_MIN_ENGLISH_SHARE = 0.15


def latin_language(text: str, default: str = "en") -> str:
    """English unless the text is long, prose-like and confidently another plausible language."""
    letters = len(_LATIN.findall(text))
    if letters < _MIN_LETTERS_FOR_LANGDETECT:
        return default
    if letters < _MIN_LETTERS_FOR_OTHER and default == "en":
        # Too short for another language (below), so langdetect could only say "en" or fall back
        # to "en": skip it. This is every typed question (~25 ms a call, most of a query's
        # non-encoding time).
        return "en"
    words = _WORD.findall(text.lower())
    if len(words) >= 20 and sum(w in _ENGLISH_WORDS for w in words) >= _MIN_ENGLISH_SHARE * len(words):
        return "en"
    best = _best(unicodedata.normalize("NFKC", text), LATIN_LANGUAGES)
    if best is None:
        return default
    lang, prob = best
    if lang == "en":
        return "en"
    # Keys, names, numbers and reference lists fool n-gram statistics: another language needs
    # enough prose and near-certainty.
    prose = sum(len(m) for m in _PROSE_LINE.findall(text))
    if letters >= _MIN_LETTERS_FOR_OTHER and prob >= _MIN_PROB_FOR_OTHER and prose >= len(text.strip()) * 0.5:
        return lang
    return default


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code. Kana decide Japanese; hangul Korean; kanji without kana are
    Japanese in this project's world unless langdetect is confident of Chinese."""
    c = _script_counts(text)
    if sum(c.values()) == 0:
        return default
    script = _script_language(c)
    if script == "han":
        return "ja" if c["han"] < _MIN_LETTERS_FOR_LANGDETECT else _detect_cjk(text)
    return script or latin_language(text, default)


def _detect_cjk(text: str) -> str:
    best = _best(text, _CJK_LANGUAGES)
    return "zh" if best and best[0].startswith("zh") and best[1] >= 0.9 else "ja"


class DocumentLanguages:
    """Tags the passages of one document: the script check per passage, and for Latin-script
    passages one langdetect verdict on the document's Latin text, computed once when first needed."""

    def __init__(self, document_text: str, default: str = "en"):
        self._text = document_text
        self._default = default
        self._latin: str | None = None

    def _document_latin(self) -> str:
        if self._latin is None:
            # Only the Latin-script profiles are consulted, so CJK text in the sample is ignored.
            self._latin = latin_language(self._text[: _SAMPLE_CHARS * 2], self._default)
        return self._latin

    def tag(self, text: str) -> str:
        if text.isascii():  # most English passages: no script counting needed
            return self._document_latin() if len(_LATIN.findall(text)) >= _MIN_LETTERS_FOR_LANGDETECT else self._default
        c = _script_counts(text)
        if sum(c.values()) == 0:
            return self._default
        script = _script_language(c)
        if script == "han":
            return "ja" if c["han"] < _MIN_LETTERS_FOR_LANGDETECT else _detect_cjk(text)
        if script:
            return script
        if c["latin"] < _MIN_LETTERS_FOR_LANGDETECT:
            return self._default
        return self._document_latin()
