"""File operations on the corpus folder for uploads and deletes, each one undoable until
the index has taken it, and recoverable after a crash.

* A write goes to a temporary file that is renamed over the target, mode 0644 minus the
  umask (a document is as readable as the folder's other files).
* A delete first renames the file to a hidden name (discovery skips hidden files); once the
  index no longer has the document the hidden copy is removed, and if the index update
  failed it is renamed back. A crash in between leaves the hidden copy, which start-up
  puts back (never lose a document the client was not told is gone).
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kotae.ingest.discover import CorpusUnavailable as CorpusMissing, check_corpus
from kotae.ingest.docid import resolve_doc_path
from kotae.service.failures import CorpusUnavailable, ServiceError

UPLOAD_PREFIX = ".upload-"
DELETING_PREFIX = ".kotae-deleting-"


def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


FILE_MODE = 0o644 & ~_umask()


def corpus_root(corpus_dir: Path) -> Path:
    """The corpus folder, or 503: writing into a missing folder would recreate it holding one
    file, and the next ingest would drop every other document."""
    try:
        root = check_corpus(corpus_dir)
    except CorpusMissing as exc:
        raise CorpusUnavailable(f"the corpus folder (KOTAE_CORPUS_DIR) is unavailable: {_reason(exc)}; "
                                "nothing was changed") from None
    if not os.access(root, os.W_OK):
        raise CorpusUnavailable("the corpus folder (KOTAE_CORPUS_DIR) is not writable; nothing was changed")
    return root


def _reason(exc: Exception) -> str:
    """Why, without the server's file system paths (the message goes to HTTP clients)."""
    text = str(exc)
    for marker, reason in (("does not exist", "it does not exist"), ("cannot be read", "it cannot be read"),
                           ("holds no documents", "it holds no documents while the index has some")):
        if marker in text:
            return reason
    return "it cannot be used"


def resolve(root: Path, doc_id: str) -> tuple[str, Path]:
    """The document id as spelt on disk and its file. The id is NFC-normalised, and an
    existing file or folder whose name differs only in normalisation (NFD from macOS) is
    reused, so one name is never two documents. 422/409 for ids that cannot be files."""
    doc_id = unicodedata.normalize("NFC", doc_id)
    try:
        resolve_doc_path(root, doc_id)
    except ValueError as exc:
        raise ServiceError(422, f"doc_id: {exc}; use a relative path like 'notes/q3.md'", "doc_id") from None
    segments = doc_id.split("/")
    parts, here = [], root
    for i, segment in enumerate(segments):
        name = _existing_spelling(here, segment)
        parts.append(name)
        here = here / name
        if i < len(segments) - 1 and here.exists() and not here.is_dir():
            raise ServiceError(409, f"doc_id: {'/'.join(parts)!r} is a document, so it cannot hold other documents",
                               "doc_id", "conflict")
    doc_id = "/".join(parts)
    path = resolve_doc_path(root, doc_id)
    if path.is_dir():
        raise ServiceError(409, f"doc_id: {doc_id!r} is a folder of the corpus; give a file name inside it", "doc_id", "conflict")
    return doc_id, path


def _existing_spelling(folder: Path, name: str) -> str:
    if (folder / name).exists() or not folder.is_dir():
        return name
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if unicodedata.normalize("NFC", entry.name) == name:
                    return entry.name
    except OSError:
        pass
    return name


@dataclass
class Written:
    """An upload's file change, to undo if the index does not take it."""

    path: Path
    previous: bytes | None
    created_dirs: list[Path] = field(default_factory=list)

    def undo(self, root: Path) -> None:
        if self.previous is None:
            self.path.unlink(missing_ok=True)
            remove_empty_parents(self.path, root)
        else:
            write_file(root, self.path, self.previous)


def write_file(root: Path, path: Path, data: bytes) -> Written:
    previous = path.read_bytes() if path.is_file() else None
    created = [p for p in reversed(path.parents) if p.is_relative_to(root) and p != root and not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=UPLOAD_PREFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), FILE_MODE)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Written(path, previous, created)


def set_aside(path: Path) -> Path | None:
    """Hide `path` from discovery (the first step of a delete); None if it is not there."""
    if not path.is_file():
        return None
    hidden = path.with_name(f"{DELETING_PREFIX}{uuid.uuid4().hex[:8]}-{path.name}")
    os.rename(path, hidden)
    return hidden


def put_back(hidden: Path) -> None:
    original = hidden.with_name(hidden.name[len(DELETING_PREFIX) + 9 :])
    if original.exists():  # written again since: the newer file wins
        hidden.unlink(missing_ok=True)
    else:
        os.rename(hidden, original)


def remove_empty_parents(path: Path, root: Path) -> None:
    for folder in path.parents:
        if folder == root or not folder.is_relative_to(root):
            return
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): stop here
            return


def recover(root: Path) -> list[str]:
    """After a crash: put back files of unfinished deletes, drop unfinished uploads' temporary
    files. Returns what was done, for the log."""
    done = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            p = Path(dirpath) / name
            if name.startswith(DELETING_PREFIX):
                put_back(p)
                done.append(f"restored {p.relative_to(root)} (a delete did not finish)")
            elif name.startswith(UPLOAD_PREFIX):
                p.unlink(missing_ok=True)
                done.append(f"removed {p.relative_to(root)} (an upload did not finish)")
    return done
