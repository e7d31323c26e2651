"""Local index directory layout and atomic publication.

    <index_dir>/CURRENT                  name of the live generation, replaced atomically
    <index_dir>/gen-<id>/                one generation: manifest (its segments, documents) and
                                         the rows deleted from each segment; immutable
    <index_dir>/segments/seg-<id>/       one immutable segment (vectors, keyword postings, SQLite);
                                         shared by every generation that lists it
    <index_dir>/.build-<id>/, segments/.build-<id>/   being written; never read
    <index_dir>/.lock                    held by the one process that is writing

A segment is complete and synced before any manifest names it; a reader resolves CURRENT once
and reads only what that generation lists, so an ingest that dies at any point leaves the
previous generation fully usable.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from kotae.index.backends.base import IndexLockedError

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
SEGMENTS = "segments"
FORMAT_VERSION = 3


def current_generation(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    gen = index_dir / name
    return gen if name.startswith("gen-") and (gen / MANIFEST).is_file() else None


def read_manifest(generation: Path) -> dict[str, Any]:
    return json.loads((generation / MANIFEST).read_text(encoding="utf-8"))


@contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexLockedError(f"another ingest is writing {index_dir}; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_build_dir(index_dir: Path) -> Path:
    path = index_dir / f".build-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


def fsync_tree(path: Path) -> None:
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(index_dir: Path, build_dir: Path, manifest: dict[str, Any]) -> Path:
    """Make a finished build the live generation, then remove the ones it replaces."""
    # compact: indented output goes through json's pure-Python encoder, ~10x slower on the
    # per-document maps of a large index
    (build_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    fsync_tree(build_dir)
    generation = index_dir / ("gen-" + build_dir.name.removeprefix(".build-"))
    os.rename(build_dir, generation)
    pointer = index_dir / f".{CURRENT}.tmp"
    pointer.write_text(generation.name + "\n")
    with open(pointer, "rb") as f:
        os.fsync(f.fileno())
    os.replace(pointer, index_dir / CURRENT)
    remove_stale(index_dir)
    return generation


def remove_stale(index_dir: Path) -> list[str]:
    """Builds left by a killed ingest, generations no longer live and segments no live generation
    lists. Call under the lock. Readers that still have them open keep their open files (POSIX)."""
    live = current_generation(index_dir)
    used = {s["name"] for s in read_manifest(live).get("segments", [])} if live is not None else set()
    removed = []
    for p in index_dir.iterdir():
        stale_build = p.name.startswith(".build-")
        old_generation = p.name.startswith("gen-") and (live is None or p.name != live.name)
        if p.is_dir() and (stale_build or old_generation):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    segments = index_dir / SEGMENTS
    for p in segments.iterdir() if segments.is_dir() else ():
        if p.is_dir() and p.name not in used:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(f"{SEGMENTS}/{p.name}")
    return removed
