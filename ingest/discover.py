"""Which files under a corpus folder are documents, and their document ids."""

from __future__ import annotations

import os
import unicodedata
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


class CorpusUnavailable(FileNotFoundError):
    """The corpus folder is missing or cannot be read. Never "no documents": an index built
    from it would drop every document it holds."""


def check_corpus(corpus_dir: Path) -> Path:
    """The resolved corpus folder, or CorpusUnavailable saying what is wrong with it."""
    root = Path(corpus_dir).resolve()
    if not root.is_dir():
        raise CorpusUnavailable(f"corpus folder {corpus_dir} does not exist or is not a folder")
    if not os.access(root, os.R_OK | os.X_OK):
        raise CorpusUnavailable(f"corpus folder {corpus_dir} cannot be read (permission denied)")
    return root


def discover(corpus_dir: Path) -> tuple[list[SourceFile], list[Skipped]]:
    """Walk the corpus recursively. Symlinks are followed only while they stay inside
    the corpus, and each real directory is visited once, so loops end. A sub-folder that
    cannot be read is reported as skipped; two names that differ only in Unicode
    normalisation (NFC/NFD, e.g. a file copied from macOS) are one document id: the
    first is indexed, the other skipped."""
    root = check_corpus(corpus_dir)
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    seen_dirs: set[Path] = set()
    seen_ids: dict[str, str] = {}

    def unreadable(exc: OSError) -> None:
        if exc.filename is not None and Path(exc.filename).resolve() != root:
            skipped.append(Skipped(printable_id(Path(exc.filename).relative_to(root).as_posix()) + "/",
                                   f"folder cannot be read ({exc.strerror}); its documents are not indexed"))
        else:
            raise CorpusUnavailable(f"corpus folder {corpus_dir} cannot be read ({exc.strerror})")

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable):
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
            twin = seen_ids.setdefault(unicodedata.normalize("NFC", doc_id), doc_id)
            if twin != doc_id:
                skipped.append(Skipped(printable_id(doc_id), f"same name as {twin!r} in another Unicode normalisation (NFC/NFD)"))
                continue
            found.append(SourceFile(doc_id, path, kind))
    found.sort(key=lambda f: f.doc_id)
    return found, skipped


def printable_id(doc_id: str) -> str:
    """A file name that is not valid UTF-8 or holds control characters, made safe to print
    and to store (JSON, SQLite): undecodable bytes as \\xNN, controls as \\uNNNN."""
    raw = doc_id.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() or ch == " " else f"\\u{ord(ch):04x}" for ch in raw)
