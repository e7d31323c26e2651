"""Upload jobs: a large upload is read and embedded in the background, one at a time, while
the client polls GET /v1/jobs/{id}; small uploads and deletes never wait behind it (the job
holds the index write lock only to publish). At most `capacity` jobs wait or run; past that
the upload gets 429."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from kotae.service.failures import ServiceError

log = logging.getLogger("kotae.service")
KEEP_FINISHED = 200  # finished jobs remembered for GET /v1/jobs/{id}


@dataclass
class Job:
    id: str
    doc_id: str
    passages: int
    status: str = "queued"  # queued, embedding, indexing, done, failed
    embedded: int = 0
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        return self.status not in ("done", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "doc_id": self.doc_id, "status": self.status, "passages": self.passages,
                "embedded": self.embedded, "progress": round(self.embedded / self.passages, 3) if self.passages else 0.0,
                "created_at": self.created_at, "finished_at": self.finished_at, "result": self.result, "error": self.error}


class Jobs:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._tasks: set[asyncio.Task] = set()
        self._one: asyncio.Semaphore | None = None

    def active(self) -> int:
        return sum(1 for j in self._jobs.values() if j.active)

    def submit(self, doc_id: str, passages: int, work: Callable[[Job], Awaitable[dict[str, Any]]]) -> Job:
        if self.active() >= self.capacity:
            raise ServiceError(429, f"file: {self.capacity} large uploads are already being indexed "
                                    "(KOTAE_UPLOAD_JOBS); retry when one has finished", "file", "too_many_jobs",
                               {"Retry-After": "10"})
        job = Job(uuid.uuid4().hex, doc_id, passages)
        self._jobs[job.id] = job
        task = asyncio.get_running_loop().create_task(self._run(job, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise ServiceError(404, f"job_id: no job {job_id[:64]!r}", "job_id", "not_found")
        return job

    async def _run(self, job: Job, work: Callable[[Job], Awaitable[dict[str, Any]]]) -> None:
        if self._one is None:
            self._one = asyncio.Semaphore(1)
        async with self._one:
            try:
                job.result = await work(job)
                job.status = "done"
            except ServiceError as exc:
                job.status, job.error = "failed", {"message": exc.message, "field": exc.field, "code": exc.code}
            except Exception as exc:  # noqa: BLE001 - reported on the job, never lost
                log.exception("upload job %s for %r failed", job.id, job.doc_id)
                job.status, job.error = "failed", {"message": f"internal error: {type(exc).__name__}", "field": None,
                                                   "code": "internal_error"}
            finally:
                job.finished_at = time.time()
        finished = [j.id for j in self._jobs.values() if not j.active]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job_id]

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
