"""Every error is JSON naming the field and the problem, in a shape OpenAI clients also read:

    {"error": {"message": "question: must not be empty", "type": "invalid_request_error",
               "code": "validation_error", "param": "question", "field": "question",
               "details": [{"field": "question", "problem": "must not be empty"}]}}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kotae.service.failures import ServiceError

log = logging.getLogger("kotae.service")

_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 409: "conflict_error",
          413: "invalid_request_error", 415: "invalid_request_error", 422: "invalid_request_error",
          429: "rate_limit_error", 503: "service_unavailable"}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "validation_error",
          429: "too_many_requests", 503: "not_ready"}


def error_body(status: int, message: str, field: str | None = None, code: str | None = None,
               details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {
        "message": message,
        "type": _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error"),
        "code": code or _CODES.get(status, "error"),
        "param": field,
        "field": field,
        "details": details if details is not None else [{"field": field, "problem": message}],
    }}


def error_response(status: int, message: str, field: str | None = None, code: str | None = None,
                   details: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, field, code, details), status_code=status, headers=headers)


def _field(loc: tuple, kind: str | None = None) -> str | None:
    if kind == "json_invalid":
        return "body"  # its loc holds a character position, not a field
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "form", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or ("body" if loc and loc[0] == "body" else None)


def _problem(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "is invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if err.get("type") == "missing":
        return "is required"
    if err.get("type") == "extra_forbidden":
        return "is not a known field"
    if err.get("type") == "json_invalid":
        loc = err.get("loc", ())
        at = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        return f"is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')}{at})"
    return msg[:1].lower() + msg[1:]


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError):
        return error_response(exc.status, exc.message, exc.field, exc.code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        details = [{"field": _field(tuple(e.get("loc", ())), e.get("type")), "problem": _problem(e)} for e in exc.errors()]
        first = details[0] if details else {"field": None, "problem": "invalid request"}
        message = "; ".join(f"{d['field']}: {d['problem']}" if d["field"] else d["problem"] for d in details[:5])
        return error_response(422, message, first["field"], "validation_error", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if isinstance(exc.detail, dict) and "message" in exc.detail:
            d = exc.detail
            return error_response(exc.status_code, d["message"], d.get("field"), d.get("code"), headers=exc.headers)
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        return error_response(exc.status_code, message, None, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}", None, "internal_error")
