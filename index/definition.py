"""Definition questions ("What is X?", 「Xとは何ですか」, 「Xって何？」) and the units that answer them.

Such a question names only X, so every unit that mentions X shares all its words: term overlap
cannot tell 「Step 1: Proprietary Data」 under a heading about X from 「Xは…を提供する会社です」.
What answers it is a unit that says what X is: X as its subject (「Xは…」「Xとは…」, "X is …",
"X, a …") or a unit under a heading that is X. A question sentence (「なぜ…Xを選んだのでしょうか。」,
"What is X?" in a FAQ) asks, it does not answer: whatever the question, its score is cut below the
units that speak of what is asked (index/rerank.py QUESTION_FACTOR), so it is not quoted first.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_KATA = "ァ-ヴー・"
# "What is X?", "What's X?", "What are Xs?" (X without the article), with X naming a thing, not
# an attribute of one: "What is the capital of France?", "What is Mistral's revenue?", "What is
# X called?", "What is X used for?" ask something else.
_EN = re.compile(r"^\s*what(?:'s|\s+is|\s+are|\s+was|\s+were)\s+(?:an?\s+|the\s+)?(?P<x>[^?]+?)\s*\??\s*$", re.I)
_EN_NOT_NAME = re.compile(r"\b(?:of|in|on|at|by|for|to|from|with|about|between|that|which|who|when|where|why|how|"
                          r"called|named|used|made|known|meant|doing|like|do|does|did|has|have|had|can|could|will|would|"
                          r"should|being|been|my|your|their|its|his|her|our)\b|['’]s?\b|\d{4}", re.I)
# 「Xとは何ですか」「Xとは何か」「Xとは？」「Xって何？」「Xとはどのような会社ですか」; って not of
# について / によって / にとって
_JA = re.compile(r"^(?P<x>.+?)\s*(?:とは|(?<![にと])って)\s*(?:(?:何|なに|なん|どんな|どういう|どのような|どの様な)[^、。]{0,12})?[?？]?\s*$")
# hiragana other than の (a particle, a verb's ending: が買収した, に位置している) makes X a description
_DESCRIBED = re.compile(r"[ぁ-ねは-ゖ]|[ぁ-ゖ]{2,}")
_MAX_WORDS = 5
_MAX_CHARS = 40
# X followed by what makes it the subject of its sentence (or the thing an apposition defines):
# a closing quote or a reading in brackets may come between
_SUBJECT = r"(?:[」』\"'”’]\s*)?(?:\s*[（(][^）)]{0,40}[）)])?\s*(?P<m>とは|は|って|is\b|are\b|was\b|were\b|refers\b|means\b|stands\b|,\s*(?:an?|the)\b|—|–)"


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


@lru_cache(maxsize=4)  # the question being answered: asked once per passage scored
def defined_terms(question: str) -> tuple[str, ...]:
    """The X a definition question asks about, folded (NFKC, case, spaces), and, when X is a phrase
    ending in a name (「Mistralが買収したKoyeb」), that name too; () for any other question."""
    q = unicodedata.normalize("NFKC", question).strip()
    m = _EN.match(q)
    if m:
        x = m.group("x").strip(" \"'“”")
        if _EN_NOT_NAME.search(x) or len(x.split()) > _MAX_WORDS:
            return ()
        return _with_short_name(_fold(x)) if x else ()
    m = _JA.match(q)
    if not m:
        return ()
    x = m.group("x").strip(" 「」『』\"'“”")
    if not x or len(x) > _MAX_CHARS or "、" in x:
        return ()
    if not _DESCRIBED.search(x):
        return _with_short_name(_fold(x))
    # A description (「札幌の次に向かった都市とは」) asks for the name it describes, not what a
    # thing is; one that ends in a name (「Mistralが買収したKoyebとは」) asks what that name is.
    tail = re.search(rf"[ぁ-ゖ]([{_KATA}A-Za-z0-9][{_KATA}A-Za-z0-9 .&-]*)$", x)
    return (_fold(tail.group(1)),) if tail and len(tail.group(1)) >= 3 else ()


# what says what a thing is: a sentence closed by a copula after a noun (「…を提供している会社です。」,
# not 「…を活用しています。」), "is a / an / the …", a description in brackets right after X that
# ends its text or clause ("Le Chat (GDPR-compliant multilingual assistant)")
_COPULA = re.compile(r"[一-龥々ァ-ヴーa-z0-9」』)）]\s*(?:です|でした|である|であった|だ|であり)[。.!！]?[」』)）\s]*$")
_IS_A = re.compile(r"とは|(?:is|are|was|were)\s+(?:an?|the|one)\b|,\s*(?:an?|the)\b|refers\b|means\b|stands\b|—|–")
_APPOSITION = re.compile(r"^\s*[（(][^）)]{3,60}[）)]\s*(?:$|[,、·;])")


def _with_short_name(x: str) -> tuple[str, ...]:
    """X, and for a product named with its maker's name first ("Mistral Forge", "Google Gemini")
    the product's own name, which texts about the maker write alone (「Forge は…基盤」)."""
    words = x.split()
    rest = " ".join(words[1:])
    if len(words) >= 2 and rest.isascii() and rest[:1].isalpha() and len(rest) >= 5:
        return (x, rest)
    return (x,)


