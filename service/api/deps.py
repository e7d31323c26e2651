"""Dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from kotae.service.core import KotaeService
from kotae.settings import Settings


# Dependencies are ``async def`` although they never wait: FastAPI runs a plain ``def`` dependency
# on a worker thread, and those thread hops (three per search) cost more than the rest of the
# HTTP layer together, worse on a busy machine where every hop waits for a core.
async def get_service(request: Request) -> KotaeService:
    return request.app.state.kotae


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


# Error responses listed in the OpenAPI schema of each route.
def errors(*codes: int) -> dict:
    from kotae.service.api.schemas import ErrorResponse

    text = {401: "missing or invalid API key", 404: "unknown document or model", 409: "another ingest is writing the index",
            413: "request body too large", 415: "unsupported file type", 422: "a field is missing or invalid",
            403: "a cross-site write, or a Host that is not served", 429: "too many large uploads queued",
            503: "the index is still loading or could not be opened, or the corpus folder is unavailable"}
    return {c: {"model": ErrorResponse, "description": text.get(c, "error")} for c in codes}
