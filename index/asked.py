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
from typing import Callable, Collection, NamedTuple

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


# --- What is said about the subject (``Evidence.unsaid``) ---------------------------------------
#
# Some questions ask for something a passage can only give by saying it in so many words: the
# holder of a role (the CFO: the passages name the CEO and the CTO), a preference (her favourite
# flower), a birth, who develops a thing. Each is written in a few ways in either language
# (SAID): when none of them is in the passages that name the question's subject, they do not
# say it, whatever else of the question they hold.

def _roles(*groups: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {g[0]: g for g in groups}


# Officer titles, as an English or a Japanese passage writes them (a CEO is often 社長 in Japanese).
ROLES = _roles(
    ("ceo", "chief executive", "最高経営責任者", "社長", "代表取締役"),
    ("cfo", "chief financial officer", "finance director", "最高財務責任者", "財務責任者", "財務担当"),
    ("cto", "chief technology officer", "chief technical officer", "最高技術責任者", "技術責任者"),
    ("coo", "chief operating officer", "最高執行責任者"),
    ("cmo", "chief marketing officer", "最高マーケティング責任者"),
    ("cio", "chief information officer", "最高情報責任者"),
    ("cpo", "chief product officer", "最高製品責任者"),
    ("chairman", "chairwoman", "chairperson", "chair", "会長", "議長"),
    ("chro", "chief human resources officer", "chief people officer", "head of hr", "head of human resources", "最高人事責任者",
     "人事責任者", "人事部長"),
    ("general counsel", "chief legal officer", "clo", "最高法務責任者", "法務責任者", "法務部長"),
)
# Stems of the words a passage says a preference, a birth or a thing's making with (``*``: a stem,
# matched at the start of a word; Latin spellings otherwise match whole words).
PREFERENCE = ("好き", "好物", "好ん", "好む", "好み", "気に入", "愛用", "愛好", "愛読", "愛聴", "愛し",
              "favourite*", "favorite*", "loved", "liked", "likes", "fond", "prefer*", "beloved", "adore*")
# words that name a favourite thing themselves (好物: a favourite food), with no word for the thing beside them
_PREFERRED_THING = ("好物",)
BIRTH = ("born", "birth*", "生まれ", "誕生", "出生", "生年", "出身", "生誕")
DEVELOPED = ("develop*", "開発", "製作", "制作", "作った", "作られ", "手がけ", "手掛け", "設計", "発明", "発売", "creat*", "made",
             "built", "maintain*", "design*", "invent*", "publish*", "written by", "product of")

# A listed company's share price and market value: "stock" alone is met by 株式 (株式転換) in
# passages that give no price, so the phrase is looked for, in either language.
STOCK_PRICE = ("株価", "終値", "stock price*", "share price*", "closing price*", "stock closed", "shares closed",
               "stock traded", "shares traded", "trading at", "traded at")
MARKET_CAP = ("時価総額", "market cap*", "market value")
# A listing on a stock exchange, its ticker, a telephone number: things of a company said only in so many words.
LISTING = ("ipo", "上場", "株式公開", "initial public offering", "went public", "go public", "goes public", "going public",
           "listed on", "listing")
TICKER = ("ticker", "ティッカー", "証券コード", "銘柄コード", "stock symbol")
PHONE = ("電話", "phone", "telephone", "tel")
# Who makes a thing (its brand): like who develops it, judged only over pages about the thing.
MAKER = ("メーカー", "ブランド", "社製", "製造", "brand*", "manufactur*", "maker*", "made by", "produced by")

_WHO = r"\bwho(?:'s| is| was| are| were| serves as| served as)\b.*"
_PREFERS = re.compile(r"\bfavou?rite\b|\bpreferred\b|\blike[ds]? (?:the )?(?:best|most)\b|好き(?:な|だった)|好物|お気に入り|愛用|好んで|好んだ", re.I)
_LIKED = re.compile(r"好き(?:な|だった)([一-龥々ヶァ-ヴー][一-龥々ヶァ-ヴーぁ-ん]*?)(?:は|って|を|が|の|と|、|？|\?|$)|\bfavou?rite\s+((?:[a-z]+\s+){0,2}[a-z]+)", re.I)
_AFTER_THING = frozenset("of as in at for to from when that which who is was are were did does do during".split())
_JAPANESE = re.compile(r"[ぁ-んァ-ヴ一-龥]")
_BORN = re.compile(r"\bborn\b|\bbirth(?:day|place|date)?\b|生まれ|誕生|出生|生年", re.I)
_STOCK_PRICE = re.compile(r"\b(?:stock|share) price|株価", re.I)
_MARKET_CAP = re.compile(r"\bmarket cap(?:itali[sz]ation)?\b|時価総額", re.I)
_LISTS = re.compile(r"\bipo\b|\bgo(?:es|ne|ing)? public\b|\bwent public\b|上場|株式公開|initial public offering", re.I)
_TICKER = re.compile(r"\bticker\b|ティッカー|証券コード|stock symbol", re.I)
_PHONE = re.compile(r"\bphone number\b|\btelephone\b|電話番号", re.I)
_MAKES = re.compile(r"メーカー|ブランド|\bbrand\b|\bmanufacturer\b|\bmaker\b|\bmake of\b", re.I)
_DEVELOPS = re.compile(r"\bdevelop(?:s|ed|ing|er|ers)?\b|開発", re.I)


class Said(NamedTuple):
    """What the question asks to be said about its subject: ``what`` (a role, "preference",
    "birth", "developer"), the ways of saying it (``spellings``, any one will do) and, for a
    preference, the thing liked (``thing``), which must be named too."""
    what: str
    spellings: tuple[str, ...]
    thing: str = ""


@lru_cache(maxsize=4)  # the question being answered
def asked_said(question: str) -> Said | None:
    """What ``question`` asks to be said about its subject, None for any other question: who holds
    an officer role ("Who is Mistral's CFO?", 「Mistralの最高財務責任者（CFO）は誰？」), a favourite
    thing (「最も好きだった花」, "favourite school subject"), when or where someone was born, who
    develops something (「Knoppixを開発したのは誰」)."""
    q = unicodedata.normalize("NFKC", question)
    folded = q.casefold()
    kind = expected_type(question)
    if kind == "person":
        asks = _ASKS_ROLE_JA if _JAPANESE.search(q) else _ASKS_ROLE_EN
        for role, spellings in ROLES.items():
            if asks[role].search(folded):
                return Said(role, spellings)
    if _STOCK_PRICE.search(q):
        return Said("stock price", STOCK_PRICE)
    if _MARKET_CAP.search(q):
        return Said("market cap", MARKET_CAP)
    for cue, what, spellings in ((_LISTS, "listing", LISTING), (_TICKER, "ticker", TICKER), (_PHONE, "phone", PHONE)):
        if cue.search(q):
            return Said(what, spellings)
    if _PREFERS.search(q):
        m = _LIKED.search(q)
        thing = (m.group(1) or _head(m.group(2))) if m else ""
        return Said("preference", PREFERENCE, thing)
    if kind in ("date", "place") and _BORN.search(q):
        return Said("birth", BIRTH)
    if kind in ("person", "place", "name") and _DEVELOPS.search(q):
        return Said("developer", DEVELOPED)
    if _MAKES.search(q):
        return Said("maker", MAKER)
    return None


def _head(words: str) -> str:
    """The noun of "favourite school subject as a child": the last word before a preposition or verb."""
    kept = []
    for w in words.split():
        if w.casefold() in _AFTER_THING:
            break
        kept.append(w)
    return kept[-1] if kept else ""


def _word(spelling: str) -> str:
    stem = spelling.endswith("*")
    s = re.escape(spelling.rstrip("*"))
    return rf"(?<![a-z0-9]){s}" + ("" if stem else r"(?![a-z0-9])")


# "Who is Mistral's CFO?", "Who is the chief financial officer of …", 「…の最高財務責任者（CFO）は誰」
_ASKS_ROLE_EN = {role: re.compile(_WHO + "(?:" + "|".join(_word(s) for s in spellings) + ")") for role, spellings in ROLES.items()}
_ASKS_ROLE_JA = {role: re.compile("(?:" + "|".join(re.escape(s) for s in spellings) + r")(?:\([^)]*\))?(?:は|って)、?(?:誰|だれ|どなた)")
                 for role, spellings in ROLES.items()}


# A life's span in parentheses after a name gives the birth without a word for it:
# 「宮﨑駿(…、1941年1月5日-)は」, "Ian Murdock (April 28, 1973 – December 28, 2015)"
_LIFESPAN = re.compile(r"[(（][^()（）]{0,80}?\d{3,4}[^()（）]{0,40}?[-–—〜~][^()（）]{0,60}?[)）]")


def said_in(said: Said, texts: Collection[str], dictionary) -> bool:
    """Whether ``texts`` (passages naming the question's subject, with their titles) say what
    ``said`` asks: one of its spellings as written (NFKC, case folded), and, for a preference,
    the thing liked, as written or through JMdict either way (花 / flower)."""
    text = "\n".join(unicodedata.normalize("NFKC", t).casefold() for t in texts)
    if said.what == "birth" and _LIFESPAN.search(text):
        return True
    if not any(re.search(_word(s), text) if s.isascii() else s in text for s in said.spellings):
        return False
    if not said.thing or any(w in text for w in _PREFERRED_THING):
        return True
    thing = said.thing.casefold()
    others = dictionary.japanese(thing) if thing.isascii() else dictionary.english(said.thing)
    return any(re.search(_word(w.casefold()), text) if w.isascii() else w in text for w in (thing, *others))
