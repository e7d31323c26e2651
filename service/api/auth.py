"""Optional API key: `Authorization: Bearer <KOTAE_API_KEY>`, compared in constant time.

Writes (upload, delete) need the key whenever one is set; reads (search, ask, chat, documents)
need it too unless KOTAE_READ_AUTH=0. Without a key set, everything is open.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kotae.settings import Settings

bearer = HTTPBearer(auto_error=False, description="KOTAE_API_KEY, when the server has one")


def _check(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> None:
    key = settings.api_key
    if not key:
        return
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, {"message": "Authorization: missing API key; send 'Authorization: Bearer <key>'",
                                  "field": "Authorization", "code": "unauthorized"},
                            headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode("utf-8"), key.encode("utf-8")):
        raise HTTPException(401, {"message": "Authorization: invalid API key", "field": "Authorization", "code": "unauthorized"},
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


# async although they never wait: a plain def dependency would run on a worker thread (deps.py)
async def require_read(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    settings: Settings = request.app.state.settings
    if settings.read_auth:
        _check(settings, credentials)


async def require_write(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    _check(request.app.state.settings, credentials)
