"""Document ids (docs/CONTRACTS.md §1: the path relative to the corpus root, `/`-separated) that
cannot name anything outside the corpus.

`validate_doc_id` is the one check for ids from outside (HTTP paths and bodies, CLI
arguments, file names found by ingest); `resolve_doc_path` turns a valid id into a path
that is guaranteed to stay inside the corpus, symbolic links included.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

MAX_DOC_ID_CHARS = 1024
MAX_SEGMENT_BYTES = 255  # NAME_MAX of common file systems
_DRIVE = re.compile(r"\A[A-Za-z]:")


def validate_doc_id(doc_id: object) -> str:
    """Return `doc_id` unchanged if it is a safe relative document id, else raise ValueError
    with a message that can be shown to the user (it never echoes the id itself)."""
    if not isinstance(doc_id, str):
        raise ValueError("document id must be a string")
    if not doc_id:
        raise ValueError("document id is empty")
    if len(doc_id) > MAX_DOC_ID_CHARS:
        raise ValueError(f"document id is longer than {MAX_DOC_ID_CHARS} characters")
    for ch in doc_id:
        o = ord(ch)
        if o == 0:
            raise ValueError("document id contains a NUL byte")
        if 0xD800 <= o <= 0xDFFF:
            raise ValueError("document id is not valid Unicode (undecodable file name bytes)")
        if unicodedata.category(ch) == "Cc":
            raise ValueError("document id contains control characters")
    if "\\" in doc_id:
        raise ValueError("document id contains a backslash; use '/' between folders")
    if doc_id.startswith("/") or _DRIVE.match(doc_id):
        raise ValueError("document id must be relative to the corpus, not an absolute path")
    for segment in doc_id.split("/"):
        if segment == "":
            raise ValueError("document id has an empty path segment ('//' or a trailing '/')")
        if segment in (".", ".."):
            raise ValueError("document id may not contain '.' or '..' path segments")
        if segment.startswith("."):
            # discovery skips hidden files, so such a document could never be indexed
            raise ValueError("document id may not have a part starting with '.' (hidden files are not documents)")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise ValueError(f"document id has a path segment longer than {MAX_SEGMENT_BYTES} bytes")
    return doc_id


def resolve_doc_path(corpus_dir: Path, doc_id: str) -> Path:
    """The file of `doc_id` under `corpus_dir`; ValueError if the id is unsafe or if the
    path, after following symbolic links, would leave the corpus."""
    validate_doc_id(doc_id)
    root = Path(corpus_dir).resolve()
    path = (root / doc_id).resolve()
    if not path.is_relative_to(root) or path == root:
        raise ValueError("document id points outside the corpus")
    return path
