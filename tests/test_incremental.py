"""Re-ingest embeds only what changed, drops what was deleted, and publishes atomically."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kotae.index.engine import open_retriever, run_ingest
from kotae.index.persist import current_generation
from kotae.settings import load_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory, model_cache: Path):
    """A small corpus indexed once with the real model; each test works on a copy, so the
    model embeds the base corpus once per module, not once per test."""
    root = tmp_path_factory.mktemp("incremental")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in ("001_56ffd51338effe2f.txt", "004_80795f28c2f237e0.txt"):
        shutil.copy(REPO / "corpus" / name, corpus / name)
    (corpus / "notes.md").write_text("# メモ\n\nKotae のテスト用メモ。データ主権について書く。\n", encoding="utf-8")
    settings = load_settings(corpus_dir=corpus, index_dir=root / "index", cache_dir=model_cache)
    return root, run_ingest(settings, progress=False)


@pytest.fixture()
def small_corpus(built, tmp_path: Path, model_cache: Path):
    root, _ = built
    shutil.copytree(root / "corpus", tmp_path / "corpus")
    shutil.copytree(root / "index", tmp_path / "index", symlinks=True)
    settings = load_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", cache_dir=model_cache)
    return tmp_path / "corpus", settings


def test_first_ingest_embeds_every_passage(built):
    _, first = built
    assert first.embedded == first.passages > 0
    assert {f.status for f in first.files} == {"indexed"}


def test_touching_one_document_re_embeds_only_its_passages(small_corpus):
    corpus, settings = small_corpus
    first_generation = current_generation(settings.index_dir)

    again = run_ingest(settings, progress=False)
    assert again.embedded == 0 and not again.changed
    assert current_generation(settings.index_dir) == first_generation

    notes = corpus / "notes.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\n追記：Koyeb の統合は2026年に進む。\n", encoding="utf-8")
    changed = run_ingest(settings, progress=False)
    notes_status = next(f for f in changed.files if f.doc_id == "notes.md")
    assert notes_status.status == "indexed"
    assert changed.embedded == notes_status.passages
    assert changed.reused == changed.passages - notes_status.passages
    assert {f.status for f in changed.files if f.doc_id != "notes.md"} == {"unchanged"}
    # the old generation was replaced and removed
    assert current_generation(settings.index_dir) != first_generation
    assert not first_generation.exists()

    hits = open_retriever(settings).search("Koyeb の統合はいつ進む？", k=3).hits
    assert any("追記" in h.text for h in hits)


def test_deleted_documents_disappear(small_corpus):
    corpus, settings = small_corpus
    (corpus / "notes.md").unlink()
    report = run_ingest(settings, progress=False)
    assert report.removed == ["notes.md"] and report.embedded == 0
    docs = {d["doc_id"] for d in open_retriever(settings).backend.documents()}
    assert docs == {"001_56ffd51338effe2f.txt", "004_80795f28c2f237e0.txt"}


def test_a_failed_build_leaves_the_previous_index_usable(small_corpus, monkeypatch):
    corpus, settings = small_corpus
    before = current_generation(settings.index_dir)
    (corpus / "more.md").write_text("# 追加\n\n新しい文書。\n", encoding="utf-8")

    import kotae.index.backends.local as local

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(local.Postings, "build", crash)
    with pytest.raises(RuntimeError):
        run_ingest(settings, progress=False)
    assert current_generation(settings.index_dir) == before
    hits = open_retriever(settings).search("Koyeb", k=1).hits
    assert hits and hits[0].doc_id == "004_80795f28c2f237e0.txt"
    monkeypatch.undo()
    report = run_ingest(settings, progress=False)  # the next run cleans the half-written build
    assert not list(settings.index_dir.glob(".build-*"))
    assert any(f.doc_id == "more.md" and f.status == "indexed" for f in report.files)
