"""Answers with numbered citations, from retrieved passages.

Without a language model the answer is *extractive*: the sentences of the top passages that
best match the question (preferring passages in the question's language), each followed by
the `[n]` of its passage, then the numbered sources. With a language model (see
:mod:`kotae.service.llm`) the model writes the answer from the same numbered passages and
:class:`CitationFilter` keeps only the `[n]` markers that point at a provided passage.

In both cases citations are renumbered in order of first appearance, so the answer reads
[1], [2], ... and ``citations`` holds exactly the passages the text cites (docs/CONTRACTS.md §2).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from kotae.index.definition import defined_terms, defining_clause
from kotae.index.highlight import ANNOUNCES, Unit, clean_sentence
from kotae.index.rerank import ScoredUnit, SentenceScorer, best_unit
from kotae.index.search import Hit, SearchResult
from kotae.index.tokenize import tokenize
from kotae.ingest.lang import detect_language
from kotae.service.passages import passage_json, place_label

if TYPE_CHECKING:
    from kotae.service.llm import LLMClient

NOT_FOUND = {
    "ja": "資料の中に、この質問に答える記述は見つかりませんでした。質問の言い方を変えるか、関連する文書を追加してください。",
    "en": "I could not find anything in the documents that answers this question. "
          "Try rephrasing it, or add documents that cover it.",
}
SOURCES_HEADING = {"ja": "出典", "en": "Sources"}
PAGE = {"ja": "{n}ページ", "en": "p. {n}"}

# Sentences taken for an extractive answer, and their combined length.
MAX_SENTENCES = 3
MAX_ANSWER_CHARS = 600
# ... and one more when the answer with it stays this short: a short unit (a list line, a
# "key: value" field, a short sentence) holds the answer about as often as a long one of the same
# score (18-22% vs 19-24% over the evaluation sets), so it costs the reader least per answer found.
SHORT_ANSWER_CHARS = 250


def ui_lang(lang: str) -> str:
    return "ja" if lang == "ja" else "en"


def is_found(result: SearchResult) -> bool:
    """Retrieval's own abstention signal when it has one, else: any passage at all."""
    return bool(result.hits) and bool(getattr(result, "found", True))


@dataclass
class Answer:
    body: str  # the answer text with [n] markers, without the sources list
    citations: list[dict[str, Any]]  # docs/CONTRACTS.md §2 passages, numbered as cited in `body`
    found: bool
    lang: str  # the question's language
    mode: str = "extractive"  # or "llm"
    warning: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    confidence: float | None = None  # the evidence score the abstention decision was made on

    @property
    def text(self) -> str:
        """What a chat client shows: the answer, then the numbered sources."""
        sources = sources_block(self.citations, self.lang)
        return f"{self.body}\n\n{sources}" if sources else self.body


def source_line(c: dict[str, Any], lang: str, span: bool = False) -> str:
    where = place_label(c.get("title"), c.get("section"))
    page = f" ({PAGE[ui_lang(lang)].format(n=c['page'])})" if c.get("page") else ""
    doc = f"{c['doc_id']}:{c['char_start']}-{c['char_end']}" if span else c["doc_id"]
    return f"- [{c['citation']}] {where}{page} — `{doc}`"


def _place(c: dict[str, Any]) -> tuple[Any, ...]:
    return c.get("title"), c.get("section"), c.get("page"), c["doc_id"]


def sources_block(citations: Sequence[dict[str, Any]], lang: str) -> str:
    if not citations:
        return ""
    lines = [f"**{SOURCES_HEADING[ui_lang(lang)]}**"]
    # Two passages of one section (or page) would read as the same source twice: their character
    # spans in the document (as `kotae ask` shows them) tell the reader which [n] is which.
    places = Counter(_place(c) for c in citations)
    lines.extend(source_line(c, lang, span=places[_place(c)] > 1) for c in citations)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Extractive answers

