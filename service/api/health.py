"""Liveness and readiness."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from kotae import __version__
from kotae.service.api.deps import get_service
from kotae.service.api.schemas import Health, Readiness
from kotae.service.core import KotaeService

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz(service: KotaeService = Depends(get_service)) -> Health:
    return Health(version=__version__, uptime_s=round(time.time() - service.started, 1))


@router.get("/readyz", response_model=Readiness, summary="The index and the embedding model are loaded",
            responses={503: {"model": Readiness, "description": "still loading, or the index could not be opened"}})
async def readyz(service: KotaeService = Depends(get_service)):
    s = service.status()
    if not s.pop("ready"):
        return JSONResponse(Readiness(status="not_ready", **s).model_dump(), status_code=503, headers={"Retry-After": "2"})
    return Readiness(status="ready", **s)
