"""The Embedder implementation shared by every model: a SentenceTransformer plus the model's prefixes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sentence_transformers import SentenceTransformer

from .base import EmbedderInfo

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
    def __init__(self, model: SentenceTransformer, info: EmbedderInfo, prefixes: Prefixes, counter: TokenCounter):
        self.model = model
        self.info = info
        self.prefixes = prefixes
        self._count = counter
        self.query_encoder = None  # an OnnxQueryEncoder when KOTAE_EMBED_BACKEND=onnx
        self.backend = "torch"

    def use_onnx_queries(self, cache_source: dict[str, str]) -> None:
        """Encode queries with ONNX Runtime int8 (exported once into the cache); passages stay on torch."""
        from pathlib import Path

        from . import onnx_query

        self.query_encoder = onnx_query.load(self.model, Path(self.info.source), self.info.max_tokens, cache_source)
        self.backend = "onnx"

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
        return self._count([self.prefixes.passage + t for t in texts])
