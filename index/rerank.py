"""Second stage: re-score the fused top-N candidates.

No Japanese cross-encoder can be installed here, so the default stage is what can be computed
cheaply at query time from what the index already holds:

- sentence level: each sentence of a candidate is scored by the idf-weighted share of the
  question's keyword tokens it contains; the best sentence's score is combined with the
  passage's first-stage score;
- answer units (index/highlight.py: sentences, readable ``key: value`` fields, table rows
  with their header) are scored by how well they answer the question: its terms in the unit,
  in the unit's heading/key/column names, and whether the unit holds the kind of thing the
  question asks for (index/answer_type.py). The best unit is the hit's ``highlight`` and the
  sentence ``/v1/ask`` quotes from that passage;
- context: the share of the question's tokens found in the passage's title › section line;
- both are weighted down for passages in another language than the question's, where
  lexical overlap is limited to names and numbers.

``CrossEncoderReranker`` plugs in any sentence-transformers CrossEncoder (a local path,
``KOTAE_RERANKER=<path>``) where one is available; the sentence scores still give highlights.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any, Callable, NamedTuple, Protocol, Sequence

import numpy as np

from kotae.index.abstain import CROSS_LINGUAL_OFFSET, OTHER_SIDE_WORDS, UNSTATED_KINDS, Evidence
from kotae.index.answer_type import (asks_total, expected_type, fold, holds_type, named_type, names_role, relative_focus, role_nouns,
                                     says_total)
from kotae.index.asked import asked_attribute, asked_said, attribute_unnamed, said_in
from kotae.index.backends.base import passage_doc
from kotae.index.bridge import english_groups, japanese_groups
from kotae.index.crosslingual import Transliterations, is_katakana
from kotae.index.definition import defined_terms, defines, is_question
from kotae.index.dictionary import load_dictionary
from kotae.index.highlight import ANNOUNCES, Unit, answer_units, focus, sentence_spans
from kotae.index.tokenize import question_tokens, term_tokens, tokenize
from kotae.index.wordform import word_form
from kotae.ingest.lang import detect_language


@dataclass
class Candidate:
    id: str  # passage id
    text: str
    context: str
    lang: str
    first_stage: float  # fused score, min-max normalised to [0, 1] over the candidates
    # filled by SentenceScorer
    sentence: float = 0.0
    context_match: float = 0.0
    highlight: tuple[int, int] = (0, 0)
    units: tuple["ScoredUnit", ...] = ()  # answer units in text order, scored for the question
    answer: float = 0.0  # the best unit's score
    # its own second-stage score, when LexicalReranker gave it the place (and score) of another
    # passage of its document (_by_units_within_documents); None = not moved
    own_score: float | None = None
    # characters of ``text`` before the passage's own text: the lines of front matter that open
    # what the passage continues (highlight.structure_lead), read with it and never quoted alone;
    # the units' spans and ``highlight`` are the passage's own
    lead: int = 0
    # one of its document's front-matter passages, added for its fields (Retriever): it keeps a
    # place only if a field of it answers (LexicalReranker._asked_fields_added)
    added: bool = False
    # the texts of its lines that are headings in its document (index/headings.py)
    headings: frozenset[str] = frozenset()


class _UnitTokens(NamedTuple):
    unit: Unit
    tokens: frozenset[str]  # of its text
    key_tokens: frozenset[str]  # of its key: heading, key path, column names
    # a field's (``key: value`` line, list item of them) words in their word form
    # (index/wordform.py), each with one word of that form. A field names what it is in a noun
    # (``headquarters``, ``employees``) that questions ask with a verb. Headings are matched as
    # written: in forms they met words the question only qualifies its subject with ("the
    # trained model weights" took the section "Deep Training" over "Transfer of Weights", gold
    # answer@1 -1, evals/reports/answers.md).
    forms: dict[str, str]
    names: str | None  # the kind of thing a field's key names (answer_type.named_type)


@dataclass(frozen=True)
class ScoredUnit:
    unit: Unit
    score: float  # how well it answers the question (see SentenceScorer.score_units)
    overlap: float  # idf-weighted share of the question's terms in the unit's own text
    typed: bool  # holds the kind of thing the question asks for
    # share of *all* the question's content terms in the unit or its key: evidence that the
    # documents speak of what is asked (abstention, index/abstain.py)
    coverage: float = 0.0
    # the score without the answer-type bonus: how much the unit speaks of what is asked
    relevance: float = 0.0
    # for a unit cut for reading (Unit.full): its text to quote for this question (highlight.focus),
    # worked out only if it is quoted
    focus: Callable[[], str] | None = field(default=None, compare=False, repr=False)
    # a field whose key names the kind of thing the question asks for (``date:`` for "when",
    # ``headquarters:`` for "where"; answer_type.named_type)
    names_asked: bool = False
    # a field whose own key meets a word of the question that is not its document's topic
    # (``total_investors`` for 投資家は全部で何社): LexicalReranker._asked_fields_added
    key_asked: bool = False
    # a field whose own key meets the last word of a Japanese question without an interrogative, its
    # head noun (「…のカテゴリ」, 「…スコアの合計」): LexicalReranker._asked_fields_added
    key_head: bool = False
    # the unit (its text or its key) holds that head noun, in either language
    holds_head: bool = False

    @property
    def quote(self) -> str:
        return self.focus() if self.focus is not None else self.unit.text


class Bridge(NamedTuple):
    """A question word met in the other language (index/bridge.py)."""

    weight: float  # BRIDGE_WEIGHT x the idf of its best equivalent the candidates hold
    terms: list[tuple[frozenset[str], float]]  # each equivalent the candidates hold: its tokens, its weight
    word: str  # the question's own token it stands for, counted once with it ("": none)
    tokens: frozenset[str]  # every token of its terms: a passage holding none of them is not tried


# Weights of the answer-unit score; chosen on evals/gold.jsonl and the Japanese devset together.
KEY_WEIGHT = 0.5  # question terms found only in the unit's heading, key or column names
TYPE_WEIGHT = 0.25  # the unit holds the expected kind of answer
# A question asking for a number (amount, count, date, share, duration, quantity) is not
# answered by a unit without one, however many of its words the unit repeats ("Microsoft から
# 巨額の出資を受けており" for "いくら出資した？"); numbers are found reliably, names are not.
UNTYPED_FACTOR = 0.6
UNTYPED_NAME_FACTOR = 1.0
NUMERIC_TYPES = frozenset({"amount", "count", "date", "percent", "duration", "quantity", "length", "weight", "data"})
UNIT_MIN_CONTENT = 4  # units with fewer letters or digits (stubs, "Step 1") are never quoted
LABEL_FACTOR = 0.5
_NOT_WHOLE = (*ANNOUNCES, "...")
# A definition question ("What is X?", 「Xとは何ですか」: index/definition.py) names only X, so every unit
# mentioning X shares all its words; a unit saying what X is (X its subject, closed by a copula: 「Xは
# …会社です。」, "X is a …") gains DEFINE_WEIGHT, one with X its subject (「Xは内部で…を活用しています」)
# or under a heading that is X 0.4 of it (DEFINE_LEVELS, by index/definition.defines).
DEFINE_WEIGHT = 0.4
# The defining level outweighs the spread the retrieval prior leaves between passages of one
# document that all name X (service/answer.py RANK_WEIGHT: ~0.1-0.2), so 「Xは…会社です。」 in the
# third passage comes before 「Xは内部で…」 in the first ("What is Koyeb?" over corpus/: at 0.5 for X
# its subject the latter still came first by 0.02).
DEFINE_LEVELS = (0.0, 0.4, 0.4, 1.0)
# A who-question asking with a verb ("Who founded X?") is answered by a unit naming someone with
# that role's noun (founder, 創業者: answer_type.role_nouns), not by one that only repeats the
# subject and the act (「…という創業ミッションを掲げ」), though both share the question's words. On the
# four sets (65 such who-questions), question by question against no bonus: 0.25 (as TYPE_WEIGHT) fixes
# "Who founded Mistral AI?" (behind by 0.02) and changes no answer's gold string; 0.6 also opens
# mx-enen-001 with "FSF's founder and author of the GNU GPL, Richard M. Stallman" (mixed-ja-en
# answer@1 +1-0), and nothing else changes up to 1.0 (evals/reports/answers.md).
ROLE_WEIGHT = 0.6
# Likewise a question asking for a total (「全部で何社」, 「累計で」, "in total") and a unit that states
# one (「顧客総数: 450,000社」, ``total_investors: 41``, 「…計28本」), over one giving a part of it with the
# same words ("100社超の主要エンタープライズ顧客"): answer_type.asks_total / says_total. On the four sets
# (18 such questions) answer@1 won-lost at 0.25: mixed-ja-en +1-0 (「…の計28本」), mixed-small +1-0
# (``funding total eur``); at 0.4 also gold +1-0 (ja-037 「顧客総数: 450,000社」 over the first passage's
# 「100社超の主要エンタープライズ顧客」) and mixed-small +1-0 (ja-032 ``total investors: 41``), none lost;
# the cost: other passages' sentences stating some other 総額 pass the follow-ups' bar in one devset
# answer (tr-424-09-002 grows from one sentence to four). 0.6-1.0 gain nothing more.
TOTAL_WEIGHT = 0.4
# A question sentence (「なぜ…Xを選んだのでしょうか。」) asks, it does not answer: its score is cut to
# this share, below the units that speak of what is asked. Both measured on the four sets side by
# side: answer@1 and answer@any +0-0 on each (6 answers' text changed, none gained or lost a gold
# string; the sets hold few definition questions), +~35 µs per query.
QUESTION_FACTOR = 0.3
# A multi-word name of the question ("Mistral Large 3", "Series C") found whole in a unit: its
# words one by one are also in "Mistral 8x7B … Large …", the name is not.
PHRASE_WEIGHT = 0.3
# the head noun of a relative clause asked about by どこ/誰 (index/answer_type.py) counts this much
FOCUS_FACTOR = 0.3
OTHER_NAME_FACTOR = 0.5  # a passage in the question's language without any of its multi-word names
BRIDGE_WEIGHT = 0.7  # an other-language equivalent of a question word counts this much of it
_INTERROGATIVES = re.compile(r"何|なに|なん|どれ|どの|どこ|どんな|どう|どちら|誰|だれ|いつ|いくら|いくつ|なぜ|くらい|ぐらい|"
                             r"\b(?:how (?:much|many|long|far|big|large|old|often)|according to)\b", re.IGNORECASE)
# A question word found in most units of a passage is what the passage is about (its topic:
# "Mistral AI" in a report on Mistral, the article's subject in a Wikipedia passage); it tells
# which passage, not which of its units, answers. Within a passage of LOCAL_MIN_UNITS units or
# more, the units are ranked with each term's weight cut by LOCAL_SPREAD x the share of the
# passage's units holding it (a word in every unit tells nothing about which one answers), and
# the passage's best score stays what the question's own weights give, so passages compare as
# before. Measured with the four sets side by side (evals/reports/answers.md), answer@1 in
# questions won-lost: devset +5-1 at 1.0 (+3-1 at 0.8, +1-1 at 0.5), gold, mixed-ja-en and
# mixed-small +0-0; 2 units the same as 3. Without keeping the passage's best score it won more
# (devset +6-2, gold +1-0 at 0.8) but moved whole passages: a table whose rows all say シリーズ
# fell below a sentence that holds no amount.
LOCAL_SPREAD = 1.0
LOCAL_MIN_UNITS = 3
# A field naming what is asked leads its document's passages only if its relevance is at least this
# share of the best unit's of those passages (LexicalReranker._named_fields_first). Its words count
# in its key and its document's title, at KEY_WEIGHT: half of that is a title naming half of what
# the best sentence holds ("When did Mistral acquire Koyeb?": 0.31 for 0.60; "when they adopt a new
# AI model" over a blog's ``date:``: 0.003 for 0.36).
NAMED_FIELD_SHARE = 0.25
# A front-matter passage added for its field (LexicalReranker._asked_fields_added) ranks this much
# above its document's first retrieved passage.
ADDED_MARGIN = 1e-6
# reference lists ("Title - Site, accessed …", links) answer nothing themselves
# A field's value that is a bare number (``funding_total_eur: 2570000000``, ``total: 79.5``): front matter
# writes amounts and counts without a currency sign or unit, its key says what they are. Under a key
# naming the asked amount or count, it holds one (gold en-034 hit@5 +1-0, the four sets otherwise identical).
_BARE_NUMBER = re.compile(r"^[^:]+:\s*\d[\d,.]*\s*$")
# a field key (readable: words between spaces) that says its bare number is money
_MONEY_KEY = re.compile(r"(?:^|\s)(?:amount|price|cost|fees?|budget|usd|eur|jpy|gbp|cny|chf|krw|inr|yen|dollars?|euros?)(?:\s|$)|"
                        r"金額|価格|料金|費用|予算|円|ドル|ユーロ", re.IGNORECASE)
_FORM = "\0"  # marks a word form among a passage's terms (SentenceScorer._terms)
_URL = re.compile(r"https?://|<http|www\.|にアクセス|\b(?:accessed|retrieved) (?:on|from)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SecondStageConfig:
    sentence_weight: float = 0.2
    context_weight: float = 0.0
    # multiplies both lexical weights for passages in another language than the question's
    cross_lang_factor: float = 0.3
    # weight of the best answer unit's relevance (its words and their other-language
    # equivalents, index/bridge.py) for passages in another language, among the passages of one
    # document only (LexicalReranker); 0 = off
    cross_lang_units: float = 0.0
    # a passage whose best unit is a field naming, and holding, what is asked comes first within
    # its document (LexicalReranker._named_fields_first)
    named_fields_first: bool = True


class Reranker(Protocol):
    name: str

    def rerank(self, query: str, query_lang: str, candidates: list[Candidate]) -> np.ndarray:
        """Final scores, one per candidate (higher is better)."""


class SentenceScorer:
    """Idf-weighted query-token coverage per sentence. Sentence token sets are cached per
    (tokenizer, passage text) since the same passages come back for related questions."""

    # shared by all scorers of a process, least recently used first: (tokenizer, what of which
    # passage text) -> its sentences' spans and tokens, its answer units, its terms, ...
    _cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
    cache_size = 20000

    def __init__(self, tokenizer: str, idf):
        self.tokenizer = tokenizer
        self._idf = idf  # callable: list[str] -> np.ndarray

    def _cached(self, key: str, make: Callable[[], Any]) -> Any:
        full = (self.tokenizer, key)
        got = self._cache.get(full)
        if got is None:
            got = self._cache[full] = make()
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            try:
                self._cache.move_to_end(full)
            except KeyError:  # evicted by another thread meanwhile
                pass
        return got

    def _sentences(self, text: str) -> list[tuple[tuple[int, int], frozenset[str]]]:
        return self._cached(text, lambda: [((s, e), frozenset(tokenize(text[s:e], self.tokenizer))) for s, e in sentence_spans(text)])

    def _context_tokens(self, context: str) -> frozenset[str]:
        if not context:
            return frozenset()
        return self._sentences_of_context(context)

    def _sentences_of_context(self, context: str) -> frozenset[str]:
        return self._cached("\0ctx" + context, lambda: frozenset(tokenize(context, self.tokenizer)))

    def query_weights(self, query: str) -> dict[str, float]:
        return self._weights(sorted(set(question_tokens(query, self.tokenizer))))

    def _weights(self, tokens: list[str]) -> dict[str, float]:
        if not tokens:
            return {}
        idf = self._idf(tokens)
        return {t: float(w) for t, w in zip(tokens, idf) if w > 0}

    def score(self, weights: dict[str, float], candidates: Sequence[Candidate], query: str | None = None) -> None:
        total = sum(weights.values())
        for c in candidates:
            sents = self._sentences(c.text)
            best, best_span = 0.0, sents[0][0] if sents else (0, len(c.text))
            if total > 0:
                for span, toks in sents:
                    s = sum(w for t, w in weights.items() if t in toks) / total
                    if s > best:
                        best, best_span = s, span
                ctx = self._context_tokens(c.context)
                c.context_match = sum(w for t, w in weights.items() if t in ctx) / total
            if c.lead:
                best_span = (max(0, best_span[0] - c.lead), max(0, best_span[1] - c.lead))
            c.sentence, c.highlight = best, best_span
        if query is not None:
            self.score_answers(query, candidates)

    def _present(self, texts: Sequence[tuple[str, str, frozenset[str]]]) -> set[str]:
        present: set[str] = set()
        for text, context, headings in texts:
            present |= self._terms(text, context, headings)
        return present

    def _terms(self, text: str, context: str, headings: frozenset[str] = frozenset()) -> frozenset[str]:
        """Every term of a passage's answer units and their keys, and the word forms of its
        fields marked with _FORM (no token holds it), all in one set: the candidates' terms are
        gathered for every question, and one cached look-up per passage is what that costs."""
        return self._cached("\0terms" + context + "\0" + text + _headings_key(headings), lambda: frozenset().union(
            *(u.tokens | u.key_tokens | {_FORM + f for f in u.forms} for u in self._units(text, context, headings))))

    def answer_weights(self, query: str, texts: Sequence[tuple[str, str, frozenset[str]]], content: dict[str, float] | None = None) -> dict[str, float]:
        """Weights of the question's terms for choosing answer units: no interrogatives
        (何, どれくらい: rare in documents, so heavy by idf, yet they name no content), and
        only terms that occur somewhere in the candidates, so that a question's unmatched
        words do not shrink every unit's share alike."""
        weights = self.content_weights(query) if content is None else content
        present = self._present(texts)
        kept = {t: w for t, w in weights.items() if t in present}
        return kept | self._field_form_weights(query, texts, present, kept)

    def _field_form_weights(self, query: str, texts: Sequence[tuple[str, str, frozenset[str]]], present: set[str],
                            kept: dict[str, float]) -> dict[str, float]:
        """The question's English words that no candidate writes as such (not in ``kept``) but a
        field writes in another form ("headquartered" / ``headquarters:``, "founded" /
        ``founding_date``), each weighted as the field's word: the question's form is often in
        no document at all, and so has no weight of its own."""
        wanted = {word_form(t): t for t in self.content_tokens(query) if t not in kept and t.isascii() and t.isalpha()}
        wanted = {form: t for form, t in wanted.items() if _FORM + form in present}
        if not wanted:
            return {}
        found: dict[str, str] = {}  # question word -> the field's word of the same form
        for text, context, headings in texts:
            for u in self._units(text, context, headings):
                for form in u.forms.keys() & wanted.keys():
                    found.setdefault(wanted[form], u.forms[form])
        idf = self._idf(list(found.values()))
        return {t: float(w) for t, w in zip(found, idf) if w > 0}

    def bridged_terms(self, query: str, present: set[str]) -> list[Bridge]:
        """The question's words as terms of the other language (index/bridge.py: Japanese for
        an English question, English for a Japanese one): per word, its weight (BRIDGE_WEIGHT x
        the idf of its best equivalent found in the candidates) and the tokens of each
        equivalent found there with their weight. Words with no equivalent in the candidates
        are left out, as the question's own unmatched terms are."""
        out = []
        groups = _groups(query, self.tokenizer)
        # Only equivalents the candidates hold can meet a unit (a unit's tokens are among them):
        # the others are dropped before their idf is looked up, one look-up for all.
        tokens_of = {term: toks for _, group in groups for term in group
                     if (toks := _term_set(term, self.tokenizer)) and toks <= present}
        vocabulary = sorted(set().union(*tokens_of.values()))
        idf = dict(zip(vocabulary, self._idf(vocabulary).tolist())) if vocabulary else {}
        for word, group in groups:
            terms = [(toks, BRIDGE_WEIGHT * sum(idf[t] for t in toks) / len(toks)) for term in group
                     if (toks := tokens_of.get(term)) is not None and all(idf[t] > 0 for t in toks)]
            if terms:
                out.append(Bridge(max(w for _, w in terms), terms, word, frozenset().union(*(t for t, _ in terms))))
        return out

    def content_tokens(self, query: str) -> list[str]:
        """The question's keyword tokens without its interrogatives, known to the index or not."""
        return sorted(set(question_tokens(_INTERROGATIVES.sub(" ", query), self.tokenizer)))

    def content_weights(self, query: str) -> dict[str, float]:
        return self._weights(self.content_tokens(query))

    def score_answers(self, query: str, candidates: Sequence[Candidate]) -> None:
        """Score every candidate's answer units; the best one becomes its highlight. Passages
        ``added`` for their fields are scored with the words of every candidate, the others with
        those of the retrieved ones only: what is added never changes how those are scored."""
        retrieved = [c for c in candidates if not c.added]
        self._score_answers(query, retrieved, retrieved)
        if len(retrieved) < len(candidates):
            self._score_answers(query, [c for c in candidates if c.added], candidates)

    def _score_answers(self, query: str, candidates: Sequence[Candidate], among: Sequence[Candidate]) -> None:
        full = self.content_weights(query)
        lang = detect_language(query)
        texts = [(c.text, c.context, c.headings) for c in among]
        weights = self.answer_weights(query, texts, full)
        focus = {t for noun in relative_focus(query) for t in term_tokens(noun, self.tokenizer)}
        weights = {t: w * FOCUS_FACTOR if t in focus else w for t, w in weights.items()}
        bridged = self.bridged_terms(query, self._present(texts))
        asked = frozenset(t for t in weights if len(t) > 1).union(*(b.tokens for b in bridged if len(b.word) != 1))
        for c in candidates:
            if c.added and not (self._field_keys(c.text, c.context, c.lead) & asked) - self._context_tokens(c.context):
                c.units = ()  # no field's key meets a word of the question (ScoredUnit.key_asked): none answers
                continue
            c.units = self.score_units(query, weights, c.text, c.context, full, bridged, same_lang=c.lang == lang,
                                       headings=c.headings, lead=c.lead)
            top = best_unit(c.units)
            if top is not None:
                c.answer, c.highlight = top.score, (top.unit.start, top.unit.end)

    def evidence(self, query: str, lang: str, top: Sequence[Candidate], dense: dict[str, float] | None = None,
                 passage_langs: dict[str, str] | None = None) -> Evidence:
        """What abstention decides on (index/abstain.py), from the top passages scored for the question."""
        weights = full = self.content_weights(query)
        langs = passage_langs or {}
        present = self._present([(c.text, c.context, c.headings) for c in top])
        # (a question whose words are all there as written reads no better across languages)
        if top[0].lang != lang or (weights.keys() - present and self._read_across(query, lang, top, weights, langs)):
            # Passages in another language share only numbers with the question reliably: a name
            # is often transliterated (Yamaha → ヤマハ) and a capitalised word is not always a name
            # ("In June 1979, …"). Counting names refused half the English questions whose answer
            # exists only in Japanese articles (mixed ja+en set). A single digit is often a word in
            # the other language (2つ / two): numbers of two digits or more only.
            weights = {t: w for t, w in weights.items() if sum(ch.isdigit() for ch in t) >= 2}
        total = sum(weights.values())
        missing = sum(w for t, w in weights.items() if t not in present) / total if total else 0.0
        # the same share among the words the passages' titles and sections do not name: what is
        # asked about the thing (her favourite flower), not the thing (Audrey Hepburn)
        titles = frozenset().union(*(self._context_tokens(c.context) for c in top))
        asked = {t: w for t, w in weights.items() if t not in titles}
        asked_total = sum(asked.values())
        attribute = sum(w for t, w in asked.items() if t not in present) / asked_total if asked_total else 0.0
        expects = expected_type(query) is not None
        typed = max((u.coverage for c in top for u in c.units if u.typed or not expects), default=0.0)
        # the embedder compares the question with the passage's own text: its language decides the offset
        cosines = [dense[c.id] + (CROSS_LINGUAL_OFFSET if langs.get(c.id, c.lang) != lang else 0.0) for c in top if dense and c.id in dense]
        # a number the question names (a year: 2020年) that the index knows but no top passage holds
        numbers = [t for t in full if t.isascii() and t.isdigit() and len(t) >= 2]
        return Evidence(missing, typed, max(cosines) if cosines else None, attribute_missing=attribute,
                        unstated=self._unstated(query, lang, top, full),
                        unnamed=self._unnamed(query, lang, top, full, present | titles, {langs.get(c.id, c.lang) for c in top}),
                        unsaid=self._unsaid(query, lang, top, full),
                        unseen_number=bool(numbers) and not self._numbers_held(numbers, present))

    @staticmethod
    def _numbers_held(numbers: Sequence[str], present: set[str]) -> bool:
        """Whether every one of ``numbers`` is in the passages' terms, as a term or a term's run of
        digits: FY2023 and 1990s write 2023 and 1990."""
        missing = [t for t in numbers if t not in present]
        if not missing:
            return True
        runs = {run for t in present if not t.isdigit() for run in re.findall(r"\d{2,}", t)}
        return all(t in runs for t in missing)

    def _read_across(self, query: str, lang: str, top: Sequence[Candidate], weights: dict[str, float],
                     langs: dict[str, str]) -> bool:
        """Whether the top passages in the other language hold more of the question's words in
        translation (index/bridge.py; OTHER_SIDE_WORDS at least) than those in its own language
        hold as written: the question is then read as one across languages, as when the first
        passage is in the other language, whichever passage the fusion put first (an English page
        sharing none of the words of "Who published the Sanka Zui, the study of Edo-period
        coinage?" above the Japanese article that answers it; English front matter holding
        ``total:`` and ``category:`` for 合計 and カテゴリ under a Japanese passage)."""
        other = [(c.text, c.context, c.headings) for c in top if langs.get(c.id, c.lang) != lang]
        if not other:
            return False
        same = [(c.text, c.context, c.headings) for c in top if langs.get(c.id, c.lang) == lang]
        written = len(weights.keys() & self._present(same)) if same else 0
        return len(self.bridged_terms(query, self._present(other))) >= max(OTHER_SIDE_WORDS, written + 1)

    def _unnamed(self, query: str, lang: str, top: Sequence[Candidate], idf: dict[str, float], present: set[str],
                 langs: set[str]) -> bool:
        """Whether the attribute the question asks for (index/asked.py: 株価, *net* income) is named
        nowhere in the top passages, in either language, while the first of them names the
        question's subject (its rarest name in the index, as for ``_unstated``)."""
        words = asked_attribute(query)
        if not words:
            return False
        names = self.subject_tokens(query, lang) & idf.keys()
        if not names:
            return False
        subject = max(names, key=lambda t: (idf[t], t))
        # the first passage's document names it (in that passage or another of the top ones: an
        # article written in the other language gives the name as written once, シェトランド諸島(Shetland))
        doc = passage_doc(top[0].id)
        if not any(subject in self._terms(c.text, c.context, c.headings) or subject in self._context_tokens(c.context)
                   for c in top if passage_doc(c.id) == doc):
            return False
        return attribute_unnamed(words, present, langs, partial(_term_set, tokenizer=self.tokenizer), load_dictionary(), _KATAKANA)

    def _unsaid(self, query: str, lang: str, top: Sequence[Candidate], idf: dict[str, float]) -> bool:
        """Whether what the question asks to be said about its subject (index/asked.py ``asked_said``:
        who holds a role, a favourite thing, a birth, who develops it) is said in none of the top
        passages that name the subject (its rarest name, as for ``_unstated``; the first passage's
        document when no passage writes its names), the first passage among them: "Who is Mistral's
        CFO?" over passages that name its CEO and CTO."""
        said = asked_said(query)
        if said is None:
            return False
        subject, naming = self._naming(query, lang, top, idf)
        if said.what in ("developer", "maker") and not any(subject in self._context_tokens(c.context) for c in naming):
            # who made a thing goes without saying in its maker's own pages ("Who developed Le Chat?"
            # over Mistral's): only pages about the thing itself (its title or section names it) are judged
            return False
        # a question without names (宮崎駿 is written in kanji) is about the first passage's document
        naming = naming or [c for c in top if passage_doc(c.id) == passage_doc(top[0].id)]
        if naming[0] is not top[0]:
            return False
        return not said_in(said, [c.context + "\n" + c.text for c in naming], load_dictionary())

    def _naming(self, query: str, lang: str, top: Sequence[Candidate], idf: dict[str, float]) -> tuple[str | None, list[Candidate]]:
        """The question's subject (its rarest name the index knows) and the top passages that name
        it, in their text or their title and section; when no passage of the index writes the
        question's names (Asimov / アシモフ), no subject and the first passage's document's
        passages; (None, []) for a question without names."""
        asked = self.subject_tokens(query, lang)
        names = asked & idf.keys()  # those the index knows
        if names:
            subject = max(names, key=lambda t: (idf[t], t))
            return subject, [c for c in top if subject in self._terms(c.text, c.context, c.headings) or subject in self._context_tokens(c.context)]
        if asked:
            return None, [c for c in top if passage_doc(c.id) == passage_doc(top[0].id)]
        return None, []

    def bridged_count(self, query: str, lang: str, top: Sequence[Candidate], passage_langs: dict[str, str] | None = None) -> int:
        """How many of the question's words the top passages in another language than the
        question's hold in translation (index/bridge.py; abstain.BRIDGED_WORDS): across languages
        these judge the question where its own words cannot."""
        langs = passage_langs or {}
        other = [(c.text, c.context, c.headings) for c in top if langs.get(c.id, c.lang) != lang]
        return len(self.bridged_terms(query, self._present(other))) if other else 0

    def _unstated(self, query: str, lang: str, top: Sequence[Candidate], idf: dict[str, float]) -> bool:
        """Whether the question asks for an amount or a count (abstain.UNSTATED_KINDS) of a thing
        it names, the first of the top passages names that thing, and no passage naming it holds
        a number of that kind ("How much did a new Airbus A310 cost?" over the A310's article,
        which gives no price). The thing is the question's rarest name in the index (Emmi in
        "How much did Mistral pay to acquire Emmi AI?": Mistral's passages hold other amounts).
        The passages that name it, not the single units: the amount is often in the sentence
        after the name ("「マジコン」と呼ばれる装置… 被害総額は…4兆円"). Names cross languages as
        written (Tails, Canonical社, Airbus A310 in a Japanese article), so this judges
        cross-language questions as it does the others. A question whose names no passage of the
        index writes (Asimov / アシモフ, Vermeer / フェルメール: transliterations guess these wrong) is
        about what retrieval found for it: the first passage's document stands for its subject."""
        if expected_type(query) not in UNSTATED_KINDS:
            return False
        _, naming = self._naming(query, lang, top, idf)
        return bool(naming) and naming[0] is top[0] and not any(u.typed for c in naming for u in c.units)

    def subject_tokens(self, query: str, lang: str) -> set[str]:
        """The tokens of the names in a question: its capitalised words and acronyms (Airbus,
        A310, AI) in English, its katakana and Latin words (ムカシトカゲ, Tails) in Japanese."""
        if lang == "en":
            words = [w for w in _NAME_WORD.findall(query) if w.casefold() not in _QUESTION_WORDS]
            return set(self.content_tokens(" ".join(words))) if words else set()
        return {t for t in self.content_tokens(query) if (t.isascii() and t.isalpha()) or is_katakana(t)}

    def _units(self, text: str, context: str, headings: frozenset[str] = frozenset(), lead: int = 0) -> list[_UnitTokens]:
        """A passage's answer units with their tokens (see _UnitTokens), cached. With a ``lead``
        (Candidate.lead), their spans are in the text after it, and those wholly in it are left out."""
        def tokens(u: Unit) -> _UnitTokens:
            toks = frozenset(tokenize(u.own, self.tokenizer))
            keys = frozenset(tokenize(u.key, self.tokenizer)) if u.key else frozenset()
            if u.kind != "field":
                return _UnitTokens(u, toks, keys, {}, None)
            return _UnitTokens(u, toks, keys, {word_form(t): t for t in sorted(keys | toks, reverse=True)}, named_type(u.key))
        if lead:
            return self._cached(f"\0units{lead}\0{context}\0{text}{_headings_key(headings)}", lambda: [
                tokens(replace(u, start=max(0, u.start - lead), end=u.end - lead))
                for u in answer_units(text, context, headings) if u.end > lead])
        return self._cached("\0units" + context + "\0" + text + _headings_key(headings),
                            lambda: [tokens(u) for u in answer_units(text, context, headings)])

    def _field_keys(self, text: str, context: str, lead: int = 0) -> frozenset[str]:
        """The tokens of the keys of a passage's fields, cached."""
        return self._cached(f"\0keys{lead}\0{context}\0{text}", lambda: frozenset().union(
            *(u.key_tokens for u in self._units(text, context, lead=lead) if u.forms)))

    def score_units(self, query: str, weights: dict[str, float], text: str, context: str = "",
                    full_weights: dict[str, float] | None = None,
                    bridged: Sequence[Bridge] = (), same_lang: bool = True,
                    headings: frozenset[str] = frozenset(), lead: int = 0) -> tuple[ScoredUnit, ...]:
        """Every answer unit of a passage with its score for the question: the idf-weighted
        share of the question's terms in the unit, plus those found only in its heading/key
        (weighted KEY_WEIGHT), plus TYPE_WEIGHT when it holds the expected kind of answer.
        Terms in most of the passage's units (its topic) weigh less here (LOCAL_SPREAD)."""
        full_weights = weights if full_weights is None else full_weights
        units = self._units(text, context, headings, lead)
        spread = _spread_weights(weights, [u.tokens for u in units])
        total = (sum(weights.values()) + _bridged_weight(bridged, weights)) or 1.0
        spread_total = (sum(spread.values()) + _bridged_weight(bridged, spread)) or 1.0
        # only the equivalents this passage holds can meet one of its units: the others are not
        # tried unit by unit (most bridged words are in the other language's passages only)
        held = self._terms(text, context, headings)
        bridged = [b._replace(terms=terms) for b in bridged
                   if not held.isdisjoint(b.tokens) and (terms := [(t, w) for t, w in b.terms if t <= held])]
        full_total = sum(full_weights.values()) or 1.0
        # the question's words and their equivalents that a field's key can meet (ScoredUnit.key_asked), but
        # not words of one character (日 of 何日 is bridged to "date", 回 to "round": counters of the
        # interrogative, not what is asked) nor the topic's (the title's, the section's words)
        asked = frozenset(t for t in weights if len(t) > 1).union(*(b.tokens for b in bridged if len(b.word) != 1))
        topic = self._context_tokens(context)
        head = head_word(query, self.tokenizer)
        heads = frozenset((head,)).union(*(b.tokens for b in bridged if b.word == head)) if head else frozenset()
        kind = expected_type(query)
        # the question's words as the other language writes them are no answer to it: シリーズ in
        # 「シリーズCで€1.7Bを調達」 is "Series", not who led "the Series C round" (names are read
        # from capitalised and katakana words; numbers are never such an equivalent)
        named = named_in_other_language(query, self.tokenizer) if kind is not None and kind not in NUMERIC_TYPES else frozenset()
        phrases = name_phrases(query)
        # A passage in the question's language that never names what the question names
        # ("Sakura Robotics") speaks of something else that shares a common word ("Aozora
        # Robotics"); in another language the name may be transliterated (サクラロボティクス).
        names = name_phrases(query, owners=True)
        elsewhere = same_lang and bool(names) and _phrase_share(names, text, context) == 0
        # a definition question's X (index/definition.py): units saying what X is come first
        defined = defined_terms(query) if kind is None else ()
        # a who-question's role, named by its verb (founded -> founder, 創業者): answer_type.role_nouns
        roles = role_nouns(query) if kind == "person" else ()
        # a question asking for a total of the kind it expects (「全部で何社」, "in total"): answer_type.asks_total
        summed = kind in NUMERIC_TYPES and asks_total(query)
        scored = []
        for unit, toks, key_toks, key_forms, names in units:
            # a field's key meets one of the question's words (or its other-language equivalent) that is
            # not its document's topic (the title's, the section's words)
            keyed = bool(key_forms) and bool((key_toks & asked) - topic)
            headed = keyed and bool((key_toks & heads) - topic)
            holds_head = bool(heads) and bool(((toks | key_toks) & heads) - topic)
            if names is not None and names == kind:
                # a field whose key names what is asked (``date:`` for "when", ``headquarters:`` for
                # "where") is that of its passage's subject: the title and section say which
                key_toks = key_toks | self._context_tokens(context)
            if not _quotable(unit.text):
                continue
            bare = unit.kind == "field" and kind in ("amount", "count") and _BARE_NUMBER.search(unit.own) is not None
            if bare:
                # a bare number is money when its key says so (a currency, an amount), a count otherwise:
                # ``seed_round_amount_eur: 105000000`` answers no "how many rounds", ``total_funding_rounds: 7``
                # no "how much raised", though "funding" names money in both keys
                typed = (kind == "amount") == _money_key(unit.key)
            else:
                typed = holds_type(kind, unit.own, query, named)
            # the unit's score with the question's weights, and with its topic's words (and the names of
            # its title and section) weighing less
            own, lexical = self._lexical(unit, toks, key_toks, key_forms, weights, total, bridged, typed, kind, phrases, elsewhere)
            _, local = self._lexical(unit, toks, key_toks, key_forms, spread, spread_total, bridged, typed, kind, phrases, elsewhere,
                                     context)
            coverage = sum(w for t, w in full_weights.items() if t in toks or t in key_toks) / full_total
            bonus = TYPE_WEIGHT if typed else 0.0
            if defined:
                bonus += DEFINE_WEIGHT * DEFINE_LEVELS[defines(defined, unit.text, unit.key)]
            if typed and roles and names_role(roles, f"{unit.key} {unit.text}"):
                bonus += ROLE_WEIGHT
            if typed and summed and says_total(f"{unit.key} {unit.text}"):
                bonus += TOTAL_WEIGHT
            if is_question(unit.text):
                lexical_q, local_q = QUESTION_FACTOR * (lexical + bonus), QUESTION_FACTOR * (local + bonus)
            else:
                lexical_q, local_q = lexical + bonus, local + bonus
            scored.append((unit, lexical_q, local_q, own, typed, coverage, lexical,
                           names is not None and names == kind and kind in NUMERIC_TYPES, keyed, headed, holds_head))
        if not scored:
            return ()
        # the topic's words choose among the passage's units, not between passages: the passage's
        # best score stays what the question's own weights give
        shift = max(s[1] for s in scored) - max(s[2] for s in scored)
        # each ScoredUnit is built once, with its final score (a frozen dataclass is slow to build)
        return tuple(ScoredUnit(unit, local + shift, own, typed, coverage, relevance,
                                partial(self._focused, unit, query, weights, bridged, kind) if unit.full else None, asked, keyed, headed,
                                holds_head)
                     for unit, _, local, own, typed, coverage, relevance, asked, keyed, headed, holds_head in scored)

    def _focused(self, unit: Unit, query: str, weights: dict[str, float], bridged: Sequence[Bridge], kind: str | None) -> str:
        """A unit too long to quote whole reads as the part that speaks to the question
        (highlight.focus): the pieces holding a term of the question, one of its words in the
        other language, or the number of the kind asked (names and places are found too loosely:
        any capitalised word)."""
        # words met as written in the piece (a tokenizer call per piece would cost ~20 µs each, and
        # a long sentence has dozens): the question's terms, and each bridged equivalent's tokens
        # all together; one-character terms (年, 3) would meet most pieces
        terms = [(t,) for t in weights if len(t) > 1] + [tuple(term) for b in bridged for term, _ in b.terms]

        def wanted(piece: str) -> bool:
            text = _squash(piece)
            return (any(all(t in text for t in term) for term in terms)
                    or (kind in NUMERIC_TYPES and holds_type(kind, piece, query)))
        return focus(unit, wanted)

    @staticmethod
    def _lexical(unit: Unit, toks: frozenset[str], key_toks: frozenset[str], key_forms: dict[str, str],
                 weights: dict[str, float], total: float, bridged: Sequence[Bridge], typed: bool, kind: str | None,
                 phrases: Sequence[str], elsewhere: bool, topic: str = "") -> tuple[float, float]:
        """(share of the question's weight in the unit's own text, its score without the type bonus).
        A name in ``topic`` (the passage's title and section) counts as in every unit. A term
        meets a field's key in its word form (``key_forms``: "headquartered" and
        ``headquarters:``)."""
        own = keyed = 0.0
        for t, w in weights.items():
            if t in toks:
                own += w
            elif t in key_toks or (key_forms and word_form(t) in key_forms):
                keyed += w
        own, keyed = own / total, keyed / total
        for b in bridged:  # the question's words, met by an equivalent in the other language
            if toks.isdisjoint(b.tokens):
                # in a field's key (``japan_score: … total: 79.5`` for 日本市場スコアの合計): as the
                # question's own words met there
                if key_forms and not key_toks.isdisjoint(b.tokens) and b.word not in key_toks:
                    keyed += max((w for term, w in b.terms if term <= key_toks), default=0.0) / total
                continue  # most units hold none of a word's equivalents: one set test, not one per term
            met = max((w for term, w in b.terms if term <= toks), default=0.0)
            if met:
                # a word counts once, as itself or as its equivalent, whichever weighs more
                own += max(0.0, met - (weights.get(b.word, 0.0) if b.word in toks else 0.0)) / total
        lexical = own + KEY_WEIGHT * keyed
        if (unit.kind == "label" and not typed) or unit.own.endswith(_NOT_WHOLE):
            # a line that introduces what follows is rarely the answer itself, unless it
            # holds what is asked for ("Emmi AI (2026年5月買収)" for "when was it acquired?");
            # one ending with a colon ("…を活用して：") announces its answer on the next lines,
            # a teaser cut with "..." (a front-matter description) has its whole text elsewhere
            lexical *= LABEL_FACTOR
        if phrases:
            # within a passage, a name its title or section gives is its topic: it says which passage
            # answers, not which unit (evals/reports/answers.md)
            lexical += PHRASE_WEIGHT * _phrase_share(phrases, unit.own, f"{unit.key}\0{topic}")
        if elsewhere:
            lexical *= OTHER_NAME_FACTOR
        if kind is not None and not typed:
            lexical *= UNTYPED_FACTOR if kind in NUMERIC_TYPES else UNTYPED_NAME_FACTOR
        return own, lexical


