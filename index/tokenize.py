"""Keyword tokens for Japanese and English, produced by one path for passages and queries.

Whitespace or \\w+ tokenisers find almost no terms in Japanese (it has no spaces). Three ways
to cut Japanese are offered and compared on the gold set (evals/reports/):

- ``bigram``: runs of Japanese script become overlapping character bigrams (a one-character
  run stays a unigram). Needs nothing, robust to unknown words and compounds.
- ``sudachi``: SudachiPy (bundled sudachidict-core) morphemes, short units (mode A) plus the
  long compound (mode C) when it differs, as Sudachi's normalised form (動い → 動く,
  ｻｰﾊﾞ → サーバー); particles, auxiliaries and symbols are dropped.
- ``union``: both of the above.

Latin-script words and numbers take the same path in all three: lower-cased, a light English
normalisation (plural -s, possessive 's, a short stop-word list), "1,031" also as "1031", and
amounts with a scale word also as their value ("€1.7bn", "€1,700M", "17億ユーロ" all give
"1700000000"). Text is NFKC-normalised first so full-width Ａ１ and half-width ｶﾅ match their
ordinary forms.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

_CJK_CHARS = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u30fc々〆ヵヶ"
_CJK_RUN = f"[{_CJK_CHARS}]+"
_WORD = r"[a-z0-9\u00c0-\u024f]+(?:[.,][0-9]+)*"
_TOKEN = re.compile(f"({_CJK_RUN})|({_WORD})")
_HAS_CJK = re.compile(f"[{_CJK_CHARS}]")
TOKENIZERS = ("bigram", "sudachi", "union")

_SCALES = {
    "trillion": 1e12, "tn": 1e12, "兆": 1e12,
    "billion": 1e9, "bn": 1e9, "b": 1e9,
    "億": 1e8,
    "million": 1e6, "mn": 1e6, "m": 1e6, "mio": 1e6,
    "万": 1e4,
    "thousand": 1e3, "k": 1e3, "千": 1e3,
}
_AMOUNT = re.compile(
    r"(?<![0-9.,])(\d+(?:,\d{3})*(?:\.\d+)?)\s?(trillion|billion|million|thousand|mio|bn|tn|mn|[bmk](?![a-z])|兆|億|万|千)(?![a-z])"
)

# Words that carry no topic in English questions; in a Japanese corpus they can only match
# stray English fragments and add noise to the keyword side.
_STOP = frozenset(
    "a an the of in on at to for from by with and or is are was were be been being do does did "
    "what which who whom whose when where why how this that these those it its as into about "
    "has have had can could would should will than then there their they them he she his her "
    "we our you your i me my not no s".split()
)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _english(word: str) -> str | None:
    """Light normalisation of one lower-cased Latin word; None for a stop word."""
    if word in _STOP:
        return None
    if word.isalpha() and len(word) > 3:
        if word.endswith("ies") and len(word) > 4:
            return word[:-3] + "y"
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return word[:-1]
    return word


def _latin(word: str) -> list[str]:
    if word[0].isdigit():
        # "1,031" and "1031" are the same number; "1.7" stays a decimal.
        return [word, word.replace(",", "")] if "," in word else [word]
    w = _english(word)
    return [w] if w else []


def _amounts(text: str) -> list[str]:
    out = []
    for m in _AMOUNT.finditer(text):
        value = float(m.group(1).replace(",", "")) * _SCALES[m.group(2)]
        if value >= 1000:
            out.append(str(int(round(value))))
    return out


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


_local = threading.local()
_DROP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号"})


SUDACHI_CHARS = 10_000  # at most 40 KB of UTF-8, under Sudachi's input limit


def _sudachi():
    tok = getattr(_local, "sudachi", None)
    if tok is None:
        from sudachipy import Dictionary

        tok = _local.sudachi = Dictionary(dict="core").tokenizer()  # one per thread: not thread-safe
    return tok


def _sudachi_words(text: str) -> list[str]:
    """Morphemes of the Japanese parts of `text` (already normalised)."""
    from sudachipy import SplitMode

    if len(text) > SUDACHI_CHARS:
        # Sudachi refuses inputs over ~49 KB ("Input is too long"): tokenize in pieces.
        return [w for i in range(0, len(text), SUDACHI_CHARS) for w in _sudachi_words(text[i : i + SUDACHI_CHARS])]
    out: list[str] = []
    for m in _sudachi().tokenize(text, SplitMode.C):
        if m.part_of_speech()[0] in _DROP_POS or not _HAS_CJK.search(m.surface()):
            continue  # Latin words and numbers take the shared path
        parts = list(m.split(SplitMode.A)) or [m]  # empty when the unit has no shorter split
        forms = [p.normalized_form().lower() for p in parts if p.part_of_speech()[0] not in _DROP_POS]
        out.extend(forms)
        if len(parts) > 1:
            out.append(m.normalized_form().lower())
    return out


def tokenize(text: str, tokenizer: str = "bigram") -> list[str]:
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"unknown keyword tokenizer {tokenizer!r}; choose one of {', '.join(TOKENIZERS)}")
    norm = normalize(text)
    tokens: list[str] = []
    for m in _TOKEN.finditer(norm):
        run, word = m.group(1), m.group(2)
        if run:
            if tokenizer != "sudachi":
                tokens.extend(_bigrams(run))
        else:
            tokens.extend(_latin(word))
    if tokenizer != "bigram" and _HAS_CJK.search(norm):
        tokens.extend(_sudachi_words(norm))
    tokens.extend(_amounts(norm))
    return tokens


@lru_cache(maxsize=100_000)
def term_tokens(term: str, tokenizer: str) -> tuple[str, ...]:
    """``tokenize`` of a dictionary term (a translation, a Japanese equivalent of a question
    word), cached: the same few thousand terms come back for question after question, and
    Sudachi costs ~20 µs a call."""
    return tuple(tokenize(term, tokenizer))


# A few entries only: the question being answered is tokenised by the search, its keyword
# weights, the answer units' weights and the cross-language query (about six times a search).
# This saves that repeated work within one search, not work across different questions.
QUESTION_MEMO = 4


@lru_cache(maxsize=QUESTION_MEMO)
def question_tokens(question: str, tokenizer: str) -> tuple[str, ...]:
    """``tokenize`` of the question being answered (see QUESTION_MEMO)."""
    return tuple(tokenize(question, tokenizer))
