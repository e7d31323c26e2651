"""The attribute a question asks for, and whether the passages name it in either language.

"Mistral AIの株価は？" and "What was Mistral AI's net income in 2025?" over reports on Mistral
that never speak of its share price or net income: the subject is in every passage and so are
amounts (a valuation, a funding round), so neither the words nor ``unstated`` (index/abstain.py)
refuse them. What is missing is the attribute itself: the noun that says which amount, share
or measure is asked for (株価, income, margin: index/answer_type.py's nouns of those kinds) with
the words that qualify it in an English question (*net* income, *operating profit* margin). When
that noun, or a word qualifying it, is written nowhere in the top passages, neither as such nor in
translation (index/bridge.py's hand list, JMdict's common entries), nothing there answers the
question.

Only words that can be judged are: a Japanese word among passages that hold no Japanese and has
no English equivalent, or an English word with no Japanese equivalent among passages that hold
no English, says nothing by its absence (``judgeable``). Qualifying words are judged only when
the dictionary knows them (an unknown "annualized" cannot be looked for in a Japanese report)
and when they are not of the general kind every amount can have (total, annual, current, ...:
GENERAL_QUALIFIERS), which the answer sentence often leaves out. Counting every unknown
question word as missing was tried before and refused 15 of 74 answerable gold questions
(evals/reports/abstention.md); this judges one noun phrase, the one that names the asked kind.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Callable, Collection

from kotae.index.answer_type import expected_type, noun_cue
from kotae.index.bridge import hand_list

# Qualifiers every amount or measure can take, that the sentence giving it often leaves out
# ("the annual budget" / "the budget is €5m a year", "the total funding" / "raised €1.7B").
GENERAL_QUALIFIERS = frozenset(
    "total overall average mean median typical current latest recent present estimated approximate exact expected "
    "annual annualized yearly monthly weekly daily hourly first last initial final new old maximum minimum max min "
    "highest lowest top peak full entire whole actual official reported planned combined cumulative own real".split())
_SKIP = frozenset("the a an of its their his her our your my this that these those is was are were be been what which "
                  "how much many does did do in for per to on at by and or with from as".split())
_DETERMINERS = frozenset("the a an its their his her our your my this that these those what which each per".split())
_OWNER = re.compile(r"[A-Za-z0-9]['’]s?$")
_HOW_MANY = re.compile(r"\b(?:how many|number of)\s+((?:\S+\s+){0,3}\S+)", re.I)
_PRONOUNS = frozenset("them they it us you these those".split())
_COUNTED = re.compile(r"([一-龥々〆ヶァ-ヴー]+)数(?:は|が|を)")
_ACRONYM_PLURAL = re.compile(r"^([A-Z][A-Z0-9]+)s$")  # GPUs -> GPU


@lru_cache(maxsize=4)  # the question being answered
def asked_attribute(question: str) -> tuple[str, ...]:
    """The words naming what the question asks for: its noun of an amount, share or measure
    (index/answer_type.py ``noun_cue``) first, then the English words qualifying it that are
    not GENERAL_QUALIFIERS ("net", "operating", "profit"); for a count, the thing counted
    (``_counted``); () when the question's kind is named by no noun (いくら alone, who, when)."""
    q = unicodedata.normalize("NFKC", question)
    kind = expected_type(question)
    if kind == "count":
        return _counted(q)
    cue = noun_cue(kind, q)
    if cue is None:
        return ()
    start, end = cue
    head = q[start:end]
    if not head.isascii():
        return (head,)
    words = [head]
    before = q[:start].split()
    while before and len(words) < 3 and before[-1].isascii() and before[-1].isalpha() and before[-1].islower() \
            and before[-1] not in _SKIP:
        w = before.pop()
        if w not in GENERAL_QUALIFIERS:
            words.append(w)
    # a noun has a determiner or an owner before it ("the annual budget", "Mistral's net income",
    # "what salary"); "How much did Mistral raise", "What does a Steam Deck cost" ask with a verb
    if not before or not (before[-1].lower() in _DETERMINERS or _OWNER.search(before[-1])):
        return ()
    return tuple(words)


def _counted(q: str) -> tuple[str, ...]:
    """What a count question counts: the noun after "how many" / "number of" (its names and
    numbers skipped: "How many H200 GPUs", "how many Debian developers"), the noun before 数 は /
    が / を (「国内累計販売本数は何本」: 国内累計販売本, 「従業員数は何人」: 従業員); () for a bare 何人."""
    m = _HOW_MANY.search(q)
    if m:
        for w in m.group(1).split():
            if w.isascii() and w.isalpha() and (w.islower() or _ACRONYM_PLURAL.match(w)):
                return (w,) if w not in _SKIP and w not in _PRONOUNS else ()
            if not (w[:1].isupper() or any(ch.isdigit() for ch in w)):
                break
        return ()
    # the thing counted without 数, which the sentence giving the count seldom writes (従業員は300人)
    m = _COUNTED.search(q)
    return (m.group(1),) if m else ()


def attribute_unnamed(words: tuple[str, ...], present: Collection[str], langs: Collection[str],
                      terms: Callable[[str], frozenset[str]], dictionary,
                      katakana: Callable[[str], tuple[str, ...]] | None = None) -> bool:
    """Whether any of ``words`` (asked_attribute) that can be judged is named nowhere in the
    passages whose terms are ``present`` (in languages ``langs``): not as such, not through the
    hand list of index/bridge.py (either way round) and not through JMdict (``dictionary``:
    index/dictionary.py), nor, among Japanese passages, as ``katakana`` spells an English word
    (unicorn / ユニコーン: index/crosslingual.py's transliteration, tried last, as it costs a few
    ms a word). ``terms`` tokenises a word as the passages were."""
    english = sorted(t for t in present if t.isascii() and t.isalpha())
    for i, word in enumerate(words):
        word = _ACRONYM_PLURAL.sub(r"\1", word)
        if word.isascii():
            own = [t for t in terms(word)]
            others = [ja for t in own for ja in dictionary.japanese(t)]
            listed = [ja for pattern, jas in hand_list() if pattern.search(word) for ja in jas]
            if i > 0 and not others:  # a qualifier the dictionary does not know cannot be looked for
                continue
            if "en" not in langs and not others and not listed:
                continue
            if (own and set(own) <= present) or _any_met(others + listed, present, terms):
                continue
            if katakana is not None and "ja" in langs and _any_met([k for t in own for k in katakana(t)], present, terms):
                continue
            return True
        others = list(dictionary.english(word))
        # the hand list read backwards: 料金 is met by "price", 売上高 by "revenue"
        listed = [pattern for pattern, jas in hand_list() if any(word in ja or (len(ja) > 1 and ja in word) for ja in jas)]
        if "ja" not in langs and not others and not listed:
            continue
        if terms(word) <= present or _any_met(others, present, terms) or any(p.search(t) for p in listed for t in english):
            continue
        return True
    return False


def _any_met(equivalents: list[str], present: Collection[str], terms: Callable[[str], frozenset[str]]) -> bool:
    return any((toks := terms(e)) and toks <= present for e in equivalents)
