"""`kotae ask` answers through a running `kotae serve` on the same index, and falls back to
searching in-process when there is none (or it serves another index)."""

from __future__ import annotations

import json

import pytest

from kotae.service.cli import main
from kotae_server import free_port, live_server

QUESTION = "Koyeb の買収はいつ報じられた？"


def _ask(capsys, index_dir, *extra) -> dict:
    code = main(["ask", QUESTION, "-k", "3", "--json", "--index", str(index_dir), *extra])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def _forbid_local(monkeypatch):
    import kotae.index.engine as engine

    def refuse(settings):
        raise AssertionError("kotae ask opened the index in-process although a server was running")

    monkeypatch.setattr(engine, "open_retriever", refuse)


def test_ask_uses_the_running_server(corpus_settings, capsys, monkeypatch):
    monkeypatch.setenv("KOTAE_CACHE_DIR", str(corpus_settings.cache_dir))
    local = _ask(capsys, corpus_settings.index_dir, "--no-server")
    with live_server(corpus_settings.replace(query_cache_size=0)) as server:
        monkeypatch.setenv("KOTAE_PORT", str(server.port))
        _forbid_local(monkeypatch)
        remote = _ask(capsys, corpus_settings.index_dir)
    assert [p["doc_id"] for p in remote["passages"]] == [p["doc_id"] for p in local["passages"]]
    assert [p["char_start"] for p in remote["passages"]] == [p["char_start"] for p in local["passages"]]
    assert remote["timings"]  # the server's per-stage timings came back
    # the same answer as in-process: the server scores answer units with the index's term
    # weights and decides abstention with its confidence (not a re-scoring of bare passages)
    assert remote["answer"] == local["answer"]
    assert (remote["found"], remote["confidence"]) == (local["found"], local["confidence"])
    assert remote["confidence"] is not None


def test_ask_falls_back_when_no_server_answers(corpus_settings, capsys, monkeypatch):
    import kotae.index.engine as engine

    monkeypatch.setenv("KOTAE_CACHE_DIR", str(corpus_settings.cache_dir))
    monkeypatch.setenv("KOTAE_PORT", str(free_port()))  # nothing listens there
    opened = []
    real = engine.open_retriever
    monkeypatch.setattr(engine, "open_retriever", lambda settings: opened.append(settings) or real(settings))
    out = _ask(capsys, corpus_settings.index_dir)
    assert opened and len(out["passages"]) == 3


def test_a_server_on_another_index_is_not_used(corpus_settings, tmp_path, capsys, monkeypatch):
    from kotae.index.engine import run_ingest

    other_corpus = tmp_path / "corpus"
    other_corpus.mkdir()
    (other_corpus / "note.md").write_text("# Note\n\nKoyeb は 2026 年に買収されたと報じられた。\n", encoding="utf-8")
    other = corpus_settings.replace(index_dir=tmp_path / "index", corpus_dir=other_corpus)
    run_ingest(other, progress=False)
    monkeypatch.setenv("KOTAE_CACHE_DIR", str(corpus_settings.cache_dir))
    with live_server(other) as server:
        monkeypatch.setenv("KOTAE_PORT", str(server.port))
        out = _ask(capsys, corpus_settings.index_dir)
    assert all(p["doc_id"] != "note.md" for p in out["passages"])


@pytest.mark.parametrize("flag", [["--mode", "keyword"]])
def test_a_server_with_another_retrieval_mode_is_not_used(corpus_settings, capsys, monkeypatch, flag):
    import kotae.index.engine as engine

    monkeypatch.setenv("KOTAE_CACHE_DIR", str(corpus_settings.cache_dir))
    with live_server(corpus_settings) as server:
        monkeypatch.setenv("KOTAE_PORT", str(server.port))
        opened = []
        real = engine.open_retriever
        monkeypatch.setattr(engine, "open_retriever", lambda settings: opened.append(settings) or real(settings))
        _ask(capsys, corpus_settings.index_dir, *flag)
    assert opened and opened[0].retrieval_mode == "keyword"
