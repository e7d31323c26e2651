"""Documents and passages in SQLite, keyed by the passage's row in the vector index (the local
backend's private numbering)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Sequence

from kotae.ingest.document import Document, Passage

_SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, kind TEXT NOT NULL, encoding TEXT NOT NULL,
    content_hash TEXT NOT NULL, metadata TEXT NOT NULL, page_starts TEXT NOT NULL,
    warnings TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, text TEXT NOT NULL,
    section TEXT, page INTEGER, lang TEXT NOT NULL, kind TEXT NOT NULL, context TEXT NOT NULL
);
CREATE INDEX passages_doc ON passages(doc_id, ordinal);
"""


# (row, passage, document title)
RowPassage = tuple[int, Passage, str]


def create(path: Path, documents: Iterable[Document], passages: Sequence[Passage]) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(_SCHEMA)
        con.executemany(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (d.doc_id, d.title, d.kind, d.encoding, d.content_hash, json.dumps(d.metadata, ensure_ascii=False),
                 json.dumps(list(d.page_starts)), json.dumps(list(d.warnings), ensure_ascii=False), d.text)
                for d in documents
            ],
        )
        con.executemany(
            "INSERT INTO passages VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (row, p.doc_id, p.ordinal, p.char_start, p.char_end, p.text, p.section, p.page, p.lang, p.kind, p.context)
                for row, p in enumerate(passages)
            ],
        )
        con.commit()
    finally:
        con.close()


class MetaStore:
    def __init__(self, path: Path):
        # Read-only and shareable across threads: the service reads from worker threads.
        self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._titles = dict(self._con.execute("SELECT doc_id, title FROM documents"))

    def close(self) -> None:
        self._con.close()

    def passages(self, rows: Sequence[int]) -> list[RowPassage]:
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        found = {
            r[0]: r
            for r in self._con.execute(
                f"SELECT row, doc_id, ordinal, char_start, char_end, text, section, page, lang, kind, context FROM passages WHERE row IN ({marks})",
                [int(r) for r in rows],
            )
        }
        return [self._stored(found[int(r)]) for r in rows if int(r) in found]

    def passages_of(self, doc_id: str) -> list[RowPassage]:
        cur = self._con.execute(
            "SELECT row, doc_id, ordinal, char_start, char_end, text, section, page, lang, kind, context FROM passages WHERE doc_id = ? ORDER BY ordinal",
            (doc_id,),
        )
        return [self._stored(r) for r in cur]

    def _stored(self, r) -> RowPassage:
        return (r[0], Passage(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]), self._titles.get(r[1], r[1]))

    def documents(self) -> list[dict[str, Any]]:
        cur = self._con.execute(
            "SELECT d.doc_id, d.title, d.kind, d.encoding, d.content_hash, d.metadata, d.warnings, length(d.text), "
            "(SELECT count(*) FROM passages p WHERE p.doc_id = d.doc_id) FROM documents d ORDER BY d.doc_id"
        )
        return [
            {"doc_id": r[0], "title": r[1], "kind": r[2], "encoding": r[3], "content_hash": r[4],
             "metadata": json.loads(r[5]), "warnings": json.loads(r[6]), "chars": r[7], "passages": r[8]}
            for r in cur
        ]

    def document(self, doc_id: str) -> Document | None:
        r = self._con.execute(
            "SELECT doc_id, text, title, kind, encoding, content_hash, metadata, page_starts, warnings FROM documents WHERE doc_id = ?",
            (doc_id,),
        ).fetchone()
        if r is None:
            return None
        return Document(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), tuple(json.loads(r[7])), tuple(json.loads(r[8])))
