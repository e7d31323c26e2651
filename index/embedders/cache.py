"""Converted-model folders in the cache: built atomically, checked by a checksum manifest, rebuilt if bad.

A folder is only ever visible under its final name once it is complete and passed its check, so a
crash or a concurrent build never leaves a half-written model that a later run would trust.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .base import EmbedderError

log = logging.getLogger(__name__)

MANIFEST = "kotae-manifest.json"
_FORMAT = 1
T = TypeVar("T")


class CacheInvalid(Exception):
    """The cached folder exists but cannot be trusted; the message says why."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(folder: Path, source: dict[str, str]) -> None:
    files = {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {"format": _FORMAT, "source": source, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")


def check_manifest(folder: Path, source: dict[str, str]) -> None:
    """Raise CacheInvalid unless every file listed is present with its recorded size and checksum.

    ``source`` names what the folder was built from (package versions): a folder built from an
    older package is stale even if intact.
    """
    path = folder / MANIFEST
    if not path.is_file():
        raise CacheInvalid("no manifest (an interrupted or foreign build)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files: dict[str, dict] = manifest["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CacheInvalid(f"unreadable manifest ({exc})") from None
    if manifest.get("format") != _FORMAT or manifest.get("source") != source:
        raise CacheInvalid(f"built from {manifest.get('source')}, now installed: {source}")
    for rel, expected in files.items():
        file = folder / rel
        if not file.is_file():
            raise CacheInvalid(f"{rel} is missing")
        if file.stat().st_size != expected["size"]:
            raise CacheInvalid(f"{rel} has the wrong size (truncated?)")
        if _sha256(file) != expected["sha256"]:
            raise CacheInvalid(f"{rel} does not match its checksum")


def _build_atomically(dest: Path, build: Callable[[Path], None], source: dict[str, str]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-", dir=dest.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would hide the model from a service running as another user
    try:
        build(tmp)
        write_manifest(tmp, source)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except OSError as exc:
        # Another process may have finished the same build first; its folder is as good as ours.
        if not dest.is_dir():
            raise EmbedderError(f"could not write the model cache at {dest}: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_verified(
    dest: Path,
    *,
    build: Callable[[Path], None],
    source: dict[str, str],
    load: Callable[[Path], T],
) -> T:
    """Load ``dest`` with ``load`` (which raises CacheInvalid if the model misbehaves), building it
    first if absent, and rebuilding it once if the manifest or ``load`` rejects it."""
    if dest.exists():
        try:
            check_manifest(dest, source)
            return load(dest)
        except CacheInvalid as exc:
            log.warning("kotae: model cache %s is invalid (%s); rebuilding it", dest, exc)
    _build_atomically(dest, build, source)
    try:
        return load(dest)
    except CacheInvalid as exc:
        raise EmbedderError(f"freshly built model cache {dest} is unusable: {exc}") from None
