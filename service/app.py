"""The kotae HTTP service: `create_app(settings)` builds the FastAPI app; `kotae serve` runs it.

    GET  /                       the chat page (static HTML + JS + CSS, no build step)
    GET  /healthz, /readyz       liveness; readiness with document and passage counts
    POST /v1/search              ranked passages (docs/CONTRACTS.md §2) with per-stage timings
    POST /v1/ask                 answer with [n] citations, the numbered sources, `found`
    POST /v1/chat/completions    OpenAI-compatible, streaming or not (model "kotae")
    GET  /v1/models
    GET/POST/DELETE /v1/documents[/{doc_id}]
    GET  /docs, /openapi.json    interactive API documentation
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi import HTTPException as StarletteHTTPException  # FastAPI re-raises its own HTTPException from body parsing

from kotae import __version__
from kotae.service.api import chat, documents, errors, health, search
from kotae.service.core import KotaeService
from kotae.settings import Settings, load_settings

STATIC = Path(__file__).resolve().parent / "static"
MAX_JSON_BODY = 4 * 1024 * 1024  # search/ask/chat bodies; uploads have their own limit
log = logging.getLogger("kotae.service")

DESCRIPTION = """Question answering over Japanese and English documents, with cited passages.

* **Scripts**: `POST /v1/search` for ranked passages, `POST /v1/ask` for an answer with `[n]` citations.
* **Chat front ends** (Open WebUI, LibreChat, the `openai` client): base URL `http://HOST:PORT/v1`, model `kotae`.
* **People**: the chat page at `/`.

Every passage has the same shape (docs/CONTRACTS.md §2): `citation`, `doc_id`, `title`, `section`, `page`,
`char_start`/`char_end` into the document's original text (`GET /v1/documents/{doc_id}`), `text`,
`lang`, `score`, `scores`, `highlight`. Errors are JSON: `{"error": {"message", "field", "code", ...}}`.
When the server has `KOTAE_API_KEY`, send `Authorization: Bearer <key>`.
"""


class BodyLimit:
    """413 for request bodies over the limit, by Content-Length up front and by counting
    the bytes of chunked bodies as they arrive."""

    def __init__(self, app, settings: Settings):
        self.app = app
        self.upload_limit = int(settings.max_upload_mb * 1024 * 1024) + 256 * 1024  # + multipart framing
        self.upload_mb = settings.max_upload_mb

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        upload = scope["path"].rstrip("/") == "/v1/documents"
        limit = self.upload_limit if upload else MAX_JSON_BODY
        what = f"{self.upload_mb:g} MB (KOTAE_MAX_UPLOAD_MB)" if upload else f"{MAX_JSON_BODY // (1024 * 1024)} MB"
        field = "file" if upload else "body"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            response = errors.error_response(413, f"{field}: request body is larger than the limit of {what}", field, "too_large")
            return await response(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(413, {"message": f"{field}: request body is larger than the limit of {what}",
                                                       "field": field, "code": "too_large"})
            return message

        return await self.app(scope, limited_receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    service = KotaeService(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.api_key == "" and settings.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("kotae: listening on %s without KOTAE_API_KEY: anyone who can reach it can upload and delete documents", settings.host)
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="kotae", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        openapi_tags=[
            {"name": "retrieval", "description": "Search and ask"},
            {"name": "openai", "description": "OpenAI-compatible chat (Open WebUI, LibreChat, openai clients)"},
            {"name": "documents", "description": "The corpus: list, read, upload, delete"},
            {"name": "health", "description": "Liveness and readiness"},
        ],
    )
    app.state.settings = settings
    app.state.kotae = service
    errors.install(app)
    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(chat.router)
    app.include_router(documents.router)
    app.add_middleware(BodyLimit, settings=settings)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def serve(settings: Settings) -> None:
    import uvicorn

    from kotae.service.logs import configure

    log_config = configure(settings.log_level)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=log_config,
                log_level=settings.log_level.lower(), timeout_graceful_shutdown=5)
