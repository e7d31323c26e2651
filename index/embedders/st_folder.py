"""Writing and checking the sentence-transformers folders we generate for the bundled models."""

from __future__ import annotations

import json
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from .cache import CacheInvalid

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# A fixed Japanese sentence: the bundled models exist for Japanese, so that is what must come out right.
KNOWN_SENTENCE = "東京都の人口は約1400万人で、日本の都道府県の中で最も多い。"
MIN_COSINE = 0.999


def class_ref(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def write_modules_json(folder: Path, modules: list[tuple[str, type]]) -> None:
    """``modules``: (sub-folder, module class) in pipeline order; "" is the folder root."""
    entries = [
        {"idx": i, "name": str(i), "path": path, "type": class_ref(cls)} for i, (path, cls) in enumerate(modules)
    ]
    (folder / "modules.json").write_text(json.dumps(entries, indent=2), encoding="utf-8")


def write_model_config(folder: Path, prompts: dict[str, str]) -> None:
    # The prompts only document the model's convention for other tools; kotae adds prefixes itself.
    config = {
        "model_type": "SentenceTransformer",
        "prompts": prompts,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    (folder / "config_sentence_transformers.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def check_known_vector(model: SentenceTransformer, text: str, reference: np.ndarray) -> None:
    """Raise CacheInvalid unless ``model`` embeds ``text`` like the reference engine does."""
    ours = model.encode([text], convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)[0]
    cosine = float(np.dot(ours, reference) / (np.linalg.norm(reference) or 1.0))
    if not cosine >= MIN_COSINE:  # also catches NaN from broken weights
        raise CacheInvalid(f"known-vector check failed: cosine {cosine:.4f} < {MIN_COSINE} against the reference")
