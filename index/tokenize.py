"""Keyword tokens for Japanese and English, produced by one path for passages and queries.

Whitespace or \\w+ tokenisers find almost no terms in Japanese (it has no spaces), so runs of
Japanese script become overlapping character bigrams, and Latin words and numbers become
lower-cased words. Text is NFKC-normalised first so full-width Ａ１ and half-width ｶﾅ match
their ordinary forms.
"""

from __future__ import annotations

import re
import unicodedata

_CJK_RUN = r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u30fc々〆ヵヶ]+"
_WORD = r"[a-z0-9\u00c0-\u024f]+(?:[.,][0-9]+)*"
_TOKEN = re.compile(f"({_CJK_RUN})|({_WORD})")
TOKENIZERS = ("bigram",)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _number_variants(word: str) -> list[str]:
    # "1,031" and "1031" are the same number; "1.7" stays a decimal.
    return [word, word.replace(",", "")] if "," in word else [word]


def tokenize(text: str, tokenizer: str = "bigram") -> list[str]:
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"unknown keyword tokenizer {tokenizer!r}; choose one of {', '.join(TOKENIZERS)}")
    tokens: list[str] = []
    for m in _TOKEN.finditer(normalize(text)):
        run, word = m.group(1), m.group(2)
        if run:
            if len(run) == 1:
                tokens.append(run)
            else:
                tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            tokens.extend(_number_variants(word))
    return tokens
