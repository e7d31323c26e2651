"""Dense vectors in a FAISS inner-product index on disk (vectors are L2-normalised,
so inner product is cosine).

Index types (``KOTAE_VECTOR_INDEX``):

- ``flat``: exact scan; 4·dim bytes per passage. Exact and fast enough for small corpora.
- ``hnsw``: HNSW graph over full vectors; the fastest ANN, but 4·dim + 8·M bytes per passage.
- ``hnsw-sq8``: HNSW over 8-bit scalar-quantised vectors: dim + 8·M bytes per passage.
- ``ivf-sq8``: inverted file (k-means cells) over 8-bit vectors: dim + 8 bytes per passage.
- ``ivf-pq``: inverted file over product-quantised codes: smallest, least accurate.
- ``auto`` (default): ``flat`` up to ``EXACT_SEARCH_MAX`` passages, then the ANN type and
  parameters that ``bench/scale.py`` showed reach recall@10 ≥ 0.95 at a fraction of the exact
  scan's latency (see bench/results/scale.md).

The chosen type and its parameters are recorded in the index manifest. Search-time parameters
(efSearch, nprobe) are stored inside the FAISS file, so a reader needs nothing else.
Indexes are opened memory-mapped: pages are shared between processes and loaded on demand.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("flat", "hnsw", "hnsw-sq8", "ivf-sq8", "ivf-pq")

# Up to this many passages an exact scan is a few ms and loses nothing; bench/results/scale.md
# measured 1 ms at 10⁴ but 89 ms at 10⁵ (one thread, busy 2-core machine: the vectors no longer
# fit in cache), against 0.3-0.5 ms for HNSW at recall@10 0.97-0.99.
EXACT_SEARCH_MAX = 20_000
# Above this, HNSW's full float32 vectors plus graph (~1.8 KB per passage) outgrow a small
# machine: switch to 8-bit codes in an inverted file (~420 B per passage), re-scored exactly.
HNSW_FLAT_MAX = 300_000
# Filtered searches over at most this many allowed rows scan them exactly (ANN graphs and
# inverted lists lose recall when most of the index is filtered out).
FILTER_EXACT_MAX = 50_000
# Quantised indexes (sq8, pq) fetch REFINE × k candidates and re-score them exactly against the
# memory-mapped float32 embeddings: 8-bit codes alone cap recall@10 near 0.90 (scale benchmark).
REFINE = 4
# One thread per query: the service runs queries concurrently, and on a busy 2-core machine
# FAISS's OpenMP threads made one exact scan 4× slower than a single thread (bench/README.md).
SEARCH_THREADS = 1


@contextmanager
def faiss_threads(n: int):
    """Run a block with ``n`` FAISS (OpenMP) threads, then restore the previous count."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(max(1, n))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def use_search_threads() -> None:
    import faiss

    faiss.omp_set_num_threads(SEARCH_THREADS)


@dataclass(frozen=True)
class IndexSpec:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


def default_params(kind: str, n: int) -> dict[str, Any]:
    if kind == "flat":
        return {}
    if kind in ("hnsw", "hnsw-sq8"):
        return {"M": 32, "efConstruction": 80, "efSearch": 128}
    nlist = max(1, min(int(4 * math.sqrt(max(n, 1))), n // 39 or 1))
    if kind == "ivf-sq8":
        return {"nlist": nlist, "nprobe": max(1, min(nlist, int(round(nlist / 16))))}
    if kind == "ivf-pq":
        return {"nlist": nlist, "nprobe": max(1, min(nlist, int(round(nlist / 16)))), "m": 48, "nbits": 8}
    raise ValueError(f"unknown vector index type {kind!r}; choose auto or one of {', '.join(KINDS)}")


def choose_index(n: int, requested: str = "auto") -> IndexSpec:
    """The index type and parameters for a corpus of ``n`` passages."""
    if requested == "auto":
        if n <= EXACT_SEARCH_MAX:
            kind = "flat"
        elif n <= HNSW_FLAT_MAX:
            kind = "hnsw"
        else:
            kind = "ivf-sq8"
    else:
        kind = requested
    return IndexSpec(kind, default_params(kind, n))


def choose_index_type(n: int, requested: str = "auto") -> str:
    return choose_index(n, requested).kind


def make_index(dim: int, spec: IndexSpec):
    """An empty FAISS index for ``spec`` (IVF types still need training)."""
    import faiss

    p = spec.params
    ip = faiss.METRIC_INNER_PRODUCT
    if spec.kind == "flat":
        return faiss.IndexFlatIP(dim)
    if spec.kind in ("hnsw", "hnsw-sq8"):
        if spec.kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, p["M"], ip)
        else:
            index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, p["M"], ip)
        index.hnsw.efConstruction = p["efConstruction"]
        index.hnsw.efSearch = p["efSearch"]
        return index
    if spec.kind in ("ivf-sq8", "ivf-pq"):
        quantizer = faiss.IndexFlatIP(dim)
        if spec.kind == "ivf-sq8":
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, p["nlist"], faiss.ScalarQuantizer.QT_8bit, ip)
        else:
            index = faiss.IndexIVFPQ(quantizer, dim, p["nlist"], p["m"], p["nbits"], ip)
        index.nprobe = p["nprobe"]
        return index
    raise ValueError(f"unknown vector index type {spec.kind!r}; choose auto or one of {', '.join(KINDS)}")