_KATAKANA = Transliterations()  # English word -> katakana spellings, for index/asked.py

_NAME = re.compile(r"[A-Z][A-Za-z0-9.&-]*(?:[ \t]+(?:[A-Z][A-Za-z0-9.&-]*|\d[A-Za-z0-9.]*))+(?![A-Za-z0-9'])")
_NAME_WORD = re.compile(r"\b[A-Za-z]*[A-Z][A-Za-z0-9]*\b")  # a word with a capital: Airbus, A310, AI
_POSSESSIVE = re.compile(r"(?<=[A-Za-z0-9])['’](?:s\b)?")
_OWNER = "\0"
_QUESTION_WORDS = {"how", "what", "what's", "who", "whom", "whose", "when", "where", "which", "why", "does", "did", "do",
                   "is", "was", "are", "were", "can", "could", "has", "have", "had", "will", "would", "with", "in", "if"}


def _headings_key(headings: frozenset[str]) -> str:
    """What the heading lines add to a passage's cache keys: its units differ with them."""
    return "\0h\0" + "\0".join(sorted(headings)) if headings else ""


@lru_cache(maxsize=4)  # the question being answered: its bridge is read for the search, its units and abstention
def _groups(query: str, tokenizer: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The question's words in the other language (index/bridge.py): (its own token or "", the
    equivalents of one word)."""
    # interrogatives ask, they name no content: "how many" is not 多い, 何 is not "what"
    content = _INTERROGATIVES.sub(" ", query)
    tokens = question_tokens(content, tokenizer)
    english = detect_language(query) == "en"
    # The hand list also reads a Japanese question's Latin words (CEO -> 最高経営責任者). An
    # English word's Japanese equivalents stand for no token of the question's own (""): they
    # add to its weight even when the word itself is among its terms (English front matter);
    # counting such a word once, as the Japanese question's words are, lost two gold questions
    # (evals/reports/crosslingual-suite.md).
    english_words = [t for t in tokens if t.isascii() and t.isalpha() and len(t) >= 3] if english else []
    groups = [("", tuple(group)) for group in japanese_groups(content, english_words)]
    if not english:
        groups += [(word, tuple(found)) for word, found in english_groups(tokens)]
    return tuple(groups)


@lru_cache(maxsize=4)
def named_in_other_language(query: str, tokenizer: str) -> frozenset[str]:
    """Every equivalent of the question's words in the other language (index/bridge.py), folded
    as answer_type.holds_type compares them: things the question names too."""
    terms = [term for _, group in _groups(query, tokenizer) for term in group]
    if detect_language(query) == "en":
        # its words as written too: the keyword tokenizer reads "series" as "sery"
        words = sorted({w.casefold() for w in re.findall(r"[A-Za-z]{3,}", _INTERROGATIVES.sub(" ", query))})
        terms += [term for group in japanese_groups("", words) for term in group]
    return frozenset(map(fold, terms))


@lru_cache(maxsize=100_000)
def _term_set(term: str, tokenizer: str) -> frozenset[str]:
    """The tokens of a bridged equivalent as a set (cached: the same dictionary words come back
    question after question)."""
    return frozenset(term_tokens(term, tokenizer))


@lru_cache(maxsize=50_000)
def _money_key(key: str) -> bool:
    """Whether a field's key (readable) says that its bare number is money: it names a currency or an
    amount, or its last word (the head of an English compound: ``total funding rounds`` counts
    rounds) names money (``revenue``, ``valuation``)."""
    words = key.split()
    return _MONEY_KEY.search(key) is not None or (bool(words) and named_type(words[-1]) == "amount")


@lru_cache(maxsize=50_000)
def _quotable(text: str) -> bool:
    """Enough letters or digits to be quoted, and not a reference (cached: a passage's units
    are checked again for every question that retrieves it)."""
    return sum(ch.isalnum() for ch in text) >= UNIT_MIN_CONTENT and not _URL.search(text)


@lru_cache(maxsize=20_000)  # units' and passages' texts, checked again for every question with a name
def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


@lru_cache(maxsize=8)  # the question being answered (both forms): asked once per candidate passage
def name_phrases(question: str, owners: bool = False) -> tuple[str, ...]:
    """Names of two or more words in the question (capitalised words and numbers), squashed
    for matching: "Mistral Large 3", "Series C", "Hugging Face"; a sentence-initial question
    word is not part of a name. A name in the possessive ("Sakana AI's technique") is the
    question's topic rather than what it asks about, and is left out unless ``owners``."""
    out = []
    text = _POSSESSIVE.sub(_OWNER, unicodedata.normalize("NFKC", question))  # the marker also ends the name
    for m in _NAME.finditer(text):
        words = m.group(0).split()
        while words and words[0].casefold() in _QUESTION_WORDS:
            words = words[1:]
        owner = text.startswith(_OWNER, m.end())
        if len(words) >= 2 and (owners or not owner):
            out.append(_squash(" ".join(words)))
    return tuple(dict.fromkeys(out))


