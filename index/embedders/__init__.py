"""Text embedders behind one interface: the bundled e5-small (default), USE-multilingual, or any
sentence-transformers model. See base.py for the interface."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from . import generic
from .base import Embedder, EmbedderError, EmbedderInfo
from .bundled import BundledModel
from .cache import CacheInvalid, check_manifest
from .e5_small import E5_SMALL
from .use_multilingual import USE_MULTILINGUAL

BUNDLED: dict[str, BundledModel] = {m.name: m for m in (E5_SMALL, USE_MULTILINGUAL)}

__all__ = ["BUNDLED", "Embedder", "EmbedderError", "EmbedderInfo", "describe_models", "load_embedder"]


BACKENDS = ("torch", "onnx")


def load_embedder(name: str, cache_dir: Path, backend: str = "torch") -> Embedder:
    """A ready embedder; raises EmbedderError with a one-line reason if it cannot be made usable.

    ``backend="onnx"``: queries are encoded by ONNX Runtime int8 (onnx_query.py); passages by torch."""
    if backend not in BACKENDS:
        raise EmbedderError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    # torch defaults to physical cores at best; encoding is compute-bound, so use every core.
    torch.set_num_threads(os.cpu_count() or 1)
    bundled = BUNDLED.get(name)
    embedder = bundled.load(Path(cache_dir)) if bundled else generic.load(name)
    if backend == "onnx":
        if not hasattr(embedder, "use_onnx_queries"):
            raise EmbedderError(f"embedder {name!r} has no ONNX query path; use KOTAE_EMBED_BACKEND=torch")
        source = bundled.source() if bundled else {"model": name}
        try:
            embedder.use_onnx_queries(source)
        except Exception as exc:  # an export that fails is reported in one line, like any model problem
            raise EmbedderError(f"could not prepare the ONNX query encoder for {name!r}: {str(exc).splitlines()[0]}") from None
    return embedder


def _describe_bundled(model: BundledModel, cache_dir: Path, default: str) -> dict:
    versions = model.versions()
    folder = model.folder(cache_dir)
    installed = all(v is not None for v in versions.values())
    verified = False
    if installed and folder.is_dir():
        try:
            check_manifest(folder, model.source())
            verified = True
        except CacheInvalid:
            pass
    return {
        "name": model.name,
        "installed": installed,
        "packages": versions,
        "cache": str(folder),
        "cache_present": folder.is_dir(),
        "cache_verified": verified,
        "dim": model.dim,
        "is_default": model.name == default,
    }


def describe_models(cache_dir: Path, default: str) -> list[dict]:
    """One entry per known embedder, for ``kotae models``; cheap: checksums only, no model load.

    A default that is not bundled is listed too, without loading it (that could mean a download).
    """
    rows = [_describe_bundled(m, Path(cache_dir), default) for m in BUNDLED.values()]
    if default not in BUNDLED:
        local = Path(default).expanduser().is_dir()
        rows.append(
            {
                "name": default,
                "installed": local,
                "packages": {},
                "cache": str(Path(default).expanduser()) if local else None,
                "cache_present": local,
                "cache_verified": None,
                "dim": None,
                "is_default": True,
            }
        )
    return rows
