"""Documents: list, read (metadata + original text, so citation offsets can be opened),
upload (multipart; the corpus folder gets the file, then an incremental ingest), delete."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, File, Form, Path, Response, UploadFile
from fastapi.responses import JSONResponse

from kotae.service.api.auth import require_read, require_write
from kotae.service.api.deps import errors, get_service, get_settings
from kotae.service.api.schemas import DeleteResponse, DocumentDetail, DocumentList, JobInfo, UploadResponse
from kotae.service.core import KotaeService, ServiceError
from kotae.settings import Settings, mb_bytes

router = APIRouter(prefix="/v1/documents", tags=["documents"])

DOC_ID = Path(description="document id: its path relative to the corpus folder (may contain '/')",
              examples=["004_80795f28c2f237e0.txt"])


@router.get("", response_model=DocumentList, summary="Indexed documents, and files that could not be indexed",
            dependencies=[Depends(require_read)], responses=errors(401, 503))
async def list_documents(service: KotaeService = Depends(get_service)) -> DocumentList:
    return DocumentList(**await service.documents())


@router.get("/{doc_id:path}", response_model=DocumentDetail, summary="One document: metadata and original text",
            dependencies=[Depends(require_read)], responses=errors(401, 404, 503))
async def get_document(doc_id: str = DOC_ID, service: KotaeService = Depends(get_service)) -> DocumentDetail:
    return DocumentDetail(**await service.document(doc_id))


@router.post("", response_model=UploadResponse, status_code=201,
             summary="Upload a .txt, .md or .pdf file and index it (incremental)",
             description="Multipart form: `file`, and optionally `doc_id` (the path to store it under in the corpus "
                         "folder; default: the uploaded file name). An existing document with the same id is replaced "
                         "(200). Searches keep being served while the upload is indexed; the new index is swapped in "
                         "atomically when it is complete. A large file (more passages than KOTAE_SYNC_UPLOAD_PASSAGES) "
                         "is indexed as a job: 202 with the job, whose progress `GET /v1/jobs/{id}` reports.",
             dependencies=[Depends(require_write)],
             responses={200: {"model": UploadResponse, "description": "an existing document was replaced"},
                        202: {"model": JobInfo, "description": "a large file: indexed in the background (see Location)"},
                        **errors(401, 403, 409, 413, 415, 422, 429, 503)})
async def upload_document(response: Response, file: UploadFile = File(description="the document: .txt, .md, .markdown or .pdf"),
                          doc_id: Optional[str] = Form(None, description="store as this document id (relative path)"),
                          service: KotaeService = Depends(get_service), settings: Settings = Depends(get_settings)) -> UploadResponse:
    name = doc_id if doc_id else (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    if not name:
        raise ServiceError(422, "file: the upload has no file name; send one or give doc_id", "file")
    limit = mb_bytes(settings.max_upload_mb)
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(413, f"file: larger than the limit of {settings.max_upload_mb:g} MB (KOTAE_MAX_UPLOAD_MB)", "file", "too_large")
    status, result = await service.upload(name, data)
    if status == 202:
        job = JobInfo(**result)
        return JSONResponse(job.model_dump(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})
    response.status_code = status
    return UploadResponse(**result)


@router.delete("/{doc_id:path}", response_model=DeleteResponse, summary="Remove a document from the corpus folder and the index",
               dependencies=[Depends(require_write)], responses=errors(401, 403, 404, 409, 422, 503))
async def delete_document(doc_id: str = DOC_ID, service: KotaeService = Depends(get_service)) -> DeleteResponse:
    return DeleteResponse(**await service.delete(doc_id))


jobs_router = APIRouter(prefix="/v1/jobs", tags=["documents"])


@jobs_router.get("/{job_id}", response_model=JobInfo, summary="A large upload being indexed: status and progress",
                 dependencies=[Depends(require_write)], responses=errors(401, 404))
async def get_job(job_id: str, service: KotaeService = Depends(get_service)) -> JobInfo:
    return JobInfo(**service.job(job_id))
