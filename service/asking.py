"""Answering: searches (batched on the reader thread, each holding a lease on the index
generation it runs on) and answers composed by answer.py, extractive or by a language model."""

from __future__ import annotations

import re
from concurrent.futures import Executor
from typing import AsyncIterator, Sequence

from kotae.index.search import SearchResult
from kotae.index.store import Filters
from kotae.index.tokenize import tokenize
from kotae.service.answer import Answer, CitationFilter, answer_question, extractive_answer, llm_messages
from kotae.service.batch import QueryBatcher
from kotae.service.generations import Generations
from kotae.service.llm import LLMClient, LLMError
from kotae.service.texts import MAX_QUESTION_CHARS, Turn, trim_history

_FOLLOW_UP = re.compile(r"^(?:それ|その|そこ|これ|この|あれ|彼|彼女|では|じゃあ|なぜ|いつ|どこ|"
                        r"(?:and|but|what about|how about|why|when|where|it|its|they|their|that|this|those|these|he|she)\b)",
                        re.IGNORECASE)


def retrieval_query(turns: Sequence[Turn]) -> str:
    """The last user message; a short or anaphoric follow-up is completed by the previous
    user message ("それはいつ？" after "Koyebを買収したのは誰？"), of which at most
    MAX_QUESTION_CHARS are kept so the query stays what a search accepts."""
    users = [t.content.strip() for t in turns if t.role == "user" and t.content.strip()]
    if not users:
        return ""
    last = users[-1]
    if len(users) >= 2 and (len(tokenize(last)) < 6 or _FOLLOW_UP.match(last)):
        return f"{users[-2][-MAX_QUESTION_CHARS:]}\n{last}"
    return last


class Answering:
    def __init__(self, generations: Generations, reader: Executor, llm: LLMClient | None):
        self.generations = generations
        self.llm = llm
        self._batcher = QueryBatcher(reader, run=generations.run)

    async def search(self, query: str, k: int, filters: Filters | None = None) -> SearchResult:
        with self.generations.lease() as retriever:
            return await self._batcher.search(retriever, query, k, filters)

    async def ask(self, question: str, k: int, history: Sequence[Turn] = (), query: str | None = None) -> Answer:
        result = await self.search(query or question, k)
        return await answer_question(question, result, self.llm, _history(history))

    async def ask_stream(self, question: str, k: int, history: Sequence[Turn] = (), query: str | None = None) -> AsyncIterator[str | Answer]:
        """Pieces of the answer text as they are ready, then the finished :class:`Answer`
        (whose ``text`` is everything streamed plus the sources list)."""
        result = await self.search(query or question, k)
        extractive = extractive_answer(question, result)
        extractive.timings = dict(result.timings)
        if self.llm is not None and extractive.found:
            f = CitationFilter(len(result.hits))
            sent = []
            try:
                async for piece in self.llm.stream(llm_messages(question, result.hits, result.lang, _history(history))):
                    out = f.feed(piece)
                    if out:
                        sent.append(out)
                        yield out
                rest = f.finish()
                if rest:
                    sent.append(rest)
                    yield rest
                if "".join(sent).strip():
                    yield Answer("".join(sent).strip(), f.citations(result.hits), True, result.lang, "llm", None, extractive.timings)
                    return
                error = "the language model sent an empty answer"
            except LLMError as exc:
                error = str(exc)
            if sent:  # failed half way: keep what was said, note it, and stop
                note = "\n\n(" + error + ")"
                yield note
                yield Answer("".join(sent).strip() + note, f.citations(result.hits), True, result.lang, "llm", error, extractive.timings)
                return
            extractive.warning = f"{error}; showing the extractive answer instead"
        for piece in _pieces(extractive.body):
            yield piece
        yield extractive


def _history(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """Earlier turns as the language model gets them: the most recent, within a size bound."""
    return [{"role": t.role, "content": t.content} for t in trim_history(turns)]


def _pieces(text: str, size: int = 12) -> list[str]:
    """Split a finished answer into small pieces, so a streaming client shows it progressively."""
    return [text[i : i + size] for i in range(0, len(text), size)]
