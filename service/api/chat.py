"""OpenAI-compatible chat: POST /v1/chat/completions and GET /v1/models.

The last user message is the question (a short follow-up is completed by the previous one);
the answer carries [n] markers and a Sources list, and the cited passages ride along in the
extra field `citations`, which OpenAI clients ignore. `stream: true` sends Server-Sent Events
(`chat.completion.chunk` objects, then `data: [DONE]`); the last chunk carries `citations`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import AsyncIterator

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from kotae.index.tokenize import tokenize
from kotae.service.answer import Answer, sources_block
from kotae.service.api.auth import require_read
from kotae.service.api.deps import errors, get_service
from kotae.service.api.schemas import MAX_QUESTION_CHARS, ChatRequest, ChatResponse, ModelList
from kotae.service.api.errors import error_body
from kotae.service.core import KotaeService, ServiceError, Turn, retrieval_query
from kotae.service.texts import trim_history

log = logging.getLogger("kotae.service")

MODEL_ID = "kotae"
CREATED = 1767225600  # 2026-01-01, a stable "created" for the model card

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_read)])


@router.get("/models", response_model=ModelList, summary="The models this server answers as (one: kotae)",
            responses=errors(401))
async def models() -> ModelList:
    return ModelList(data=[{"id": MODEL_ID, "created": CREATED}])


def _turns(body: ChatRequest) -> tuple[str, list[Turn], str]:
    if body.model != MODEL_ID:
        raise ServiceError(404, f"model: unknown model {body.model[:100]!r}; this server answers as {MODEL_ID!r}", "model", "model_not_found")
    turns = [Turn(m.role, m.text()) for m in body.messages if m.role in ("user", "assistant")]
    users = [i for i, t in enumerate(turns) if t.role == "user"]
    if not users or not turns[users[-1]].content.strip():
        raise ServiceError(422, "messages: the last user message must have non-empty text content", "messages")
    question = turns[users[-1]].content.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise ServiceError(422, f"messages: the last user message is longer than {MAX_QUESTION_CHARS} characters", "messages")
    # Earlier turns only give context: a long history is trimmed to its most recent part.
    history = trim_history(turns[: users[-1]])
    return question, history, retrieval_query([*history, turns[users[-1]]])


def _count(text: str) -> int:
    return len(tokenize(text))


@router.post("/chat/completions", response_model=ChatResponse, summary="OpenAI Chat Completions (model: kotae)",
             responses={**errors(401, 404, 413, 422, 503),
                        200: {"description": "a chat.completion, or with `stream: true` an SSE stream of chat.completion.chunk",
                              "content": {"text/event-stream": {"example":
                                          'data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"…"}}]}\n\ndata: [DONE]\n\n'}}}})
async def chat_completions(body: ChatRequest, service: KotaeService = Depends(get_service)):
    question, history, query = _turns(body)
    service.check_ready()  # 503 now rather than inside the stream
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if not body.stream:
        answer = await service.ask(question, body.k, history, query)
        text = answer.text
        prompt = sum(_count(t.content) for t in history) + _count(question)
        return ChatResponse(
            id=cid, created=created, model=MODEL_ID,
            choices=[{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            usage={"prompt_tokens": prompt, "completion_tokens": _count(text), "total_tokens": prompt + _count(text)},
            citations=answer.citations, found=answer.found, warning=answer.warning,
        )
    return StreamingResponse(_sse(service, question, body.k, history, query, cid, created), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _chunk(cid: str, created: int, delta: dict, finish: str | None = None, **extra) -> str:
    data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _sse(service: KotaeService, question: str, k: int, history: list[Turn], query: str, cid: str, created: int) -> AsyncIterator[str]:
    """The answer as chat.completion.chunk events. However it ends, the stream ends with
    `data: [DONE]`; a failure after the first event is sent as an error event (the shape
    the openai client raises as an APIError) just before it."""
    yield _chunk(cid, created, {"role": "assistant", "content": ""})
    try:
        async for item in service.ask_stream(question, k, history, query):
            if isinstance(item, Answer):
                sources = sources_block(item.citations, item.lang)
                if sources:
                    yield _chunk(cid, created, {"content": "\n\n" + sources})
                yield _chunk(cid, created, {}, "stop", citations=item.citations, found=item.found, warning=item.warning)
            else:
                yield _chunk(cid, created, {"content": item})
    except ServiceError as exc:
        yield _error_event(exc.status, exc.message, exc.field, exc.code)
    except Exception as exc:  # noqa: BLE001 - the client gets an error event, never a cut connection
        log.exception("chat stream %s failed", cid)
        yield _error_event(500, f"internal error: {type(exc).__name__}", None, "internal_error")
    yield "data: [DONE]\n\n"


def _error_event(status: int, message: str, field: str | None, code: str) -> str:
    return f"data: {json.dumps(error_body(status, message, field, code), ensure_ascii=False)}\n\n"
