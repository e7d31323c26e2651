"""Which corpus folder an index was built from, so that one corpus never silently replaces
another's index (docs/CONTRACTS.md §1).

The manifest records the resolved corpus folder as ``corpus_root``. An ingest of a different
folder into that index is refused unless the caller says the replacement is wanted (`kotae
ingest --rebuild`, or an index folder named explicitly with `--index`). Indexes written before
the field existed carry no root and are not checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kotae.index.persist import IndexError_, current_generation, read_manifest


class OtherCorpusError(IndexError_):
    """The index holds another corpus folder's documents."""


def corpus_root(corpus_dir: Path) -> str:
    return str(Path(corpus_dir).resolve())


def check_corpus(index_dir: Path, corpus_dir: Path, replace: bool) -> None:
    """Raise OtherCorpusError when `index_dir` was built from a folder other than `corpus_dir`
    and `replace` is False."""
    generation = current_generation(index_dir)
    if replace or generation is None:
        return
    recorded = read_manifest(generation).get("corpus_root")
    if recorded is None or recorded == corpus_root(corpus_dir):
        return
    raise OtherCorpusError(
        f"index {index_dir} was built from {recorded}, not {corpus_root(corpus_dir)}; nothing was changed. "
        f"Give this corpus its own index with --index DIR, or replace it with --rebuild")


def manifest_fields(corpus_dir: Path) -> dict[str, Any]:
    return {"corpus_root": corpus_root(corpus_dir)}
