"""A backend with just enough to ask a Retriever how it scores, for retrieval tests that set the
scores themselves: languages per passage (each its own document's) and an idf of 2 for every
query token."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

import numpy as np

from kotae.index.backends import IndexConfig, IndexStats
from kotae.settings import Settings


class FakeLanguages:
    def __init__(self, langs: Iterable[str]):
        langs = list(langs)
        counts = dict(Counter(langs))
        config = IndexConfig("fake", 4, 512, {}, Settings().keyword_tokenizer)
        self._stats = IndexStats(len(langs), len(langs), counts, config, None, None, passages_by_lang=counts)

    def stats(self):
        return self._stats

    def keyword_idf(self, tokens):
        return np.full(len(tokens), 2.0, dtype=np.float32)
