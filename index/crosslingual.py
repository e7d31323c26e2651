"""A second keyword query in the other language of a two-language index (issue 10).

BM25 cannot match an English question against Japanese text (or the reverse): they share only
names written alike and numbers. Three ways give the keyword side words of the other language,
each measured in evals/reports/retrieval-defaults.md (``KOTAE_CROSS_LANG_EXPANSION``, any of
them joined by ``+``):

- ``translit``: the question's Latin words transliterated into katakana (``e2k``, a small
  numpy RNN shipped on PyPI, ~4 ms a word), kept when the index knows the spelling
  (Isaac Asimov -> アシモフ, share -> シェア, license -> ライセンス). Not words that JMdict
  translates only into kanji or kana (year -> 年: イヤー would match unrelated loanwords).
  English questions only: the model has no reverse direction.
- ``dict``: the question's words translated with JMdict (index/dictionary.py), both ways;
  romanised Japanese names through JMnedict (Tokugawa Ieyasu -> 徳川 家康), for capitalised
  words only (AI is no name). A word whose usual translation is common in the index (Japan ->
  日本 in documents about Japan) keeps that one, weighed little by BM25, not its rarer senses (大和).
- ``prf``: pseudo-relevance feedback across languages: the terms that best characterise the
  top dense passages in the other language (idf x how many of them hold the term).

Only terms the index knows (and, for translations, rare enough to mean something) are kept.
The query searches only documents in the other language; the scores of the dense candidates
among its matches, divided by its best score, are added to the fused scores times their own
weight (:func:`add_scaled`). Not min-max: a name that matches one passage only is the
strongest evidence there is, not zero. The default (``translit+dict``, weight 1) and the
rejected options are in evals/reports/retrieval-defaults.md.

Names are spelled as Japanese text spells them: a capitalised word ending in a vowel and t, s,
x, z or d also without its last consonant (Manet -> マネット and マネ, Goriot -> ゴリオ, Paris ->
パリ: French names drop it). And the question's names decide which passages may join the
candidates (``KOTAE_CROSS_LANG_ADMIT``, default 2): the embedder often finds the right article
in the other language by its opening but leaves the passage holding the answer far below the
candidates (Mount Norikura's eruption: rank 342; Tokugawa Ieyasu entering Edo Castle: 227). In
each document that has a passage among the dense candidates, its best `admit` passages by the
translated query that hold one of the question's names (a capitalised word JMdict does not
know, transliterated or through JMnedict) join them with their translated-query score. Without
a name nothing joins: boosting every translated match lost same-language questions (above), and
admitting without the name condition let "What is Mistral's operating profit margin?" (gold,
unanswerable) be answered. An English word no common JMdict entry translates (gangrene, scorpion)
reads the rare entries (index/dictionary.py ``rare_japanese``: 壊疽, 蠍), translations that are one
index term each. Measured on the four sets (evals/reports/retrieval-defaults.md):
mixed-ja-en hit@1 .768 -> .777, hit@5 .938 -> .948, answer@1 .640 -> .649 (other language only
.476 -> .500), mixed-small hit@5 .912 -> .918; the rare entries then mixed-ja-en hit@5 +1
(Manet's gangrene 8th -> 2nd), mixed-small hit@1 +1; gold and ja-jaquad identical; nothing lost.
When the question's names are found only in the other language (:meth:`names_only_there`), the
passages in its own language that the keyword side did not match keep half their fused score
(index/search.py ``_demote_unmatched``): mixed-ja-en hit@1 +2-0 more.

index/bridge.py's hand list of factual-question words (acquire -> 買収, founded -> 設立) is not part
of this query: fed into it as one more group per word, it won English questions over Japanese
text (gold cross-lingual hit@1 +4-0) but lost as many whose answer is the English front matter
of a Japanese report (the Japanese passages gained a side the front matter has not), and answer@1
(gold +1-2, mixed-small +1-2). The vocabulary reaches retrieval through the answer units instead:
index/rerank.py reorders a Japanese document's passages by them (issue 11,
evals/reports/retrieval-defaults.md).
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from kotae.index.backends.base import Filters, SearchBackend, passage_doc
from kotae.index.fusion import Ranked
from kotae.index.tokenize import is_content_word, question_tokens, term_tokens, tokenize

EXPANSIONS = ("translit", "dict", "prf")  # KOTAE_CROSS_LANG_EXPANSION: "none" or these joined by "+"
# Terms this common (Lucene idf, ~3% of passages or more) say nothing about one passage.
_MIN_IDF = 3.0
_MAX_WORDS = 8  # Latin words of one question transliterated at most (each costs ~4 ms)
_MAX_TRANSLATIONS = 3  # per word: the first the index knows, in dictionary order
# A dictionary word with more common translations than this is function-like (make, close, run):
# the cross-language keyword query does not translate it, index/bridge.py does not bridge it and
# index/search.py reads at most this many of a word's translations. Public: all three share it.
MAX_SENSES = 20


@dataclass(frozen=True)
class CrossLingualConfig:
    expansion: str = "none"  # "none" or EXPANSIONS joined by "+"
    prf_passages: int = 3  # top dense passages in the other language read for feedback
    prf_terms: int = 8  # feedback terms added to the other-language query

    def __post_init__(self):
        unknown = sorted(set(self.parts) - set(EXPANSIONS))
        if unknown:
            raise ValueError(f"unknown cross-language expansion {self.expansion!r}; use none or any of "
                             f"{', '.join(EXPANSIONS)} joined by +")

    @property
    def parts(self) -> tuple[str, ...]:
        return () if self.expansion in ("", "none") else tuple(p.strip() for p in self.expansion.split("+"))


@lru_cache(maxsize=1)
def _katakana_model():
    from e2k import C2K  # loaded once per process: ~0.2 s

    return C2K(model="turbo")


class Transliterations:
    """English word -> katakana spellings (the model's output and its common variants), cached:
    the same names come back question after question."""

    def __init__(self, size: int = 4096):
        self._cache: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._size = size

    def __call__(self, word: str) -> tuple[str, ...]:
        hit = self._cache.get(word)
        if hit is None:
            hit = self._cache[word] = katakana_variants(_katakana_model()(word))
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return hit


def katakana_variants(kana: str) -> tuple[str, ...]:
    """The model's spelling and the variants Japanese text often uses instead (シェットランド ->
    シェトランド, ホルブルーク -> ホルブルック, ワグナー -> ワーグナー is not guessed)."""
    out = [kana, kana.replace("ッ", ""), kana.replace("ー", "")]
    if kana.endswith("ド"):
        out.append(kana[:-1] + "ト")
    return tuple(dict.fromkeys(v for v in out if len(v) >= 2))


_SILENT = re.compile(r"ッ?[トスズド]$")


def silent_ending(spellings: tuple[str, ...], word: str) -> tuple[str, ...]:
    """A name ending in a vowel and t, s, x, z or d, spelled without its last consonant, as
    Japanese writes French names (Manet -> マネット -> マネ, Goriot -> ゴリオ, Paris -> パリ);
    the caller keeps the spellings the index knows."""
    if not re.search(r"[aeiouy][tsxzd]$", word):
        return ()
    return tuple(dict.fromkeys(v for v in (_SILENT.sub("", k) for k in spellings) if len(v) >= 2 and v not in spellings))


_CAPITALISED = re.compile(r"(?<![A-Za-z])[A-Z][a-z]+(?![A-Za-z])")


def capitalised_words(question: str) -> set[str]:
    """The question's words written with one capital (Tokugawa, Sakuma), lower-cased: the
    candidates for romanised names; acronyms (AI) and lower-case words are not."""
    return {w.lower() for w in _CAPITALISED.findall(question)}


def is_katakana(text: str) -> bool:
    return bool(text) and all("\u30a0" <= ch <= "\u30ff" for ch in text)


def latin_words(question: str, tokenizer: str) -> list[str]:
    """The question's English content words as the keyword side reads them (stop words out,
    plurals singular), first occurrence first."""
    words = [t for t in question_tokens(question, tokenizer) if t.isascii() and t.isalpha() and len(t) >= 3]
    return list(dict.fromkeys(words))[:_MAX_WORDS]


class CrossLingualExpander:
    """Builds and runs the other-language keyword query of one question."""

    def __init__(self, backend: SearchBackend, tokenizer: str, config: CrossLingualConfig, min_passages: int,
                 admit: int = 0):
        self.backend = backend
        self.admit = admit
        self.tokenizer = tokenizer
        self.config = config
        self._min_passages = min_passages
        self._translit = Transliterations()
        self._passages = max(backend.stats().passages, 1)  # "all of them" for a keyword search

    def warm(self, passages_by_doc_lang: dict[str, int]) -> None:
        """Load what the queries into this index will read on first use: JMdict (~2 s), and for
        English questions over Japanese documents JMnedict's names (~6 s), the rare entries (~3 s)
        and the katakana model. Lazily, the first English question a server answered took 8 s."""
        from kotae.index.dictionary import load_dictionary, load_names, load_rare

        if "dict" in self.config.parts and any(self.target(lang, passages_by_doc_lang, None) for lang in ("en", "ja")):
            load_dictionary()
        if self.target("en", passages_by_doc_lang, None) == "ja":
            if "dict" in self.config.parts:
                load_names()
                load_rare()
            if "translit" in self.config.parts:
                self._translit("warm")

    def target(self, lang: str, passages_by_doc_lang: dict[str, int], filters: Filters | None) -> str | None:
        """The other language, when the index holds enough of it (None: nothing to expand into)."""
        other = "ja" if lang == "en" else "en" if lang == "ja" else None
        if other is None or passages_by_doc_lang.get(other, 0) < self._min_passages:
            return None
        if filters is not None and (filters.doc_lang not in (None, other) or filters.lang not in (None, other)):
            return None
        return other

    def terms(self, question: str, other: str, dense: Ranked, doc_langs: dict[str, str]) -> list[str]:
        """The other-language query: transliterated names and words, then feedback terms."""
        parts = self.config.parts
        out: list[str] = []
        if "translit" in parts and other == "ja":
            out += self._transliterated(question)
        if "dict" in parts:
            out += [t for t in self._translated(question, other) if t not in out]
        if "prf" in parts:
            out += [t for t in self._feedback(dense, other, doc_langs) if t not in out]
        return out

    def search(self, question: str, other: str, dense: Ranked, doc_langs: dict[str, str],
               filters: Filters | None) -> Ranked | None:
        """The dense candidates in the other language that match, scored in [0, 1] (BM25 over
        the best match of the other language). Only dense candidates: on the mixed ja+en set,
        boosting any passage that matches the translated words put passages of the other
        language above same-language answers (same-language hit@5 0.913 -> 0.866); among the
        embedder's own candidates the translated words decide between them instead."""
        tokens = self.terms(question, other, dense, doc_langs)
        mine = [pid for pid in dense.ids if doc_langs.get(pid) == other]
        if not tokens or not mine:
            return None
        lang = filters.lang if filters else None
        best = self.backend.keyword(tokens, 1, Filters(lang=lang, doc_lang=other, doc_ids=filters.doc_ids if filters else None))
        if not len(best.ids):
            return None
        # Every candidate scored, not only those among the translated query's own top k: in a
        # large other-language half its top k is decided by its weakest words (a Japanese
        # question's する -> make, turn) and missed the candidate that matched its best ones.
        docs = tuple(sorted({passage_doc(pid) for pid in mine}))
        found = self.backend.keyword(tokens, self._passages, Filters(lang=lang, doc_lang=other, doc_ids=docs))
        candidates = set(mine)
        keep = [i for i, pid in enumerate(found.ids) if pid in candidates]
        names = self.name_terms(question, other) if self.admit else []
        if names:
            named = set(self.backend.keyword(names, self._passages, Filters(lang=lang, doc_lang=other, doc_ids=docs)).ids)
            per_doc: Counter[str] = Counter()
            for i, pid in enumerate(found.ids):
                doc = passage_doc(pid)
                if per_doc[doc] < self.admit and pid not in candidates and pid in named:
                    keep.append(i)
                per_doc[doc] += 1
            keep.sort()
        return Ranked(tuple(found.ids[i] for i in keep), (found.scores[keep] / float(best.scores[0])).astype("float32"))

    def names_only_there(self, question: str, lang: str, other: str) -> bool:
        """Whether the question names something (a capitalised word JMdict does not know) that no
        passage in its own language `lang` holds but the other language spells (Manet -> マネ)."""
        from kotae.index.dictionary import load_dictionary

        dictionary = load_dictionary()
        words = [w for w in capitalised_words(question) if not dictionary.japanese(w)]
        tokens = sorted({t for w in words for t in term_tokens(w, self.tokenizer)})
        if not tokens or not self.name_terms(question, other):
            return False
        return not len(self.backend.keyword(tokens, 1, Filters(lang=lang)).ids)

    def name_terms(self, question: str, other: str) -> list[str]:
        """The question's names as the other language writes them: a capitalised word that
        JMdict does not know, transliterated or (JMnedict) in kanji, spellings the index knows."""
        if other != "ja":
            return []
        from kotae.index.dictionary import load_dictionary, name_spellings

        dictionary = load_dictionary()
        words = [w for w in capitalised_words(question) if not dictionary.japanese(w)]
        candidates = list(dict.fromkeys([v for w in words for v in self._translit(w) + silent_ending(self._translit(w), w)]
                                        + [t for w in words for sp in name_spellings(w) for t in self._as_tokens(sp)]))
        if not candidates:
            return []
        known = self.backend.keyword_idf(candidates)
        return [c for c, idf in zip(candidates, known.tolist()) if idf > 0]

    def _transliterated(self, question: str) -> list[str]:
        """Katakana spellings of the question's English words that the index knows."""
        from kotae.index.dictionary import load_dictionary

        dictionary = load_dictionary()
        # A word the dictionary translates only into kanji or kana words is not written in
        # katakana in Japanese (year -> 年, not イヤー; make -> 作る, not メーク): its katakana
        # guess matches unrelated loanwords. Names and loanwords (share -> シェア) stay.
        words = [w for w in latin_words(question, self.tokenizer)
                 if not dictionary.japanese(w) or any(is_katakana(t) for t in dictionary.japanese(w))]
        names = capitalised_words(question)
        candidates = [v for w in words for v in self._translit(w) + (silent_ending(self._translit(w), w) if w in names else ())]
        if not candidates:
            return []
        known = self.backend.keyword_idf(candidates)
        return list(dict.fromkeys(c for c, idf in zip(candidates, known.tolist()) if idf > 0))

    def _translated(self, question: str, other: str) -> list[str]:
        """Each question word's first translations that the index knows and that are rare enough.
        Words with very many translations (make, close, start) are function-like: skipped."""
        from kotae.index.dictionary import load_dictionary, name_spellings, rare_japanese

        lookup = load_dictionary().japanese if other == "ja" else load_dictionary().english
        names = capitalised_words(question)
        options = []
        for word in dict.fromkeys(question_tokens(question, self.tokenizer)):
            found = lookup(word)
            if not found and other == "ja" and word in names:
                # a romanised Japanese name (written Tokugawa, not AI or ai): its kanji spellings
                found = name_spellings(word)
            if not found and other == "ja":
                # an English word no common entry translates (gangrene, scorpion): its rare
                # entries, whose translations are as specific as it is (gangrene -> 壊疽)
                found = rare_japanese(word)
                # one index term each: their pieces (蠍座 -> 蠍, 座) are other words
                found = tuple(t for t in found if self._as_tokens(t) == [t.lower()])
            if len(found) <= MAX_SENSES or not lookup(word):
                options.append(list(dict.fromkeys(t for tr in found for t in self._as_tokens(tr))))
        flat = sorted({t for o in options for t in o})
        if not flat:
            return []
        idf = dict(zip(flat, self.backend.keyword_idf(flat).tolist()))
        out: list[str] = []
        for o in options:
            known = [t for t in o if idf[t] > 0]
            if known and idf[known[0]] < _MIN_IDF:
                # its usual translation is common in the index (Japan -> 日本 in documents about
                # Japan): that one only, which BM25's idf weighs little, not its rarer senses (大和)
                out += [known[0]] if known[0] not in out else []
                continue
            out += [t for t in known if idf[t] >= _MIN_IDF and t not in out][:_MAX_TRANSLATIONS]
        return out

    def _as_tokens(self, term: str) -> list[str]:
        """A translation as index tokens: itself when the tokenizer keeps it whole (日本語, not
        also 語), else its pieces; numbers never (many -> 三千); nothing for a Japanese word that
        names no topic (so -> そう, according -> 其れ, made -> 出来る): it matches everywhere."""
        if not term.isascii() and not is_content_word(term):
            return []
        tokens = [t for t in term_tokens(term, self.tokenizer) if not t.isdigit()]
        whole = term.lower()
        return [whole] if whole in tokens else tokens

    def _feedback(self, dense: Ranked, other: str, doc_langs: dict[str, str]) -> list[str]:
        top = [pid for pid in dense.ids if doc_langs.get(pid) == other][: self.config.prf_passages]
        if not top:
            return []
        seen: Counter[str] = Counter()
        for stored in self.backend.passages(top):
            seen.update(set(t for t in tokenize(stored.passage.text, self.tokenizer) if not t.isdigit()))
        terms = sorted(seen)
        idf = self.backend.keyword_idf(terms)
        scored = [(n * w, w, t) for t, n, w in zip(terms, (seen[t] for t in terms), idf.tolist()) if w >= _MIN_IDF]
        # the rarest terms that several feedback passages share characterise them best
        scored.sort(key=lambda x: (-x[0], -x[1], x[2]))
        return [t for _, _, t in scored[: self.config.prf_terms]]


def add_scaled(fused: dict[str, float], ranked: Ranked, weight: float) -> None:
    """fused[id] += weight x score, for every passage of `ranked` (in place)."""
    for pid, score in zip(ranked.ids, ranked.scores.tolist()):
        fused[pid] = fused.get(pid, 0.0) + weight * score
