"""Dense vectors in a FAISS inner-product index on disk (vectors are L2-normalised,
so inner product is cosine)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Below this many passages an exact scan is fast enough and loses nothing.
EXACT_SEARCH_MAX = 50_000


def choose_index_type(n: int, requested: str = "auto") -> str:
    if requested != "auto":
        return requested
    return "flat" if n <= EXACT_SEARCH_MAX else "hnsw"


class VectorIndex:
    def __init__(self, index, kind: str):
        self._index = index
        self.kind = kind

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int, kind: str) -> "VectorIndex":
        import faiss

        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 64
        else:
            raise ValueError(f"unknown vector index type {kind!r}; choose flat, hnsw or auto")
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, kind)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> "VectorIndex":
        import faiss

        return cls(faiss.read_index(str(path)), kind)

    def search(self, query: np.ndarray, k: int, allowed_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if self.size == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        params = None
        if allowed_rows is not None:
            if len(allowed_rows) == 0:
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_rows, dtype=np.int64))
            params = faiss.SearchParametersHNSW(sel=selector) if self.kind == "hnsw" else faiss.SearchParameters(sel=selector)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, rows = self._index.search(q, min(k, self.size), params=params)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep].astype(np.int64)