def _bridged_weight(bridged: Sequence[Bridge], weights: dict[str, float]) -> float:
    """What the question's bridged words add to its total weight: a word the question's own terms
    already weigh counts once, at the larger of its own weight and its equivalents' (a Japanese
    question's シリーズ is met by シリーズ in a Japanese unit or by "series" in an English one, not both)."""
    return sum(max(0.0, b.weight - weights.get(b.word, 0.0)) for b in bridged)


def _spread_weights(weights: dict[str, float], unit_tokens: Sequence[frozenset[str]]) -> dict[str, float]:
    """The question's term weights for choosing among one passage's units (see LOCAL_SPREAD)."""
    if len(unit_tokens) < LOCAL_MIN_UNITS:
        return weights
    n = len(unit_tokens)
    return {t: w * (1.0 - LOCAL_SPREAD * sum(t in toks for toks in unit_tokens) / n) for t, w in weights.items()}


def _phrase_share(phrases: Sequence[str], text: str, key: str) -> float:
    where = _squash(text) + "\0" + _squash(key)
    return sum(p in where for p in phrases) / len(phrases)


@lru_cache(maxsize=8)  # the question being answered: asked once per candidate passage
def head_word(query: str, tokenizer: str) -> str:
    """The head noun of a Japanese question that asks with no interrogative, a noun phrase
    (「ケーススタディのメタデータ上のMistralのカテゴリ」): its last word of two characters or more
    (Japanese compounds end with their head). "" for other questions."""
    if detect_language(query) != "ja" or _INTERROGATIVES.search(query) or expected_type(query) is not None:
        return ""
    words = [t for t in question_tokens(query, tokenizer) if len(t) > 1]
    return words[-1] if words else ""


