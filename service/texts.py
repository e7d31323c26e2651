"""Checks for every text a request hands to the tokenizer or the embedder.

Refused (422 naming the field): lone surrogates (not Unicode; they cannot even be encoded
back to UTF-8) and control characters other than tab, line feed and carriage return.
Trimmed, never refused: chat history. Earlier turns only give context, so an over-long one
keeps its last part, and the oldest turns are dropped until the whole fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

MAX_QUESTION_CHARS = 2000
MAX_HISTORY_MESSAGE_CHARS = 4000  # one earlier turn, as kept
MAX_HISTORY_CHARS = 12000  # all earlier turns, as kept

_BAD = re.compile(r"[\ud800-\udfff]|[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be processed, or None."""
    m = _BAD.search(value)
    if m is None:
        return None
    ch = m.group()
    if "\ud800" <= ch <= "\udfff":
        return f"is not valid Unicode (a lone surrogate U+{ord(ch):04X} at character {m.start()})"
    return f"contains the control character U+{ord(ch):04X} at character {m.start()}"


def check_text(value: str) -> str:
    """`value`, or ValueError saying what is wrong with it (pydantic validators)."""
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


@dataclass(frozen=True)
class Turn:
    role: str
    content: str


def trim_history(turns: Sequence[Turn]) -> list[Turn]:
    """The most recent turns whose kept text totals at most MAX_HISTORY_CHARS, each cut to
    its last MAX_HISTORY_MESSAGE_CHARS characters."""
    kept: list[Turn] = []
    total = 0
    for turn in reversed(turns):
        if len(turn.content) > MAX_HISTORY_MESSAGE_CHARS:
            turn = replace(turn, content="…" + turn.content[-MAX_HISTORY_MESSAGE_CHARS:])
        if total + len(turn.content) > MAX_HISTORY_CHARS:
            break
        total += len(turn.content)
        kept.append(turn)
    return kept[::-1]