@lru_cache(maxsize=16)
def _subject_pattern(term: str) -> re.Pattern[str]:
    edge = r"(?<![a-z0-9])" if term[:1].isascii() and term[:1].isalnum() else ""
    return re.compile(edge + re.escape(term) + _SUBJECT)


def _heading(text: str) -> str:
    """A heading as compared with X: folded, without its numbering (「3. 」, "Step 2:") and marks."""
    return _fold(re.sub(r"^\s*(?:[#*\-•]+\s*)?(?:(?:step|section|chapter|第)?\s*\d+(?:\.\d+)*[.:：)）章節]?\s+)?", "", text, flags=re.I)).strip(" *「」『』")


def defines(terms: tuple[str, ...], text: str, key: str = "") -> int:
    """How the unit's ``text`` says what X is: 3 when X is its subject and it says what X is
    (「Xは…会社です。」, "X is a …", "X (a multilingual assistant)"), 2 when X is its subject
    (「Xは内部で…を活用しています。」), 1 when it sits under a heading (``key``) that is X, else 0."""
    if not terms:
        return 0
    folded = _fold(text)
    subject = False
    for t in terms:
        if t not in folded:
            continue
        for m in _subject_pattern(t).finditer(folded):
            if _IS_A.match(folded, m.start("m")) or _COPULA.search(folded):
                return 3
            subject = True
        if _APPOSITION.search(folded[folded.find(t) + len(t):]):
            return 3
    if subject:
        return 2
    if key and _heading(key.split(" › ")[-1]) in terms:
        return 1
    return 0


# a sentence that asks: ?/？ at its end, or a Japanese question closed with 。 (「…を選んだのでしょうか。」)
_QUESTION = re.compile(r"(?:[?？]|(?:でしょう|ましょう|ません|ます|です|だろう|のだろう|ないの|の|ん)か[。．.]?)[」』)）\"'”’\s]*$")


def is_question(text: str) -> bool:
    """Whether a unit is a question sentence."""
    return bool(_QUESTION.search(text[-24:].rstrip()))


# the start of a clause: after a comma or a semicolon (「…があり、Forge は…」, "…; Forge is …")
_CLAUSE_START = re.compile(r"(?:[、，,;；]|\band)\s*$")
# where a clause of a list of definitions ends: before the next 「、Yは」 (「…基盤、Compute は…」)
_NEXT_TOPIC = re.compile(r"[、，]\s*(?=[^、，。]{1,30}?\s*(?:は|とは)[^じ])|;\s|；")


def defining_clause(terms: tuple[str, ...], text: str) -> str | None:
    """The clause of a sentence that says what X is, when X is the subject of a clause after its
    start (「…Le Chat には Pro / Team があり、Studio は運用基盤、Forge は…を作る基盤、Compute は…である。」
    -> 「Forge は…を作る基盤」): the sentence's start speaks of something else. None when X opens the
    sentence or is no clause's subject."""
    if not terms:
        return None
    t = unicodedata.normalize("NFKC", text)
    low = t.casefold()
    for term in terms:
        words = [re.escape(w) for w in term.split()]
        edge = r"(?<![a-z0-9])" if term[:1].isascii() and term[:1].isalnum() else ""
        for m in re.finditer(edge + r"\s+".join(words) + _SUBJECT, low):
            if m.start() == 0 or not _CLAUSE_START.search(low[:m.start()]):
                continue
            end = _NEXT_TOPIC.search(t, m.end())
            clause = t[m.start():end.start() if end else len(t)].strip()
            return "…" + clause + ("…" if end else "")
    return None