# The passage's retrieval score counts beside the sentence's own score: retrieval saw the whole
# passage (and its meaning, which shares no words with the question when the languages differ).
# Chosen with the three evaluation sets side by side (gold, devset, mixed ja+en).
RANK_WEIGHT = 0.5
# In the question's language where the documents allow it: a small edge between equals, not
# a filter (an English question over Japanese documents quotes the Japanese sentence).
SAME_LANGUAGE_BONUS = 0.05
# Sentences after the first: only those nearly as good (their own words need not be the
# question's: a table row or a sentence under the right heading answers through its key).
NEXT_SENTENCE_RATIO = 0.6
# ... and each must itself speak of what is asked: a unit that only holds the expected kind of
# thing ("id: GENAI_042" for "how many employees?") would ride on its passage's rank otherwise.
# Only in the question's language: across languages the words cannot be compared, and the
# passage's (dense) rank is the evidence.
NEXT_MIN_RELEVANCE = 0.05
# The ratio for units of a passage in another language than the question's. Their own scores rest
# on the few words that cross (names, numbers, bridged common words: index/bridge.py), so a unit
# that answers scores little above one that does not; the passage's (dense) rank carries the
# evidence. Lowered from 0.6 on the evaluation sets: 5 more answered (gold 2, mixed-small 3), none lost,
# nothing changes for same-language questions.
CROSS_LANGUAGE_RATIO = 0.5
# A unit next to the first quoted one, in the same passage, counts this share of the first's
# score more, for the ratio above and the order of what follows: it often carries what the first
# only points at (the subject a sentence continues from, the name a list line introduces,
# 「…を陳情した。さらに上京し、…東京を目指した。」). Measured on the three evaluation sets, the
# first unit's immediate neighbours held the answer 25-33% of the time when the first did not,
# other units of the same score 14-21% (evals/reports/answers.md).
NEIGHBOUR_BONUS = 0.1
PASSAGES_QUOTED_FROM = 5
# The search's first TOP_PASSAGES passages are each quoted, by their highlight, when it passes the
# tests every follow-up passes (ratio, relevance, not a repeat), even when the units of the first
# quote's passage took the MAX_SENTENCES slots: retrieval ranked them first, and their best unit
# is nearly as good as the first quote, so the reader should not lose it to a third sentence of
# one passage. At most one such unit, within MAX_ANSWER_CHARS. Measured on the four sets: answers
# that gain a gold string gold 3 / ja-jaquad 4 / mixed-ja-en 3 / mixed-small 3, none lost, median
# +2..+10 characters (evals/reports/answers.md); over every retrieved passage instead of the first
# two, +2..+4 per set at +5..+32 median characters.
TOP_PASSAGES = 2


@dataclass
class _Candidate:
    hit_index: int
    unit: ScoredUnit
    tokens: set[str]
    score: float
    best_of_passage: bool  # the passage's highlight: the first sentence quoted from it
    same_lang: bool  # the passage is in the question's language

    @property
    def text(self) -> str:
        return self.unit.unit.text


def _fallback_units(question: str, hit: Hit) -> tuple[ScoredUnit, ...]:
    """Hits built without scored units (other retrievers, tests): score them here, with
    the same scorer and every term weighted alike."""
    scorer = SentenceScorer("bigram", lambda tokens: np.ones(len(tokens), np.float32))
    weights = scorer.query_weights(question)
    return scorer.score_units(question, weights, hit.text, " › ".join(x for x in (hit.title, hit.section) if x),
                              same_lang=hit.lang == detect_language(question))


def _candidates(question: str, hits: Sequence[Hit]) -> list[_Candidate]:
    out = []
    lang = detect_language(question)
    for i, hit in enumerate(hits):
        units = hit.units or _fallback_units(question, hit)
        top = best_unit(units)
        prior = RANK_WEIGHT * _retrieval_prior(hit, hits[0]) + (SAME_LANGUAGE_BONUS if hit.lang == lang else 0.0)
        for u, quoted in zip(units, _with_lead_ins_attached(units)):
            out.append(_Candidate(i, quoted, set(tokenize(quoted.unit.text)), u.score + prior, u is top, hit.lang == lang))
    return out