def best_unit(units: Sequence[ScoredUnit]) -> ScoredUnit | None:
    """The highest-scoring unit; the earliest on ties (passages open with their topic)."""
    best = None
    for u in units:
        if best is None or u.score > best.score:
            best = u
    return best


# Questions in these languages have their other-language passages reordered within their document
# by their answer units (LexicalReranker._by_units_within_documents). English: its bridge is the
# hand list of factual-question words and JMdict's translations (index/bridge.py). Not Japanese:
# its bridge is every English gloss of its words, and within one long English document (the
# handbook's sections) the answer's unit tied with its neighbours' ("policies" is no gloss of
# ポリシー; "two" no token of 2つ): mixed-ja-en hit@1 -2 for +3 on mixed-small
# (evals/reports/retrieval-defaults.md).
UNIT_REORDER_LANGS = ("en",)


class LexicalReranker:
    """The default second stage: first-stage score + best sentence + title/section match."""

    name = "sentence"

    def __init__(self, config: SecondStageConfig = SecondStageConfig()):
        self.config = config

    def rerank(self, query: str, query_lang: str, candidates: list[Candidate]) -> np.ndarray:
        cfg = self.config
        out = np.zeros(len(candidates), dtype=np.float64)
        for i, c in enumerate(candidates):
            f = 1.0 if c.lang == query_lang else cfg.cross_lang_factor
            out[i] = c.first_stage + f * (cfg.sentence_weight * c.sentence + cfg.context_weight * c.context_match)
        if cfg.cross_lang_units > 0 and query_lang in UNIT_REORDER_LANGS:
            out = self._by_units_within_documents(query_lang, candidates, out)
        if cfg.named_fields_first:
            out = self._named_fields_first(candidates, out)
        if any(c.added for c in candidates):
            out = self._asked_fields_added(query, candidates, out)
        return out

    @staticmethod
    def _asked_fields_added(query: str, candidates: list[Candidate], scores: np.ndarray) -> np.ndarray:
        """Front-matter passages added for their fields (``Candidate.added``): one whose best unit is
        a field whose own key meets the question's words (ScoredUnit.key_asked), that holds the number
        asked (numbers are found reliably, names are not), and that speaks of what is asked more than
        any unit of its document's retrieved passages holding such a number comes first among them;
        the others get -inf (the caller drops them). A Japanese question without an interrogative, a
        noun phrase (「…メタデータ上のMistralのカテゴリ」), asks for what its last noun names (head_word):
        a field whose own key is that noun leads if it speaks of what is asked more than any unit
        of its document's retrieved passages that holds the noun. A unit without the number does not count: the
        document's prose names 投資家 in the question's own words, the field ``total_investors: 41``
        only in English, and only the field counts them.

        Front matter states a document's facts as a list of fields (``total_funding_rounds: 7``,
        ``japan_score: … total: 79.5``), which neither side of retrieval finds: the embedder reads
        a block of fields as one diluted vector, and BM25 meets none of a Japanese question's
        words in English keys. Their words meet the question's through its other-language
        equivalents (index/bridge.py: 合計 total, 投資家 investors, ラウンド rounds), which
        are read only here, over the units of a retrieved document's front matter. Only within
        that document, as in _named_fields_first: which document the question is about,
        retrieval decides."""
        out = scores.copy()
        kind = expected_type(query)
        # numbers are found reliably, names are not (any capitalised word is a "person" or "place")
        numeric = kind in NUMERIC_TYPES
        for members in _by_document(candidates, added=True):
            new = [i for i in members if candidates[i].added]
            if not new:
                continue
            for i in new:
                out[i] = -np.inf
            old = [i for i in members if not candidates[i].added]
            if not old:
                continue
            most = max((u.relevance for i in old for u in candidates[i].units if (u.typed if numeric else u.holds_head)), default=0.0)
            best, best_relevance, field = None, most, None
            for i in new:
                # a noun phrase's field: the one its head noun names, whatever else its passage holds
                top = best_unit(candidates[i].units if numeric else [u for u in candidates[i].units if u.key_head])
                if (top is not None and top.unit.kind == "field" and top.key_asked and (top.typed if numeric else top.key_head)
                        and top.relevance > best_relevance):
                    best, best_relevance, field = i, top.relevance, top
            if best is not None:
                out[best] = max(scores[i] for i in old) + ADDED_MARGIN
                c = candidates[best]
                first = best_unit(c.units)
                if field is not first:  # the field is what the passage is quoted by (its highlight)
                    c.units = tuple(replace(u, score=first.score + ADDED_MARGIN) if u is field else u for u in c.units)
                    c.answer, c.highlight = first.score + ADDED_MARGIN, (field.unit.start, field.unit.end)
        return out

    @staticmethod
    def _named_fields_first(candidates: list[Candidate], scores: np.ndarray) -> np.ndarray:
        """A passage whose best answer unit is a field naming what is asked, and holding it,
        comes first among its document's passages.

        A document's metadata (YAML front matter, a ``key: value`` block) gives its facts as a
        list of fields: ``date: 2026-02-18`` for "When did Mistral acquire Koyeb?",
        ``series_c_date: 2025-09`` for "Series C date". The embedder reads such a list as one
        diluted vector and BM25 weighs the question's words down in it by its length, so the
        document's prose around the event, which never states its date, ranked above it (6th
        for the Koyeb question). When the passage's best unit is a field whose key names the
        kind of thing asked (answer_type.named_type: ``date`` for "when", ``headquarters`` for
        "where") and whose value holds a thing of that kind (answer_type.holds_type), that field
        is the document's answer. Only within its document: each document keeps the places (and
        scores) its passages had, as in _by_units_within_documents; every document has a date,
        and which document the question is about, retrieval decides. A moved passage keeps its
        own score as ``own_score``."""
        tops = [best_unit(c.units) for c in candidates]
        named = [top is not None and top.names_asked and top.typed for top in tops]
        if not any(named):
            return scores
        out = scores.copy()
        for members in _by_document(candidates):
            if len(members) < 2 or not any(named[i] for i in members):
                continue
            # the field must speak of what the question speaks of (its key, its document's title) about
            # as much as the document's other passages do: "when they adopt a new AI model" asks
            # for no date, and the blog's ``date:`` shares none of its words
            most = max((u.relevance for i in members for u in candidates[i].units), default=0.0)
            # and no other passage of the document hold a thing of the asked kind in a unit more
            # relevant: "Series C date" over ``series_a_date: 2023-12`` and "Series C（2025年9月）"
            typed = {i: max((u.relevance for u in candidates[i].units if u.typed), default=0.0) for i in members}
            lead = {i: named[i] and tops[i].relevance >= NAMED_FIELD_SHARE * most > 0
                    and all(typed[j] <= tops[i].relevance for j in members if j != i) for i in members}
            if not any(lead.values()):
                continue
            _take_places(candidates, scores, out, sorted(members, key=lambda i: (not lead[i], -scores[i], i)))
        return out

    def _by_units_within_documents(self, query_lang: str, candidates: list[Candidate], scores: np.ndarray) -> np.ndarray:
        """Which passage of a document in another language answers, read from its answer units.

        The sentence score above sees only the words a passage shares with the question as
        written (names, numbers), so across languages every passage of the right article ties
        and the article's opening, which the embedder prefers, comes first. The answer units are
        scored with the question's words in the other language too (index/bridge.py: acquire ->
        買収, capital -> 首都, teeth -> 歯), so a passage in another language gains
        cross_lang_units x its best unit's relevance (questions in UNIT_REORDER_LANGS). Only within its document: each document
        keeps the places (and scores) its passages had, and its passages are reordered among
        them. The bridge knows common words, not names, so across documents it would lift a
        passage that holds the asked attribute of someone else ("How tall was Isaac Asimov?":
        背の高い in an article on Patagonians, above Asimov's article, was no longer refused);
        which document speaks of the question's subject, retrieval decides. A moved passage
        keeps its own score as ``own_score``: an answer weighs its units by it (service/answer.py),
        since their relevance already counts there once."""
        lifted = scores.copy()
        for i, c in enumerate(candidates):
            if c.lang != query_lang and c.units:
                lifted[i] += self.config.cross_lang_units * max(u.relevance for u in c.units)
        out = scores.copy()
        for members in _by_document(candidates):
            if len(members) >= 2:
                _take_places(candidates, scores, out, sorted(members, key=lambda i: (-lifted[i], i)))
        return out


