"""Which corpus folder an index was built from, so that one corpus never silently replaces
another's index (docs/CONTRACTS.md §1).

The manifest records the corpus folder as ``corpus_root``, relative to the index folder. An
ingest of another folder is refused when it would drop most of the index's documents (fewer
than half of them are in the new folder), unless the caller says the replacement is wanted
(`kotae ingest --rebuild`, or an index named explicitly with `--index`). A copy of a corpus
with a copy of its index (tests, backups, a moved project) is the same corpus: its documents
are there. Indexes written before the field existed carry no root and are not checked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from kotae.index.persist import IndexError_, current_generation, read_manifest


class OtherCorpusError(IndexError_):
    """The index holds another corpus folder's documents."""


def corpus_root(corpus_dir: Path, index_dir: Path) -> str:
    return Path(os.path.relpath(Path(corpus_dir).resolve(), Path(index_dir).resolve())).as_posix()


def check_corpus(index_dir: Path, corpus_dir: Path, doc_ids: Iterable[str], replace: bool) -> None:
    """Raise OtherCorpusError when `index_dir` was built from another folder than `corpus_dir`
    (whose documents are `doc_ids`), fewer than half of its documents are in `corpus_dir`,
    and `replace` is False."""
    generation = current_generation(index_dir)
    if replace or generation is None:
        return
    manifest = read_manifest(generation)
    recorded = manifest.get("corpus_root")
    if recorded is None or recorded == corpus_root(corpus_dir, index_dir):
        return
    indexed = {d for d, f in manifest.get("files", {}).items() if f.get("status") != "skipped"}
    kept = len(indexed & set(doc_ids))
    if kept * 2 >= len(indexed):
        return
    built_from = os.path.normpath(Path(index_dir) / recorded)
    raise OtherCorpusError(
        f"index {index_dir} holds {len(indexed)} documents of {built_from}, {kept} of them in {corpus_dir}; nothing was "
        f"changed. Give this corpus its own index with --index DIR, or rebuild this one from it with "
        f"`kotae ingest {corpus_dir} --rebuild`")


def manifest_fields(corpus_dir: Path, index_dir: Path) -> dict[str, Any]:
    return {"corpus_root": corpus_root(corpus_dir, index_dir)}