def _with_lead_ins_attached(units: Sequence[ScoredUnit]) -> list[ScoredUnit]:
    """A unit ending with a colon (「このラウンドの特徴は：」, "It offers:") only announces the lines
    after it and says nothing quoted alone: it is quoted with the first of them, at its own score,
    so it is chosen as before but reads as what it introduces. The line stays a unit of its own
    too (the duplicate test keeps the two from both being quoted)."""
    out = []
    for u, nxt in zip(units, [*units[1:], None]):
        if u.unit.text.endswith(ANNOUNCES) and nxt is not None:
            glue = "" if u.unit.text.endswith("：") else " "
            joined = Unit(u.unit.start, nxt.unit.end, u.unit.text + glue + nxt.unit.text, u.unit.key, u.unit.kind)
            u = replace(u, unit=joined)
        out.append(u)
    return out


def _retrieval_prior(hit: Hit, top: Hit) -> float:
    """How strongly retrieval chose the passage, relative to the first: its score's ratio to the
    best, squared. Unlike 1/rank this keeps two near-equal passages near-equal, so the better
    sentence of the second can come first. A passage's own score, not the place its answer units
    won it among its document's passages (index/rerank.py, ``scores["passage"]``): those units'
    relevance counts in their own score already (counted twice, gold answer@1 lost a question)."""
    hit_score, top_score = hit.scores.get("passage", hit.score), top.scores.get("passage", top.score)
    if top_score <= 0 or hit_score <= 0:
        return 0.0
    return min(1.0, hit_score / top_score) ** 2


def _similar(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) > 0.7


def _neighbours(candidates: list[_Candidate], first: _Candidate) -> set[int]:
    """The units just before and after `first` in its passage (ids of the candidates)."""
    own = sorted((c for c in candidates if c.hit_index == first.hit_index), key=lambda c: c.unit.unit.start)
    i = next(n for n, c in enumerate(own) if c is first)
    return {id(c) for c in own[max(i - 1, 0):i + 2] if c is not first}


def _choose(candidates: list[_Candidate], k_sentences: int, hits: Sequence[Hit] = (), question: str = "") -> list[_Candidate]:
    """Best first. A passage is first quoted by its best unit (its highlight in /v1/search),
    so the quote and the highlight always agree; a passage whose best unit is not taken is
    not quoted at all. Up to `k_sentences` units, and one more if the answer stays within
    SHORT_ANSWER_CHARS; then the highlight of a first TOP_PASSAGES passage not quoted yet.
    The first quote is the field that put the first passage first (_led_by_field), if any."""
    candidates = sorted(candidates, key=lambda c: (-c.score, c.hit_index, c.unit.unit.start))
    lead = _led_by_field(candidates, hits, question)
    if lead is not None:
        candidates.remove(lead)
        candidates.insert(0, lead)
    first = candidates[0]
    best = max(c.score for c in candidates)  # the follow-ups' bar stays the best unit's, whichever leads
    beside = _neighbours(candidates, first)
    after = {id(c): c.score + (NEIGHBOUR_BONUS * max(best, 0.0) if id(c) in beside else 0.0) for c in candidates}
    candidates = [first] + sorted(candidates[1:], key=lambda c: (-after[id(c)], c.hit_index, c.unit.unit.start))
    chosen: list[_Candidate] = []
    skipped: set[int] = set()
    total = 0
    for c in candidates:
        if len(chosen) > k_sentences:
            break
        opened = any(o.hit_index == c.hit_index for o in chosen)
        if c.hit_index in skipped or (not opened and not c.best_of_passage):
            continue
        room = MAX_ANSWER_CHARS if len(chosen) < k_sentences else SHORT_ANSWER_CHARS
        ok = not chosen or (_passes(c, best, after[id(c)]) and total + len(c.text) <= room)
        if ok and any(_similar(c.tokens, o.tokens) or c.text == o.text for o in chosen):
            ok = False
        if not ok:
            if not opened:
                skipped.add(c.hit_index)
            continue
        chosen.append(c)
        total += len(c.text)
    quoted = {c.hit_index for c in chosen}
    for c in candidates:  # score order (the first quote's neighbours are in no other passage)
        if c.best_of_passage and c.hit_index < TOP_PASSAGES and c.hit_index not in quoted:
            if _passes(c, best, after[id(c)]) and total + len(c.text) <= MAX_ANSWER_CHARS \
                    and not any(_similar(c.tokens, o.tokens) or c.text == o.text for o in chosen):
                chosen.append(c)
            break
    return chosen


