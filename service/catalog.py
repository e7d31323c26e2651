"""Reading the corpus as indexed: the document list (with files that could not be indexed and
documents whose file and index disagree) and one document with its text and passages."""

from __future__ import annotations

import unicodedata
from concurrent.futures import Executor
from typing import Any

from kotae.ingest.docid import validate_doc_id
from kotae.service.failures import ServiceError
from kotae.service.generations import Generations
from kotae.service.writes import DocumentWriter


class Catalog:
    def __init__(self, generations: Generations, reader: Executor, writes: DocumentWriter):
        self.generations = generations
        self._reader = reader
        self._writes = writes

    async def documents(self) -> dict[str, Any]:
        with self.generations.lease() as retriever:
            docs = await self.generations.run(self._reader, retriever, retriever.backend.documents)
            files = retriever.backend.manifest.get("files", {})
        for d in docs:
            d["status"] = "indexed"
            d["warnings"] = d.get("warnings") or files.get(d["doc_id"], {}).get("warnings", [])
        indexed = {d["doc_id"] for d in docs}
        skipped = [{"doc_id": doc_id, "status": f.get("status", "skipped"), "reason": f.get("reason", "")}
                   for doc_id, f in sorted(files.items()) if doc_id not in indexed]
        return {"documents": docs, "skipped": skipped, "drift": list(self._writes.drift), "reindexing": self._writes.reindexing}

    async def document(self, doc_id: str) -> dict[str, Any]:
        try:
            validate_doc_id(doc_id)
        except ValueError as exc:
            raise ServiceError(404, f"doc_id: no such document ({exc})", "doc_id", "not_found") from None
        with self.generations.lease() as retriever:
            doc_id = _indexed_spelling(retriever.backend.manifest.get("files", {}), doc_id)
            doc = await self.generations.run(self._reader, retriever, retriever.backend.document, doc_id)
            if doc is None:
                raise ServiceError(404, f"doc_id: no document with id {doc_id[:300]!r}", "doc_id", "not_found")
            passages = []
            if hasattr(retriever.backend, "meta"):
                stored = await self.generations.run(self._reader, retriever, retriever.backend.meta.passages_of, doc_id)
                passages = [{"char_start": s.passage.char_start, "char_end": s.passage.char_end, "section": s.passage.section,
                             "page": s.passage.page, "lang": s.passage.lang} for s in stored]
        return {"doc_id": doc.doc_id, "title": doc.title, "kind": doc.kind, "encoding": doc.encoding,
                "content_hash": doc.content_hash, "metadata": doc.metadata, "page_starts": list(doc.page_starts),
                "warnings": list(doc.warnings), "chars": len(doc.text), "text": doc.text, "passages": passages}


def _indexed_spelling(files: dict[str, Any], doc_id: str) -> str:
    """`doc_id` as the index spells it when they differ only in Unicode normalisation."""
    if doc_id in files:
        return doc_id
    nfc = unicodedata.normalize("NFC", doc_id)
    return next((known for known in files if unicodedata.normalize("NFC", known) == nfc), doc_id)
