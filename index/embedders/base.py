"""The one interface every embedder implements, so the indexer never cares which model it has."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class EmbedderError(Exception):
    """A model could not be made usable; the message is one line meant for the user."""


@dataclass(frozen=True)
class EmbedderInfo:
    name: str  # "e5-small", "use-multilingual", or the user's id/path
    dim: int
    max_tokens: int  # hard token limit of the model; longer input is truncated by the model
    source: str  # folder the model was loaded from


class Embedder(Protocol):
    info: EmbedderInfo

    def embed_passages(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """(n, dim) float32, L2-normalised; ``progress(n_done_in_batch)`` after each batch."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model sees for each text as a PASSAGE (prefix and special tokens included)."""
        ...
