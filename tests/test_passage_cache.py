"""The local backend keeps stored passages in memory per open view (index/backends/local.py):
every search reads its top candidates' rows, and the same ones come back question after
question, so each row is read from SQLite once while it stays in the bounded cache."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from interleaved import run_interleaved  # noqa: E402
from test_backends import CORPUS, write  # noqa: E402

from kotae.index import meta  # noqa: E402
from kotae.index.backends import local, passage_id  # noqa: E402

IDS = [passage_id(doc_id, i) for doc_id, (_, texts) in CORPUS.items() for i in range(len(texts))]


def _open(tmp_path):
    backend = local.LocalBackend(tmp_path / "index")
    write(backend, CORPUS)
    return backend.open("fake")


def test_rows_are_read_once_while_cached_and_the_cache_is_bounded(tmp_path, monkeypatch):
    view = _open(tmp_path)
    try:
        expected = view.passages(IDS)  # read before the cache is limited: the reference
        monkeypatch.setattr(local, "PASSAGE_CACHE", 3)
        view._passages.clear()
        read: list[int] = []
        original = meta.MetaStore.passages
        monkeypatch.setattr(meta.MetaStore, "passages", lambda self, rows: read.extend(rows) or original(self, rows))
        asked = [IDS[0], "nope#0", IDS[4], IDS[7]]
        first = view.passages(asked)
        assert [s.id for s in first] == [IDS[0], IDS[4], IDS[7]] and len(read) == 3
        read.clear()
        assert view.passages(asked) == first and read == []  # all three cached
        assert view.passages(IDS) == expected  # in the order asked, as an uncached read gives them
        assert len(view._passages) == 3  # bounded: the oldest rows made way
    finally:
        view.close()


def test_concurrent_reads_evicting_the_cache_neither_fail_nor_change_results(tmp_path, monkeypatch):
    view = _open(tmp_path)
    try:
        expected = {s.id: s for s in view.passages(IDS)}
        monkeypatch.setattr(local, "PASSAGE_CACHE", 1)  # every read evicts
        errors: list[str] = []

        def reads(seed: int) -> None:
            rng = np.random.default_rng(seed)
            try:
                for _ in range(200):
                    ids = [IDS[i] for i in rng.integers(0, len(IDS), 3)]
                    if view.passages(ids) != [expected[i] for i in ids]:
                        errors.append(f"wrong passages for {ids}")
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(repr(exc))

        run_interleaved(reads, 6)
        assert not errors, errors[:3]
    finally:
        view.close()
