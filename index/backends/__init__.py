"""Where the index is stored, behind one interface (base.py): the embedded local files
(default) or PostgreSQL + pgvector. ``KOTAE_BACKEND`` chooses."""

from __future__ import annotations

from kotae.index.backends.base import (
    Backend, BackendError, Filters, IndexConfig, IndexLockedError, IndexMismatchError, IndexMissingError, IndexStats,
    IndexWriter, Matches, SearchBackend, StoredPassage, passage_id,
)
from kotae.settings import Settings

BACKENDS = ("local", "postgres")

__all__ = ["BACKENDS", "Backend", "BackendError", "Filters", "IndexConfig", "IndexLockedError", "IndexMismatchError",
           "IndexMissingError", "IndexStats", "IndexWriter", "Matches", "SearchBackend", "StoredPassage", "make_backend",
           "passage_id"]


def make_backend(settings: Settings) -> Backend:
    if settings.backend == "local":
        from kotae.index.backends.local import LocalBackend

        return LocalBackend(settings.index_dir)
    if settings.backend == "postgres":
        if not settings.database_url:
            raise BackendError("KOTAE_BACKEND=postgres needs KOTAE_DATABASE_URL (e.g. postgresql://user@host:5432/kotae)")
        from kotae.index.backends.postgres import PostgresBackend

        return PostgresBackend(settings.database_url, settings.database_read_url or None)
    raise BackendError(f"unknown backend {settings.backend!r}; choose one of {', '.join(BACKENDS)}")
