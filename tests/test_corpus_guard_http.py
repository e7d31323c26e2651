"""The HTTP service keeps the corpus guard (index/corpus_root.py): a server whose corpus folder is
not the one its index was built from refuses writes with 409 instead of rebuilding the index from
the wrong folder. The real model and a copy of the real index of corpus/."""

from __future__ import annotations

import shutil

import pytest


@pytest.mark.slow
def test_the_server_refuses_writes_that_would_replace_another_corpus(corpus_settings, tmp_path):
    """`kotae serve --corpus OTHER` over an index of corpus/: uploads answer 409, nothing changes
    on disk or in the index, searches keep answering from corpus/."""
    import httpx

    from kotae_server import live_server

    shutil.copytree(corpus_settings.index_dir, tmp_path / "index", ignore=shutil.ignore_patterns(".lock", ".build-*"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "lyon.md").write_text("# Lyon\n\nThe office is in Lyon.\n", encoding="utf-8")
    settings = corpus_settings.replace(index_dir=tmp_path / "index", corpus_dir=tmp_path / "other")
    with live_server(settings) as server, httpx.Client(base_url=server.url, timeout=120) as c:
        r = c.post("/v1/documents", files={"file": ("notes.md", "# メモ\n\n新しい文書である。\n".encode(), "text/markdown")})
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert error["code"] == "other_corpus" and "nothing was changed" in error["message"]
        assert str(tmp_path) not in error["message"]
        assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["lyon.md"]
        hits = c.post("/v1/search", json={"query": "Koyeb", "k": 1}).json()["passages"]
        assert hits[0]["doc_id"] == "004_80795f28c2f237e0.txt"
