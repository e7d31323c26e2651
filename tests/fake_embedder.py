"""A deterministic stand-in for the real model in pipeline tests that are about files, not
about ranking: hashed character bigrams, L2-normalised, instant to load."""

from __future__ import annotations

import zlib
from typing import Callable, Sequence

from dataclasses import dataclass

import numpy as np

DIM = 64


@dataclass(frozen=True)
class EmbedderInfo:  # same fields as kotae.index.embedders.base.EmbedderInfo, without importing torch
    name: str
    dim: int
    max_tokens: int
    source: str


class FakeEmbedder:
    info = EmbedderInfo(name="fake", dim=DIM, max_tokens=512, source="tests/fake_embedder.py")

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            for a, b in zip(t, t[1:]):
                out[i, zlib.crc32((a + b).encode("utf-8", "surrogatepass")) % DIM] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out

    def embed_passages(self, texts: Sequence[str], batch_size: int = 32, progress: Callable[[int], None] | None = None) -> np.ndarray:
        chunks = [self._embed(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        for c in chunks:
            if progress:
                progress(len(c))
        return np.concatenate(chunks) if chunks else np.zeros((0, DIM), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t) // 2 + 2 for t in texts]


def fake_build_config(limits=None):
    """The build settings of pipeline tests: bigram keywords (no dictionary to load)."""
    from kotae.index.build import BuildConfig
    from kotae.ingest.chunk import ChunkSettings
    from kotae.ingest.read import ReadLimits

    return BuildConfig(ChunkSettings(), "bigram", "auto", 32, limits or ReadLimits())
