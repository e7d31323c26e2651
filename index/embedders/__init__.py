"""Text embedders behind one interface: the bundled e5-small (default), USE-multilingual, or any
sentence-transformers model. See base.py for the interface."""

from __future__ import annotations

from pathlib import Path

from .base import Embedder, EmbedderError, EmbedderInfo
from .bundled import BundledModel
from .cache import CacheInvalid, check_manifest, is_verified
from .e5_small import E5_SMALL
from .use_multilingual import USE_MULTILINGUAL

BUNDLED: dict[str, BundledModel] = {m.name: m for m in (E5_SMALL, USE_MULTILINGUAL)}

__all__ = ["BUNDLED", "Embedder", "EmbedderError", "EmbedderInfo", "describe_models", "load_embedder", "prepare_embedder"]


# Query encoding: "auto" = ONNX Runtime float32 for the bundled e5 (onnx_query.py), torch for the
# rest; "onnx-int8" = int8 weights (faster, loses gold-set points); passages always go to torch.
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
_ONNX_MODELS = (E5_SMALL.name,)


def load_embedder(name: str, cache_dir: Path, backend: str = "auto") -> Embedder:
    """A ready embedder; raises EmbedderError with a one-line reason if it cannot be made usable."""
    if backend not in BACKENDS:
        raise EmbedderError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "onnx" if name in _ONNX_MODELS else "torch"
    if backend != "torch" and name not in _ONNX_MODELS:
        raise EmbedderError(f"embedder {name!r} has no ONNX query path; use KOTAE_EMBED_BACKEND=torch")
    if name == E5_SMALL.name:
        from .e5_small import load as load_e5

        try:
            return load_e5(Path(cache_dir), query_backend=backend)
        except EmbedderError:
            raise
        except Exception as exc:  # an export that fails is reported in one line, like any model problem
            raise EmbedderError(f"could not prepare the {backend} query encoder for {name!r}: {str(exc).splitlines()[0]}") from None
    bundled = BUNDLED.get(name)
    if bundled:
        return bundled.load(Path(cache_dir))
    from . import generic

    return generic.load(name)


def prepare_embedder(name: str, cache_dir: Path, backend: str = "auto") -> EmbedderInfo:
    """Build and verify what the model needs in the cache (``kotae models --prepare``). A cache
    verified before is a no-op: a stat() of each file, no checksums, no model load."""
    if backend == "auto":
        backend = "onnx" if name in _ONNX_MODELS else "torch"
    if name == E5_SMALL.name:
        from .e5_small import prepared_info

        info = prepared_info(Path(cache_dir), backend)
        if info is not None:
            return info
    return load_embedder(name, cache_dir, backend).info


def _describe_bundled(model: BundledModel, cache_dir: Path, default: str) -> dict:
    versions = model.versions()
    folder = model.folder(cache_dir)
    installed = all(v is not None for v in versions.values())
    verified = False
    if installed and folder.is_dir():
        try:
            source = model.source()
            if not is_verified(folder, source):
                check_manifest(folder, source)
            verified = True
        except (CacheInvalid, EmbedderError):
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
