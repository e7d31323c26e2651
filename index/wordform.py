"""One form for the English words of a family, for matching a question's words with keys and
headings: "headquartered" / ``headquarters:``, "founded" / ``founding_date``, "employs" /
``employees``, "invested" / ``investors`` / ``investment``.

Keys and headings name a thing with a noun (``headquarters``, ``employees``) where questions
ask with the verb (headquartered, employs); the keyword tokens (index/tokenize.py) keep both as
written, apart from a plural -s. A full stemmer (Porter, Snowball) is not installed, and
reduces "employees" and "employs" to different stems anyway. These rules strip one
inflection (-ing, -ed), then one agent or action suffix (-er, -or, -ee, -ion, -ment), then a
final -e (acquire / acquired, located / location) and a doubled final consonant (planned /
plan), always keeping a stem of three letters or more. "-ation" keeps its "at" (foundation is
not found-ed). Different words may meet (state / station); that costs little where it is used:
only keys and headings, whose few words name what the line under them is about. Tokens that are
not plain Latin letters (Japanese, numbers) are their own form.
"""

from __future__ import annotations

from functools import lru_cache

_MIN_STEM = 3
_INFLECTIONS = ("ing", "ed")
_DERIVATIONS = ("ment", "ion", "ee", "er", "or")
_DOUBLED = frozenset("bdgmnprt")  # planned -> plan; not "ll", "ss", "ff" (install, process, staff)


def _strip(word: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


# A currency's name in a question, its code in a key (``funding_total_eur``, ``valuation_usd``)
_CURRENCIES = {"euro": "eur", "euros": "eur", "dollar": "usd", "dollars": "usd", "yen": "jpy", "pound": "gbp",
               "pounds": "gbp", "yuan": "cny", "franc": "chf", "francs": "chf", "won": "krw", "rupee": "inr", "rupees": "inr"}


@lru_cache(maxsize=20_000)  # key, heading and question words recur across passages and questions
def word_form(token: str) -> str:
    """The form shared by a lower-cased English word's family (see the module docstring); a
    currency's name has its code's form (euros / ``eur``)."""
    if token in _CURRENCIES:
        return _CURRENCIES[token]
    if not (token.isascii() and token.isalpha()) or len(token) <= _MIN_STEM:
        return token
    word = _strip(_strip(token, _INFLECTIONS), _DERIVATIONS)
    if word.endswith("e") and len(word) > _MIN_STEM:
        word = word[:-1]
    if len(word) > _MIN_STEM and word[-1] == word[-2] and word[-1] in _DOUBLED:
        word = word[:-1]
    return word
