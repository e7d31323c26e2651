"""A question's words meet a front-matter key in another word form ("headquartered" /
``headquarters:``), snake_case and camelCase keys read as words, Japanese is left alone."""

from __future__ import annotations

import numpy as np
import pytest

from kotae.index.highlight import answer_units
from kotae.index.rerank import Candidate, SentenceScorer
from kotae.index.tokenize import tokenize
from kotae.index.wordform import word_form

# a company profile's front matter: the distractors come first, so that a question that
# meets no key is answered by the first unit of the right kind, not by the key it asks about
PROFILE = """company: Aozora Robotics
ceo: Kenji Mori
headquarters: Sendai
updated_at: 2025-01-10
founding_date: 2016-04-01
offices: 3
employees: 120"""


@pytest.mark.parametrize("family", [("headquartered", "headquarters"), ("founded", "founding", "founder"),
                                    ("employs", "employees", "employed"), ("invested", "investors", "investment"),
                                    ("located", "location"), ("acquire", "acquired"), ("planned", "plan")])
def test_a_word_family_has_one_form(family):
    forms = {word_form(t) for w in family for t in tokenize(w)}
    assert len(forms) == 1, forms


def test_different_words_keep_different_forms():
    assert word_form("foundation") != word_form("founded")  # a foundation is not a founding
    assert word_form("install") == "install" and word_form("process") == "process"  # no doubled l/s stripped
    assert word_form("本社") == "本社" and word_form("2016") == "2016"


def test_camel_case_and_snake_case_keys_read_as_words():
    texts = [u.text for u in answer_units("foundingDate: 2016-04-01\nHQCity: Sendai\nlargest_investor: Hoshino")]
    assert texts == ["founding date: 2016-04-01", "HQ city: Sendai", "largest investor: Hoshino"]


@pytest.mark.parametrize("question, answer", [
    ("Where is Aozora Robotics headquartered?", "headquarters: Sendai"),
    ("When was Aozora Robotics founded?", "founding date: 2016-04-01"),
    ("How many people does Aozora Robotics employ?", "employees: 120"),
])
def test_a_question_verb_meets_the_key_noun(question, answer):
    # as in a real index, the question's verb is written in no document (no idf of its own), and
    # the company is named in most passages (a low one)
    idf = {t: 0.2 if t in ("aozora", "robotic") else 1.0 for t in tokenize(PROFILE)}
    scorer = SentenceScorer("sudachi", lambda tokens: np.array([idf.get(t, 0.0) for t in tokens], np.float32))
    c = Candidate("p#0", PROFILE, "Aozora Robotics profile", "en", 1.0)
    scorer.score_answers(question, [c])
    best = max(c.units, key=lambda u: u.score)
    assert best.unit.text == answer, [(u.unit.text, round(u.score, 3)) for u in c.units]
