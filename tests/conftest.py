"""Shared fixtures: the real default model and one real index of corpus/, built once.

The model cache and the corpus index live under .kotae/ (KOTAE_CACHE_DIR overrides the
cache), so a second test run on the same machine converts and embeds nothing again;
ingest is incremental, so a stale index is brought up to date, not trusted blindly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def model_cache() -> Path:
    return Path(os.environ.get("KOTAE_CACHE_DIR", REPO / ".kotae" / "cache"))


@pytest.fixture(scope="session")
def corpus_settings(model_cache: Path):
    """Settings whose index holds corpus/, built with the real default embedder."""
    from kotae.index.engine import run_ingest
    from kotae.settings import load_settings

    settings = load_settings(corpus_dir=REPO / "corpus", index_dir=REPO / ".kotae" / "test-index", cache_dir=model_cache)
    run_ingest(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def corpus_retriever(corpus_settings):
    from kotae.index.engine import open_retriever

    return open_retriever(corpus_settings)


@pytest.fixture(scope="session")
def pg():
    """A real PostgreSQL server with pgvector for this test session (bench/pg_server.py)."""
    from kotae.bench.pg_server import remove, start_server

    server = start_server()
    yield server
    server.stop()
    remove(server)


@pytest.fixture
def pg_url(pg, request):
    """A new, empty database on the session's server."""
    import re

    import psycopg

    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:40] + f"_{os.getpid()}"
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg.url.rsplit("/", 1)[0] + "/" + name


def small_corpus_retriever(root: Path, files: dict[str, str | bytes], model_cache: Path):
    """A retriever over a corpus made in a test (file name -> text or bytes), indexed under ``root``
    with the real default embedder."""
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    corpus = root / "corpus"
    corpus.mkdir()
    for name, content in files.items():
        if isinstance(content, bytes):
            (corpus / name).write_bytes(content)
        else:
            (corpus / name).write_text(content, encoding="utf-8")
    settings = load_settings(corpus_dir=corpus, index_dir=root / "index", cache_dir=model_cache)
    run_ingest(settings, progress=False)
    return open_retriever(settings)
