"""highlight.focus on the inputs a hostile or broken document gives it: a unit that is not cut,
a long unit nothing in the question speaks to, a row of thousands of cells that are all wanted,
punctuation only, and a wanted word at the very end of a long sentence."""

from __future__ import annotations

from kotae.index.highlight import MAX_UNIT_CHARS, answer_units, focus


def _unit(text: str):
    (unit,) = answer_units(text)
    return unit


def test_a_short_unit_is_quoted_whole_whatever_is_wanted():
    unit = _unit("Koyebはパリのスタートアップである。")
    assert not unit.full
    assert focus(unit, lambda piece: True) == unit.text


def test_a_long_unit_nothing_speaks_to_is_quoted_by_its_head():
    unit = _unit("alpha " * 200)
    assert unit.full and len(unit.text) <= MAX_UNIT_CHARS
    assert focus(unit, lambda piece: False) == unit.text


def test_a_row_of_thousands_of_wanted_cells_stays_within_the_quote_limit():
    header = "| " + " | ".join(f"c{i}" for i in range(3000)) + " |"
    sep = "|" + "---|" * 3000
    row = "| " + " | ".join(f"v{i}" for i in range(3000)) + " |"
    units = [u for u in answer_units("\n".join([header, sep, row])) if u.kind == "row"]
    assert units and units[0].full
    quoted = focus(units[0], lambda piece: True)
    assert 0 < len(quoted) <= MAX_UNIT_CHARS


def test_punctuation_only_and_a_wanted_last_word():
    unit = _unit("、" * 400 + "。")
    assert focus(unit, lambda piece: True) == unit.text  # no word to look for: the head
    unit = _unit("filler " * 100 + "Mistral-Medium-3.5-128B.")
    quoted = focus(unit, lambda piece: "128B" in piece)
    assert "Mistral-Medium-3.5-128B" in quoted and len(quoted) <= MAX_UNIT_CHARS
