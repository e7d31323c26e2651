"""POST /v1/search (ranked passages) and POST /v1/ask (an answer with numbered citations)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from kotae.index.backends import Filters
from kotae.service.answer import is_found
from kotae.service.api.auth import require_read
from kotae.service.api.deps import errors, get_service
from kotae.service.api.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse
from kotae.service.core import KotaeService
from kotae.service.passages import passage_json

router = APIRouter(prefix="/v1", tags=["retrieval"], dependencies=[Depends(require_read)])


@router.post("/search", response_model=SearchResponse, summary="Ranked passages for a query",
             responses=errors(401, 413, 422, 503))
async def search(body: SearchRequest, service: KotaeService = Depends(get_service)) -> SearchResponse:
    filters = None
    if body.filters is not None and (body.filters.lang or body.filters.doc_ids):
        filters = Filters(lang=body.filters.lang, doc_ids=tuple(body.filters.doc_ids) if body.filters.doc_ids else None)
    result = await service.search(body.query, body.k or service.settings.top_k, filters)
    return SearchResponse(
        query=body.query, lang=result.lang, found=is_found(result), confidence=result.confidence,
        passages=[passage_json(h, i) for i, h in enumerate(result.hits, start=1)],
        timings={k: round(v, 2) for k, v in result.timings.items()},
    )


@router.post("/ask", response_model=AskResponse, summary="An answer with [n] citations and the numbered sources",
             description="Without a language model (KOTAE_LLM_BASE_URL unset) the answer is extractive: the sentences of "
                         "the top passages that best answer the question, each followed by its [n]. `found` is false, "
                         "with a sentence saying so, when retrieval finds nothing relevant.",
             responses=errors(401, 413, 422, 503))
async def ask(body: AskRequest, service: KotaeService = Depends(get_service)) -> AskResponse:
    answer = await service.ask(body.question, body.k or service.settings.top_k)
    return AskResponse(answer=answer.text, found=answer.found, confidence=answer.confidence, lang=answer.lang, mode=answer.mode,
                       citations=answer.citations, warning=answer.warning,
                       timings={k: round(v, 2) for k, v in answer.timings.items()})
