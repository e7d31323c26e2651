"""Any sentence-transformers model the user names, by hub id or local folder."""

from __future__ import annotations

import re
from pathlib import Path

from sentence_transformers import SentenceTransformer

from .base import EmbedderError, EmbedderInfo
from .st_embedder import E5_PREFIXES, Prefixes, STEmbedder, tokenizer_counter

# "intfloat/multilingual-e5-small", ".../e5-base-v2", "e5_large": e5 as a name component.
_E5_NAME = re.compile(r"(^|[-_/.])e5([-_/.]|$)", re.IGNORECASE)


def prefixes_for(name: str) -> Prefixes:
    return E5_PREFIXES if _E5_NAME.search(name.rstrip("/")) else Prefixes()


def _looks_like_path(name: str) -> bool:
    # A hub id is "owner/model"; anything else with a separator or a leading . / ~ is meant as a path.
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load(name: str) -> STEmbedder:
    path = Path(name).expanduser()
    is_local = path.is_dir()
    if not is_local and _looks_like_path(name):
        raise EmbedderError(f"embedding model folder {name} does not exist")
    try:
        model = SentenceTransformer(str(path) if is_local else name, device="cpu", local_files_only=is_local)
    except Exception as exc:  # ST raises many types (OSError, ValueError, HF errors); all mean "unusable"
        where = f"folder {path}" if is_local else f"{name!r} (not a local folder; the model hub may be unreachable)"
        raise EmbedderError(f"cannot load embedding model {where}: {_first_line(exc)}") from None
    dim = model.get_embedding_dimension()
    if dim is None:
        raise EmbedderError(f"embedding model {name!r} does not declare its embedding dimension")
    info = EmbedderInfo(
        name=name,
        dim=dim,
        max_tokens=model.max_seq_length or model.tokenizer.model_max_length,
        source=str(path.resolve()) if is_local else name,
    )
    return STEmbedder(model, info, prefixes_for(name), tokenizer_counter(model))
