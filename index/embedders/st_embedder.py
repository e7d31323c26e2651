"""The Embedder implementation shared by every model: a SentenceTransformer plus the model's prefixes.

The SentenceTransformer can be given ready or as a loader called at the first passage encoding:
a server whose queries go to an ONNX encoder (onnx_query.py) then never pays the seconds and the
gigabyte that importing torch and loading the model cost unless it ingests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .base import EmbedderError, EmbedderInfo

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

TokenCounter = Callable[[list[str]], list[int]]


@dataclass(frozen=True)
class Prefixes:
    query: str = ""
    passage: str = ""


E5_PREFIXES = Prefixes(query="query: ", passage="passage: ")


def tokenizer_counter(model: SentenceTransformer) -> TokenCounter:
    """Count with the model's own tokenizer, untruncated, so callers can see what would be cut off."""
    tokenizer = model.tokenizer

    def count(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]]

    return count


class STEmbedder:
    def __init__(
        self,
        model: SentenceTransformer | None,
        info: EmbedderInfo,
        prefixes: Prefixes,
        counter: TokenCounter | None,
        *,
        load_model: Callable[[], SentenceTransformer] | None = None,
    ):
        """``model`` ready, or None and ``load_model`` to call at first use. ``counter`` None: the
        model's own tokenizer (which loads the model)."""
        if model is None and load_model is None:
            raise ValueError("STEmbedder needs a model or a loader")
        self._model = model
        self._load_model = load_model
        self._model_lock = threading.Lock()
        self.info = info
        self.prefixes = prefixes
        self._count = counter
        self.query_encoder = None  # an OnnxQueryEncoder (onnx_query.py) when queries go to ONNX Runtime
        self.backend = "torch"

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._model_lock:
                if self._model is None:
                    assert self._load_model is not None
                    try:
                        self._model = self._load_model()
                    except EmbedderError:
                        raise
                    except Exception as exc:  # a cache that became unreadable since it was verified
                        raise EmbedderError(f"cannot load the embedding model from {self.info.source}: "
                                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        return self._model

    def use_query_encoder(self, encoder, backend: str) -> None:
        self.query_encoder = encoder
        self.backend = backend

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_passages(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        prefixed = [self.prefixes.passage + t for t in texts]
        # Encode cost is per padded token: batching similar lengths wastes no compute on padding.
        # Longest first, so a batch too large for memory fails at once rather than at the end.
        order = sorted(range(len(prefixed)), key=lambda i: len(prefixed[i]), reverse=True)
        out = np.empty((len(prefixed), self.info.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            out[batch] = self._encode([prefixed[i] for i in batch])
            if progress is not None:
                progress(len(batch))
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.info.dim), dtype=np.float32)
        prefixed = [self.prefixes.query + t for t in texts]
        if self.query_encoder is not None:
            return self.query_encoder.encode(prefixed)
        return self._encode(prefixed)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if self._count is None:
            self._count = tokenizer_counter(self.model)
        return self._count([self.prefixes.passage + t for t in texts])