def _led_by_field(candidates: Sequence[_Candidate], hits: Sequence[Hit], question: str = "") -> _Candidate | None:
    """The best unit of the first passage, when the search moved that passage up among its
    document's passages (``scores["passage"]``, its own score, is below its place's) and that
    unit is a field whose key names the kind of thing asked and which holds one (``date:`` for
    "when"; index/rerank.py _named_fields_first). The search put the passage first for that
    field, so the answer opens with it: "When did Mistral acquire Koyeb?" opened with the
    article's sentence on the acquisition, which gives no date, scored above the front matter's
    ``date:`` field on the question's words, and quoted the date fourth."""
    if not hits:
        return None
    if hits[0].scores.get("passage", hits[0].score) < hits[0].score:
        lead = next((c for c in candidates if c.hit_index == 0 and c.best_of_passage), None)
        if lead is not None and lead.unit.names_asked and lead.unit.typed:
            return lead
    # a front-matter passage the search added among the first for its field (its key meets the
    # question's words and it holds the number asked, or it is the field a noun phrase's head
    # noun names: rerank.LexicalReranker._asked_fields_added) is quoted by that field first:
    # 「Mistralはこれまで何回資金調達のラウンドを行ってきた？」 opened with another report's
    # funding table row, ranked first by its retrieval score, and quoted total_funding_rounds: 7 second.
    # Only a field in another language than the question: there the units' scores meet its key
    # only through the bridge, and the search's choice is the better evidence; an English question
    # reads the key's own words (en-058 "post-money valuation after the Series C" is best answered
    # by the first passage's sentence, not by series_c_valuation_eur: mixed-small answer@1 -1 otherwise)
    added = [i for i, hit in enumerate(hits[:TOP_PASSAGES]) if hit.scores.get("field")]
    lang = detect_language(question) if added else None
    for i in added:
        if hits[i].lang != lang:
            lead = next((c for c in candidates if c.hit_index == i and c.best_of_passage), None)
            if lead is not None and lead.unit.unit.kind == "field" and lead.unit.key_asked:
                return lead
    return None


def _passes(c: _Candidate, best: float, score: float) -> bool:
    """The tests of a unit quoted after the first: nearly as good, and (in the question's
    language) speaking of what is asked."""
    ratio = NEXT_SENTENCE_RATIO if c.same_lang else CROSS_LANGUAGE_RATIO
    return score >= ratio * best and (c.unit.relevance >= NEXT_MIN_RELEVANCE or not c.same_lang)


def extractive_answer(question: str, result: SearchResult, k_sentences: int = MAX_SENTENCES) -> Answer:
    lang = result.lang
    if not is_found(result):
        return Answer(NOT_FOUND[ui_lang(lang)], [], False, lang, confidence=result.confidence)
    hits = result.hits[:PASSAGES_QUOTED_FROM]
    candidates = _candidates(question, hits)
    if not candidates:  # nothing quotable (headings, stubs): quote the highlights as they are
        return _quote_highlights(result, hits[:1])
    chosen = _choose(candidates, k_sentences, hits, question)
    defined = defined_terms(question)
    for c in chosen:  # a unit cut for reading is quoted by the part that speaks to the question
        if c.unit.focus is not None:
            c.unit = replace(c.unit, unit=replace(c.unit.unit, text=c.unit.quote))
        # a definition question's X defined in a later clause of a sentence about other things
        # (「…Studio は運用基盤、Forge は…を作る基盤、Compute は…である。」) is quoted by that clause
        clause = defining_clause(defined, c.unit.unit.text) if defined else None
        if clause is not None:
            c.unit = replace(c.unit, unit=replace(c.unit.unit, text=clause))
    # Passages in the order they were first quoted; within one, its best unit first, then
    # the others in document order.
    first_seen: dict[int, int] = {}
    for n, c in enumerate(chosen):
        first_seen.setdefault(c.hit_index, n)
    chosen.sort(key=lambda c: (first_seen[c.hit_index], not c.best_of_passage, c.unit.unit.start))
    numbers: dict[int, int] = {}
    quotes = []
    for c in chosen:
        n = numbers.setdefault(c.hit_index, len(numbers) + 1)
        # every quoted sentence carries its marker: each one can be checked on its own
        quotes.append((c.text, n, lang == "ja" and hits[c.hit_index].lang == "ja"))
    body = _join_quotes(quotes)
    citations = [_citation(hits[i], n, (first.unit.unit.start, first.unit.unit.end))
                 for i, n in numbers.items() for first in [next(c for c in chosen if c.hit_index == i)]]
    return Answer(body, citations, True, lang, confidence=result.confidence)


