"""Converted-model folders in the cache: built atomically, checked by a checksum manifest, rebuilt if bad.

A folder is only ever visible under its final name once it is complete and passed its check, so a
crash or a concurrent build never leaves a half-written model that a later run would trust.

The full check (every file's SHA-256 plus the model's known-vector test) costs seconds and a model
load; once it has passed, a marker records each file's size and modification time, and later loads
trust the folder on a stat() of each file (any rewrite, truncation or replacement changes them),
so ``kotae models --prepare`` and start-up are cheap on a verified cache.
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
VERIFIED = "kotae-verified.json"
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
        if p.is_file() and p.name not in (MANIFEST, VERIFIED)
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


def _stat_signature(folder: Path) -> dict[str, list[int]] | None:
    """(size, mtime_ns) of the manifest and every file it lists; None if one is missing."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        names = [MANIFEST, *manifest["files"]]
        return {rel: [(st := (folder / rel).stat()).st_size, st.st_mtime_ns] for rel in names}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_verified(folder: Path, source: dict[str, str]) -> bool:
    """True when the folder passed the full check and no file changed since (stat only, no reads)."""
    try:
        marker = json.loads((folder / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("format") != _FORMAT or marker.get("source") != source:
        return False
    signature = _stat_signature(folder)
    return signature is not None and marker.get("files") == signature


def mark_verified(folder: Path, source: dict[str, str]) -> None:
    signature = _stat_signature(folder)
    if signature is None:
        return
    marker = {"format": _FORMAT, "source": source, "files": signature}
    tmp = folder / f".{VERIFIED}.{os.getpid()}"
    try:
        tmp.write_text(json.dumps(marker, sort_keys=True), encoding="utf-8")
        os.replace(tmp, folder / VERIFIED)
    except OSError:  # a read-only cache still works; it is just fully checked every time
        tmp.unlink(missing_ok=True)


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
    load: Callable[[Path, bool], T],
) -> T:
    """Load ``dest`` with ``load(folder, verify)``, building it first if absent, and rebuilding it
    once if the manifest or ``load`` rejects it. ``verify`` asks ``load`` to prove the model works
    (its known-vector test, raising CacheInvalid); it is False when the folder already passed that
    and has not changed since (is_verified), so a verified cache costs no checksums."""
    if dest.exists():
        try:
            if is_verified(dest, source):
                return load(dest, False)
            check_manifest(dest, source)
            loaded = load(dest, True)
            mark_verified(dest, source)
            return loaded
        except CacheInvalid as exc:
            log.warning("kotae: model cache %s is invalid (%s); rebuilding it", dest, exc)
    _build_atomically(dest, build, source)
    try:
        loaded = load(dest, True)
    except CacheInvalid as exc:
        raise EmbedderError(f"freshly built model cache {dest} is unusable: {exc}") from None
    mark_verified(dest, source)
    return loaded