def set_search_params(index, kind: str, **params: Any) -> None:
    """Change efSearch / nprobe of a built index (benchmarks sweep these without rebuilding)."""
    import faiss

    if "efSearch" in params and kind.startswith("hnsw"):
        index.hnsw.efSearch = int(params["efSearch"])
    if "nprobe" in params and kind.startswith("ivf"):
        faiss.extract_index_ivf(index).nprobe = int(params["nprobe"])


def train_sample(vectors: np.ndarray, spec: IndexSpec, seed: int = 0) -> np.ndarray:
    """Enough vectors to train the IVF coarse quantiser (and PQ), not all of them."""
    want = max(64 * spec.params.get("nlist", 1), 256 * 40 if spec.kind == "ivf-pq" else 0)
    if len(vectors) <= want:
        return vectors
    rows = np.sort(np.random.default_rng(seed).choice(len(vectors), want, replace=False))
    return vectors[rows]


class VectorIndex:
    def __init__(self, index, kind: str, params: dict[str, Any] | None = None, exact: np.ndarray | None = None):
        self._index = index
        self.kind = kind
        self.params = dict(params or {})
        # The embeddings matrix (memory-mapped), for exact filtered search and re-scoring on ANN indexes.
        self._exact = exact
        self.refine = REFINE if kind.endswith(("sq8", "pq")) and exact is not None else 1

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def faiss_index(self):
        return self._index

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int, kind: str, params: dict[str, Any] | None = None) -> "VectorIndex":
        n = len(vectors)
        spec = choose_index(n, kind) if kind == "auto" else IndexSpec(kind, params or default_params(kind, n))
        if spec.kind.startswith("ivf") and n < 39 * spec.params["nlist"]:
            # Too few vectors to train the cells: an exact scan is both correct and fast here.
            spec = IndexSpec("flat", {})
        index = make_index(dim, spec)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with faiss_threads(os.cpu_count() or 1):
            if not index.is_trained:
                index.train(np.ascontiguousarray(train_sample(vectors, spec)))
            if n:
                index.add(vectors)
        return cls(index, spec.kind, spec.params, vectors if spec.kind != "flat" else None)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str, mmap: bool = True) -> "VectorIndex":
        """Open an index file; memory-mapped by default (the generation's files never change).

        For ANN indexes, the ``embeddings.npy`` beside the file (if present) is memory-mapped too,
        for exact search within small filtered subsets."""
        import faiss

        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
        index = faiss.read_index(str(path), flags)
        use_search_threads()
        exact = None
        embeddings = Path(path).with_name("embeddings.npy")
        if kind != "flat" and embeddings.is_file():
            exact = np.load(embeddings, mmap_mode="r")
        return cls(index, kind, None, exact)

    def search(self, query: np.ndarray, k: int, allowed_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if self.size == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed_rows is not None:
            if len(allowed_rows) == 0:
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            allowed_rows = np.asarray(allowed_rows, dtype=np.int64)
            if self._exact is not None and len(allowed_rows) <= FILTER_EXACT_MAX:
                return self._exact_subset(q[0], k, allowed_rows)
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_rows))
            if self.kind.startswith("hnsw"):
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self._index.hnsw.efSearch, 2 * k))
            elif self.kind.startswith("ivf"):
                ivf = faiss.extract_index_ivf(self._index)
                params = faiss.SearchParametersIVF(sel=selector, nprobe=min(ivf.nlist, 4 * ivf.nprobe))
            else:
                params = faiss.SearchParameters(sel=selector)
        scores, rows = self._index.search(q, min(k * self.refine, self.size), params=params)
        keep = rows[0] >= 0
        scores, rows = scores[0][keep], rows[0][keep].astype(np.int64)
        if self.refine > 1 and len(rows):
            return self._exact_subset(q[0], k, np.sort(rows))
        return scores, rows

    def _exact_subset(self, q: np.ndarray, k: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = np.asarray(self._exact[rows], dtype=np.float32) @ q
        k = min(k, len(rows))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return scores[top], rows[top]