def _quote_highlights(result: SearchResult, hits: Sequence[Hit]) -> Answer:
    lang = result.lang
    quotes, citations = [], []
    for n, h in enumerate(hits, start=1):
        text = clean_sentence(h.text[slice(*h.highlight)]) or clean_sentence(h.text)
        quotes.append((text, n, lang == "ja" and h.lang == "ja"))
        citations.append(_citation(h, n))
    return Answer(_join_quotes(quotes), citations, True, lang, confidence=result.confidence)


_SENTENCE_ENDS = ("。", "．", "！", "？", "!", "?", "」", "』")


def _join_quotes(quotes: Sequence[tuple[str, int, bool]]) -> str:
    """(text, citation number, Japanese in a Japanese answer) -> the answer body: `文。[1]次の文。[1]`
    between Japanese sentences of a Japanese answer, `text [n]` and a space wherever either side is
    not (a Japanese quote that is no sentence, a field or a name, counts as not), so that an English sentence in a Japanese answer reads "…$5.4 billion. [2] Capital …",
    not "…$5.4 billion.[2]Capital …"."""
    out = []
    before = True  # the previous quote was a Japanese sentence in a Japanese answer
    for text, n, japanese in quotes:
        if out and not (japanese and before):
            out.append(" ")
        out.append(f"{text}[{n}]" if japanese else f"{text} [{n}]")
        # a field, table row or name ends without 。, and the next quote would run on into it:
        # 「Arthur Mensch（CEO・共同創業者）[1]2026年1月…」 reads as one garbled line
        before = japanese and text.rstrip().endswith(_SENTENCE_ENDS)
    return "".join(out)


async def answer_question(question: str, result: SearchResult, llm: "LLMClient | None" = None,
                          history: Sequence[dict[str, str]] = ()) -> Answer:
    """The answer `/v1/ask` gives (and `kotae eval` scores): extractive, or written by the
    language model from the same passages when one is configured, falling back to the
    extractive answer with a warning when the model fails."""
    from kotae.service.llm import LLMError

    answer = extractive_answer(question, result)
    answer.timings = dict(result.timings)
    if not answer.found or llm is None:
        return answer
    started = time.perf_counter()
    try:
        text = await llm.complete(llm_messages(question, result.hits, result.lang, history))
    except LLMError as exc:
        answer.warning = f"{exc}; showing the extractive answer instead"
        return answer
    body, citations, _removed = filter_citations(text, result.hits)
    answer.timings["generate_ms"] = (time.perf_counter() - started) * 1000
    return Answer(body, citations, True, result.lang, "llm", None, answer.timings, answer.confidence)


def _citation(hit: Hit, n: int, highlight: tuple[int, int] | None = None) -> dict[str, Any]:
    d = passage_json(hit, n)
    if highlight is not None:  # the sentence the answer quotes
        d["highlight"] = list(highlight)
    return d


# ---------------------------------------------------------------------------------------------
# Citation markers in generated text

_DIGITS = "0-9０-９"
_CITE = re.compile(rf"[\[［【]\s*([{_DIGITS}]+(?:\s*[,，、]\s*[{_DIGITS}]+)*)\s*[\]］】]")
_CITE_PREFIX = re.compile(rf"[\[［【]\s*(?:[{_DIGITS}]+(?:\s*[,，、]\s*[{_DIGITS}]*)*)?\s*$")
_OPENERS = "[［【"


