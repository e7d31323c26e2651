"""Which files under a corpus folder are documents, and their document ids."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kotae.ingest.docid import validate_doc_id

SUPPORTED_SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".pdf": "pdf"}


@dataclass(frozen=True)
class SourceFile:
    doc_id: str
    path: Path
    kind: str


@dataclass(frozen=True)
class Skipped:
    doc_id: str
    reason: str


def discover(corpus_dir: Path) -> tuple[list[SourceFile], list[Skipped]]:
    """Walk the corpus recursively. Symlinks are followed only while they stay inside
    the corpus, and each real directory is visited once, so loops end."""
    root = corpus_dir.resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder {corpus_dir} does not exist or is not a folder")
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    seen_dirs: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = Path(dirpath).resolve()
        if real in seen_dirs or not real.is_relative_to(root):
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            doc_id = path.relative_to(root).as_posix()
            kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
            if kind is None:
                continue
            try:
                validate_doc_id(doc_id)
            except ValueError as exc:
                # The id is reported in a printable form; the file is not read.
                skipped.append(Skipped(printable_id(doc_id), f"file name cannot be a document id: {exc}"))
                continue
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                skipped.append(Skipped(doc_id, "broken or looping symbolic link"))
                continue
            if not target.is_relative_to(root):
                skipped.append(Skipped(doc_id, "symbolic link points outside the corpus; not followed"))
                continue
            if not target.is_file():
                continue
            found.append(SourceFile(doc_id, path, kind))
    found.sort(key=lambda f: f.doc_id)
    return found, skipped


def printable_id(doc_id: str) -> str:
    """A file name that is not valid UTF-8 or holds control characters, made safe to print
    and to store (JSON, SQLite): undecodable bytes as \\xNN, controls as \\uNNNN."""
    raw = doc_id.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() or ch == " " else f"\\u{ord(ch):04x}" for ch in raw)
