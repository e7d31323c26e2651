"""Synthetic passages for the scale benchmark: vectors that look like sentence embeddings and
keyword token lists that look like Japanese bigram text, at any size, reproducibly.

Vectors: unit vectors of the default dimension (384) drawn from a fixed "world" of topic centres
with a power-law spectrum (a few strong directions, a long weak tail, as real text embeddings
have) and a common direction shared by all vectors (e5's vectors all have cosine ≈ 0.7-0.8 with
each other). Pure isotropic random vectors would make every neighbour almost equally far and ANN
recall unrealistically bad; exact copies of passages as queries would make it unrealistically
good. Queries are fresh draws from the same world, so their nearest passages are near but never
identical, as with real questions.

Tokens: Zipf-distributed ids over a 40k-term vocabulary (character bigrams of a Japanese corpus
follow roughly Zipf's law), ~120 tokens per passage, queries of ~12 tokens of which most come
from one passage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIM = 384


@dataclass
class World:
    spectrum: np.ndarray
    rotation: np.ndarray
    centres: np.ndarray
    common: np.ndarray


def world(dim: int = DIM, topics: int = 2000, alpha: float = 0.8, seed: int = 0) -> World:
    rng = np.random.default_rng(seed)
    spectrum = (np.arange(1, dim + 1) ** -alpha).astype(np.float32)
    spectrum /= np.sqrt((spectrum**2).sum())
    rotation = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype(np.float32)
    centres = (rng.standard_normal((topics, dim)).astype(np.float32) * spectrum) @ rotation
    common = rng.standard_normal(dim).astype(np.float32)
    common /= np.linalg.norm(common)
    return World(spectrum, rotation, centres, common)


def vectors(n: int, w: World, seed: int, noise: float = 0.7, common_weight: float = 1.5, chunk: int = 100_000) -> np.ndarray:
    """(n, dim) float32 unit vectors, built in chunks so 10⁶ needs no more than the result."""
    rng = np.random.default_rng(seed)
    dim = len(w.spectrum)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        topic = rng.integers(0, len(w.centres), m)
        x = w.centres[topic] + noise * (rng.standard_normal((m, dim)).astype(np.float32) * w.spectrum) @ w.rotation
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        x += common_weight * w.common
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start : start + m] = x
    return out


def token_lists(n: int, seed: int, vocab: int = 40_000, length: int = 120, zipf_a: float = 1.15) -> list[list[str]]:
    """n passages of synthetic keyword tokens (strings, as the real tokenizer produces)."""
    rng = np.random.default_rng(seed)
    names = [f"t{i}" for i in range(vocab)]
    lengths = np.clip(rng.normal(length, length / 4, n).astype(int), 8, 4 * length)
    ids = (rng.zipf(zipf_a, int(lengths.sum())) - 1) % vocab
    out, pos = [], 0
    for m in lengths:
        out.append([names[i] for i in ids[pos : pos + m]])
        pos += m
    return out


def token_queries(passages: list[list[str]], count: int, seed: int, length: int = 12) -> list[list[str]]:
    """Queries: mostly tokens of one passage, plus a few that are not in it."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        p = passages[int(rng.integers(0, len(passages)))]
        take = [p[int(i)] for i in rng.integers(0, len(p), length - 2)]
        out.append(take + [f"t{int(rng.integers(0, 40_000))}" for _ in range(2)])
    return out