class CitationFilter:
    """Rewrites `[n]` markers of generated text as it streams: markers that point at a
    provided passage are renumbered in order of first appearance, the others are removed.
    Feed text pieces with :meth:`feed`, then call :meth:`finish`."""

    def __init__(self, n_passages: int):
        self.n_passages = n_passages
        self.numbers: dict[int, int] = {}  # passage index (0-based) -> citation number
        self.removed: list[str] = []
        self._buffer = ""
        self._held = ""

    def feed(self, piece: str) -> str:
        self._buffer += piece
        out = self._held  # spaces held back last time, in case a removed marker followed them
        self._held = ""
        while self._buffer:
            i = min((p for p in (self._buffer.find(o) for o in _OPENERS) if p >= 0), default=-1)
            if i < 0:
                out += self._buffer
                self._buffer = ""
                break
            out += self._buffer[:i]
            rest = self._buffer[i:]
            m = _CITE.match(rest)
            if m:
                marks = self._rewrite(m.group(1))
                out = out + marks if marks else out.rstrip(" \t")  # "claim [9]." -> "claim."
                self._buffer = rest[m.end():]
                continue
            if _CITE_PREFIX.match(rest) and len(rest) < 24:
                self._buffer = rest  # may still become a marker: wait for more text
                break
            out += rest[0]
            self._buffer = rest[1:]
        kept = out.rstrip(" \t")
        self._held = out[len(kept):]
        return kept

    def finish(self) -> str:
        rest, self._buffer, self._held = self._held + self._buffer, "", ""
        return rest

    def _rewrite(self, inner: str) -> str:
        marks = []
        for raw in re.split(r"\s*[,，、]\s*", inner.strip()):
            n = int(unicodedata.normalize("NFKC", raw))
            if 1 <= n <= self.n_passages:
                marks.append(f"[{self.numbers.setdefault(n - 1, len(self.numbers) + 1)}]")
            else:
                self.removed.append(raw)
        return "".join(dict.fromkeys(marks))

    def citations(self, hits: Sequence[Hit]) -> list[dict[str, Any]]:
        return [_citation(hits[i], n) for i, n in sorted(self.numbers.items(), key=lambda x: x[1])]


def filter_citations(text: str, hits: Sequence[Hit]) -> tuple[str, list[dict[str, Any]], list[str]]:
    f = CitationFilter(len(hits))
    out = f.feed(text) + f.finish()
    out = re.sub(r"[ \t]+([。.,、])", r"\1", out)  # "…です [9]。" with [9] removed
    return out.strip(), f.citations(hits), f.removed


# ---------------------------------------------------------------------------------------------
# Prompt for a language model

SYSTEM_PROMPT = {
    "ja": (
        "あなたは資料に基づいて質問に答えるアシスタントです。以下の番号付きの資料だけを根拠に、日本語で簡潔に答えてください。"
        "資料を使った文の直後に、その資料の番号を [1] のように付けてください。資料にない番号は使わないでください。"
        "資料に答えがない場合は、そう述べてください。出典一覧は書かないでください（自動で付きます）。"
    ),
    "en": (
        "You answer questions from documents. Use only the numbered passages below, and answer concisely in English. "
        "After each sentence that uses a passage, cite it like [1]. Never cite a number that is not listed. "
        "If the passages do not contain the answer, say so. Do not write a list of sources; it is added for you."
    ),
}


def llm_messages(question: str, hits: Sequence[Hit], lang: str, history: Sequence[dict[str, str]] = ()) -> list[dict[str, str]]:
    blocks = []
    for i, h in enumerate(hits, start=1):
        where = place_label(h.title, h.section)
        page = f" (p. {h.page})" if h.page else ""
        blocks.append(f"[{i}] {where}{page}\n{h.text}")
    passages = "\n\n".join(blocks)
    label_passages, label_question = ("資料", "質問") if lang == "ja" else ("Passages", "Question")
    messages = [{"role": "system", "content": SYSTEM_PROMPT[ui_lang(lang)]}]
    messages.extend({"role": m["role"], "content": m["content"]} for m in history if m.get("role") in ("user", "assistant"))
    messages.append({"role": "user", "content": f"{label_passages}:\n\n{passages}\n\n{label_question}: {question}"})
    return messages
