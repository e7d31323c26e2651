"""The kotae HTTP service: `create_app(settings)` builds the FastAPI app; `kotae serve` runs it.

    GET  /                       the chat page (static HTML + JS + CSS, no build step)
    GET  /healthz, /readyz       liveness; readiness with document and passage counts
    POST /v1/search              ranked passages (docs/CONTRACTS.md §2) with per-stage timings
    POST /v1/ask                 answer with [n] citations, the numbered sources, `found`
    POST /v1/chat/completions    OpenAI-compatible, streaming or not (model "kotae")
    GET  /v1/models
    GET/POST/DELETE /v1/documents[/{doc_id}]
    GET  /v1/jobs/{id}           a large upload being indexed in the background
    GET  /docs, /openapi.json    interactive API documentation
"""

from __future__ import annotations

import asyncio
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
from kotae.service.security import BrowserGuard, startup_warnings
from kotae.service.transport import CancelOnDisconnect, uvicorn_options
from kotae.settings import MB, Settings, load_settings, mb_bytes

STATIC = Path(__file__).resolve().parent / "static"
# search/ask/chat bodies (uploads have their own limit): checked before parsing, so a huge
# body never reaches the JSON parser, which would hold the event loop while it works.
MAX_JSON_BODY = 1 * MB
BODY_IDLE_TIMEOUT = 30.0  # seconds a request body may stall between two chunks
# Uploads received or processed at once: each holds its file in memory; more get 429 at once.
MAX_UPLOADS_IN_FLIGHT = 8
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
    the bytes of chunked bodies as they arrive; 408 for a body that stalls; 429 for an
    upload beyond MAX_UPLOADS_IN_FLIGHT (memory stays bounded)."""

    def __init__(self, app, settings: Settings):
        self.app = app
        self.upload_limit = mb_bytes(settings.max_upload_mb) + 256 * 1024  # + multipart framing
        self.upload_mb = settings.max_upload_mb
        self.uploads = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        upload = scope["path"].rstrip("/") == "/v1/documents"
        limit = self.upload_limit if upload else MAX_JSON_BODY
        what = f"{self.upload_mb:g} MB (KOTAE_MAX_UPLOAD_MB)" if upload else f"{MAX_JSON_BODY // MB} MB"
        field = "file" if upload else "body"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            response = errors.error_response(413, f"{field}: request body is larger than the limit of {what}", field, "too_large")
            return await response(scope, receive, send)
        if upload and self.uploads >= MAX_UPLOADS_IN_FLIGHT:
            response = errors.error_response(429, f"file: {self.uploads} uploads are already in progress; retry shortly",
                                             "file", "too_many_uploads", headers={"Retry-After": "5"})
            return await response(scope, receive, send)
        seen = 0
        complete = False

        async def limited_receive():
            nonlocal seen, complete
            if complete:  # later calls wait for the client to hang up: no time limit
                return await receive()
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for runs receive() as a new
                # task, a task per body chunk of every request.
                async with asyncio.timeout(BODY_IDLE_TIMEOUT):
                    message = await receive()
            except TimeoutError:
                raise StarletteHTTPException(408, {"message": f"{field}: the request body stalled for {BODY_IDLE_TIMEOUT:g} s",
                                                   "field": field, "code": "timeout"}) from None
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(413, {"message": f"{field}: request body is larger than the limit of {what}",
                                                       "field": field, "code": "too_large"})
            return message

        if not upload:
            return await self.app(scope, limited_receive, send)
        self.uploads += 1
        try:
            return await self.app(scope, limited_receive, send)
        finally:
            self.uploads -= 1


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    service = KotaeService(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for warning in startup_warnings(settings):
            log.warning("kotae: %s", warning)
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
    app.include_router(documents.jobs_router)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(CancelOnDisconnect)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BrowserGuard, settings=settings)  # outermost: before CORS and everything else

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def serve(settings: Settings) -> None:
    import os
    import sys

    import uvicorn

    from kotae.service.logs import configure

    log_config = configure(settings.log_level)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=log_config,
                log_level=settings.log_level.lower(), timeout_graceful_shutdown=5, **uvicorn_options())
    # Requests are answered and the lifespan has closed the service. What is left is the
    # interpreter's teardown: freeing the tokenizer, the ONNX session, the keyword dictionary and
    # the model (seconds on a busy machine, 10-22 s with torch loaded) and joining worker
    # threads. Nothing in it writes data (the index is published atomically and survives even a
    # kill mid-ingest), so the process ends here.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