def _by_document(candidates: Sequence[Candidate], added: bool = False) -> list[list[int]]:
    """The candidates' indexes, grouped by their document; those ``added`` for their fields only if
    ``added`` (they take no place of a retrieved passage but through _asked_fields_added)."""
    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        if added or not c.added:
            by_doc.setdefault(passage_doc(c.id), []).append(i)
    return list(by_doc.values())


def _take_places(candidates: Sequence[Candidate], scores: np.ndarray, out: np.ndarray, order: list[int]) -> None:
    """One document's passages (``order``) take the places (and scores) they had among themselves, in
    that order; a moved passage keeps its own score as ``own_score`` (the first one it had)."""
    for place, i in zip(sorted((scores[i] for i in order), reverse=True), order):
        out[i] = place
        if place != scores[i] and candidates[i].own_score is None:
            candidates[i].own_score = float(scores[i])


class CrossEncoderReranker:
    """Any sentence-transformers CrossEncoder, loaded from a local path (no downloads)."""

    name = "cross-encoder"

    def __init__(self, path: str, weight: float = 1.0, max_length: int = 512):
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(path, device="cpu", max_length=max_length, local_files_only=True)
        self.path = path
        self.weight = weight

    def rerank(self, query: str, query_lang: str, candidates: list[Candidate]) -> np.ndarray:
        if not candidates:
            return np.zeros(0)
        pairs = [(query, f"{c.context}\n{c.text}" if c.context else c.text) for c in candidates]
        logits = np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float64).reshape(len(pairs), -1)[:, -1]
        # a sigmoid keeps it comparable with the [0, 1] first-stage score it is mixed with
        return self.weight / (1.0 + np.exp(-logits)) + 0.1 * np.array([c.first_stage for c in candidates])


def make_reranker(spec: str, config: SecondStageConfig = SecondStageConfig()) -> Reranker | None:
    """"" or "none": no second stage; "sentence": the lexical stage; anything else: a path to a
    sentence-transformers CrossEncoder."""
    if spec in ("", "none", "off"):
        return None
    if spec == "sentence":
        return LexicalReranker(config)
    return CrossEncoderReranker(spec)
