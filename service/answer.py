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

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Sequence

from kotae.index.highlight import sentence_spans
from kotae.index.search import Hit, SearchResult
from kotae.index.tokenize import tokenize

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
MAX_SENTENCE_CHARS = 280


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

    @property
    def text(self) -> str:
        """What a chat client shows: the answer, then the numbered sources."""
        sources = sources_block(self.citations, self.lang)
        return f"{self.body}\n\n{sources}" if sources else self.body


def source_line(c: dict[str, Any], lang: str) -> str:
    where = " › ".join(x for x in (c.get("title"), c.get("section")) if x)
    page = f" ({PAGE[ui_lang(lang)].format(n=c['page'])})" if c.get("page") else ""
    return f"- [{c['citation']}] {where}{page} — `{c['doc_id']}`"


def sources_block(citations: Sequence[dict[str, Any]], lang: str) -> str:
    if not citations:
        return ""
    lines = [f"**{SOURCES_HEADING[ui_lang(lang)]}**"]
    lines.extend(source_line(c, lang) for c in citations)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Extractive answers

_MARKUP = re.compile(r"\*\*|__|`|^\s*(?:#{1,6}\s+|[-*+•・]\s+|>\s*|\d+[.)]\s+)|\|")


_YAML_LINE = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w-]*):\s+(.+)$")


def _yaml_line(line: str) -> str:
    """`description: "A long sentence."` reads as the sentence; `founded_year: 2023` as
    `founded year: 2023`."""
    m = _YAML_LINE.match(line)
    if not m:
        return line
    key, value = m.group(1), m.group(2).strip().strip("\"'[]")
    return value if len(value) >= 40 else f"{key.replace('_', ' ')}: {value}"


def clean_sentence(sentence: str) -> str:
    """A sentence as it should read inside an answer: no Markdown markers, front matter
    keys made readable, one line."""
    lines = [_MARKUP.sub("", _yaml_line(line)).strip().strip("\"'") for line in sentence.splitlines()]
    text = " ".join(x for x in lines if x)
    text = re.sub(r"\s{2,}", " ", text).strip()
    text = re.sub(r"([。．！？])\1+", r"\1", text)
    if len(text) > MAX_SENTENCE_CHARS:
        text = text[: MAX_SENTENCE_CHARS - 1].rstrip() + "…"
    return text


_URL = re.compile(r"https?://|<http|www\.", re.IGNORECASE)


def _content(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


@dataclass
class _Candidate:
    hit_index: int
    start: int
    end: int
    text: str
    tokens: set[str]
    score: float
    overlap: float = 0.0


def _candidates(question_tokens: set[str], hits: Sequence[Hit], limit: int) -> list[_Candidate]:
    raw = []
    for i, hit in enumerate(hits[:limit]):
        for s, e in sentence_spans(hit.text):
            original = hit.text[s:e].strip()
            text = clean_sentence(original)
            if _content(text) < 6 or original.endswith((":", "：")):  # headings, keys without values, stubs
                continue
            raw.append((i, s, e, text, set(tokenize(text)), (s, e) == tuple(hit.highlight)))
    # Words of the question that occur in every candidate sentence ("Mistral", "AI") say little
    # about which sentence answers it: weight the question's words by their rarity here.
    n = len(raw) or 1
    df: dict[str, int] = {}
    for *_, tokens, _hl in raw:
        for t in tokens & question_tokens:
            df[t] = df.get(t, 0) + 1
    weight = {t: math.log(1 + n / df.get(t, 1)) for t in question_tokens}
    total = sum(weight.values()) or 1.0
    out = []
    for i, s, e, text, tokens, is_highlight in raw:
        overlap = sum(weight[t] for t in tokens & question_tokens) / total
        # The retriever's own choice of sentence and the passage's rank count as much as the
        # word overlap: dense retrieval finds meaning that shares no words with the question.
        score = overlap + 0.3 / (i + 1) + (0.35 if is_highlight else 0.0)
        if _URL.search(text):  # reference lists and links answer nothing by themselves
            score -= 0.4
        out.append(_Candidate(i, s, e, text, tokens, score, overlap))
    return out


def _similar(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) > 0.7


def extractive_answer(question: str, result: SearchResult, k_sentences: int = MAX_SENTENCES) -> Answer:
    lang = result.lang
    if not is_found(result):
        return Answer(NOT_FOUND[ui_lang(lang)], [], False, lang)
    hits = result.hits
    q_tokens = set(tokenize(question))
    candidates = _candidates(q_tokens, hits, limit=5)
    if not candidates:  # only headings: quote the highlights as they are
        candidates = [_Candidate(i, *h.highlight, clean_sentence(h.text[slice(*h.highlight)]), set(), 0.0) for i, h in enumerate(hits[:3])]
    # In the question's language where the documents allow it.
    same = [c for c in candidates if hits[c.hit_index].lang == lang]
    if same and max(c.score for c in same) >= 0.6 * max(c.score for c in candidates):
        candidates = same
    candidates.sort(key=lambda c: (-c.score, c.hit_index, c.start))
    chosen: list[_Candidate] = []
    total = 0
    best = candidates[0].score
    for c in candidates:
        if len(chosen) >= k_sentences:
            break
        # Beyond the best sentence, only sentences that share the question's telling words.
        if chosen and (c.score < 0.6 * best or c.overlap < 0.25 or total + len(c.text) > MAX_ANSWER_CHARS):
            continue
        if any(_similar(c.tokens, o.tokens) or c.text == o.text for o in chosen):
            continue
        chosen.append(c)
        total += len(c.text)
    # Read in document order within a passage, passages in the order they were chosen.
    first_seen: dict[int, int] = {}
    for n, c in enumerate(chosen):
        first_seen.setdefault(c.hit_index, n)
    chosen.sort(key=lambda c: (first_seen[c.hit_index], c.start))
    numbers: dict[int, int] = {}
    parts = []
    for j, c in enumerate(chosen):
        n = numbers.setdefault(c.hit_index, len(numbers) + 1)
        if j + 1 < len(chosen) and chosen[j + 1].hit_index == c.hit_index:
            parts.append(c.text)  # consecutive sentences of one passage: one marker after the last
        else:
            parts.append(f"{c.text}[{n}]" if lang == "ja" else f"{c.text} [{n}]")
    body = ("" if lang == "ja" else " ").join(parts)
    citations = []
    for i, n in numbers.items():
        quoted = next(c for c in chosen if c.hit_index == i)  # the first sentence quoted from it
        citations.append(_citation(hits[i], n, (quoted.start, quoted.end)))
    return Answer(body, citations, True, lang)


def _citation(hit: Hit, n: int, highlight: tuple[int, int] | None = None) -> dict[str, Any]:
    d = hit.to_dict(n)
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
        where = " › ".join(x for x in (h.title, h.section) if x)
        page = f" (p. {h.page})" if h.page else ""
        blocks.append(f"[{i}] {where}{page}\n{h.text}")
    passages = "\n\n".join(blocks)
    label_passages, label_question = ("資料", "質問") if lang == "ja" else ("Passages", "Question")
    messages = [{"role": "system", "content": SYSTEM_PROMPT[ui_lang(lang)]}]
    messages.extend({"role": m["role"], "content": m["content"]} for m in history if m.get("role") in ("user", "assistant"))
    messages.append({"role": "user", "content": f"{label_passages}:\n\n{passages}\n\n{label_question}: {question}"})
    return messages
