"""Which corpus folder an index was built from, so that one corpus never silently replaces
another's index (docs/CONTRACTS.md §1).

The index records the corpus folder as ``corpus_root`` (the local backend: relative to the index
folder; PostgreSQL: the absolute path). An
ingest of another folder is refused when it would drop most of the index's documents (fewer
than half of them are in the new folder), unless the caller says the replacement is wanted
(`kotae ingest --rebuild`, or an index named explicitly with `--index`). A copy of a corpus
with a copy of its index (tests, backups, a moved project) is the same corpus: its documents
are there. Indexes written before the field existed carry no root and are not checked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from kotae.index.backends.base import BackendError, IndexStats


class OtherCorpusError(BackendError):
    """The index holds another corpus folder's documents."""


def corpus_root(corpus_dir: Path, index_dir: Path) -> str:
    """The local backend's record of a corpus folder: relative to the index folder, so a project
    moved or copied with its index is still the same corpus."""
    return Path(os.path.relpath(Path(corpus_dir).resolve(), Path(index_dir).resolve())).as_posix()


def check_corpus(previous: IndexStats | None, root: str, corpus_dir: Path, location: str, doc_ids: Iterable[str],
                 replace: bool) -> None:
    """Raise OtherCorpusError when the index at `location` was built from another folder than
    `corpus_dir` (recorded as `root`; its documents are `doc_ids`), fewer than half of its
    documents are in it, and `replace` is False."""
    if replace or previous is None:
        return
    recorded = previous.corpus_root
    if recorded is None or recorded == root:
        return
    indexed = {d for d, f in previous.files.items() if f.get("status") != "skipped"}
    kept = len(indexed & set(doc_ids))
    if kept * 2 >= len(indexed):
        return
    built_from = os.path.normpath(os.path.join(location, recorded))
    raise OtherCorpusError(
        f"index {location} holds {len(indexed)} documents of {built_from}, {kept} of them in {corpus_dir}; nothing was "
        f"changed. Give this corpus its own index with --index DIR, or rebuild this one from it with "
        f"`kotae ingest {corpus_dir} --rebuild`")
