"""The storage backend contract (index/backends/base.py), run against every backend: the same
small corpus, the same writes, the same expected answers. A new backend passes these before
kotae can use it. The PostgreSQL runs are against a real server with pgvector (bench/pg_server.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_embedder import FakeEmbedder  # noqa: E402

from kotae.index.backends import Filters, IndexConfig, IndexLockedError, IndexMissingError, passage_id  # noqa: E402
from kotae.index.keyword import KeywordIndex  # noqa: E402
from kotae.index.tokenize import tokenize  # noqa: E402
from kotae.ingest.document import Document, Passage  # noqa: E402

TOKENIZER = "bigram"
EMBEDDER = FakeEmbedder()
CONFIG = IndexConfig("fake", EMBEDDER.info.dim, 512, {"chunk_chars": 400}, TOKENIZER, "auto")

# doc id -> (language of each passage, passage texts)
CORPUS = {
    "en/turbines.md": ("en", ["Wind turbine blades are inspected every spring by the field crew.",
                              "Bearings in the turbine nacelle are replaced every five years.",
                              "The crew logs vibration readings in the maintenance register."]),
    "ja/保守.txt": ("ja", ["風力タービンのブレードは毎年春に点検します。",
                          "ナセル内のベアリングは五年ごとに交換します。",
                          "Vibration register TX-9 bearing",  # an English table line in a Japanese document
                          "点検結果は保守台帳に記録します。"]),
    "en/solar.md": ("en", ["Solar panels are cleaned twice a year to keep their output.",
                           "Inverters convert the panels' direct current to alternating current."]),
}


def make_doc(doc_id: str, texts: list[str], lang: str) -> tuple[Document, list[Passage], np.ndarray]:
    full = "\n".join(texts)
    passages, pos = [], 0
    for i, t in enumerate(texts):
        plang = "en" if t.isascii() else lang
        passages.append(Passage(doc_id, i, pos, pos + len(t), t, None, None, plang, "body", context=doc_id.split("/")[-1]))
        pos += len(t) + 1
    doc = Document(doc_id, full, doc_id.split("/")[-1], "text", "utf-8", f"hash-{hash(full)}", {"lang": lang}, (), ())
    return doc, passages, EMBEDDER.embed_passages([p.embed_text for p in passages])


def write(backend, docs: dict[str, tuple[str, list[str]]], delete=(), reset=False) -> None:
    w = backend.writer()
    try:
        if reset:
            w.reset()
        for doc_id, (lang, texts) in docs.items():
            w.upsert(*make_doc(doc_id, texts, lang))
        w.delete(list(delete))
        files = {d: {"status": "indexed", "reason": "", "passages": 0, "warnings": [], "hash": d} for d in docs}
        w.commit(CONFIG, files)
    finally:
        w.close()


@pytest.fixture(params=["local", "postgres"])
def backend(request, tmp_path):
    if request.param == "local":
        from kotae.index.backends.local import LocalBackend

        return LocalBackend(tmp_path / "index")
    from kotae.index.backends.postgres import PostgresBackend

    return PostgresBackend(request.getfixturevalue("pg_url"))


@pytest.fixture
def filled(backend):
    write(backend, CORPUS)
    view = backend.open("fake")
    yield backend, view
    view.close()


def all_passages() -> list[Passage]:
    return [p for doc_id, (lang, texts) in CORPUS.items() for p in make_doc(doc_id, texts, lang)[1]]


def test_an_empty_store_says_there_is_no_index(backend):
    with pytest.raises(IndexMissingError):
        backend.open()


def test_generation_names_what_a_view_would_open(backend):
    """What a service sharing the index polls to notice another process's commit."""
    try:
        assert backend.generation() is None
        write(backend, CORPUS)
        first = backend.generation()
        write(backend, {"en/new.md": ("en", ["Hydrogen storage tanks are pressure tested."])})
        second = backend.generation()
        view = backend.open("fake")
        try:
            assert first is not None and second != first and view.stats().generation == second
        finally:
            view.close()
    finally:
        backend.close()


def test_passages_documents_and_stats_round_trip(filled):
    _, view = filled
    stats = view.stats()
    assert (stats.documents, stats.passages) == (3, 9)
    assert stats.config == CONFIG
    assert stats.passages_by_doc_lang == {"en": 5, "ja": 4}  # the English table line belongs to a Japanese document
    assert stats.passages_by_lang == {"en": 6, "ja": 3}
    assert [d["doc_id"] for d in view.documents()] == sorted(CORPUS)
    assert {d["doc_id"]: d["passages"] for d in view.documents()}["ja/保守.txt"] == 4
    doc = view.document("ja/保守.txt")
    assert doc.text.startswith("風力タービン") and doc.metadata == {"lang": "ja"}
    assert view.document("missing.md") is None
    ids = [passage_id("en/solar.md", 1), "nope#0", passage_id("ja/保守.txt", 2)]
    got = view.passages(ids)
    assert [s.id for s in got] == [ids[0], ids[2]]  # in the order asked, unknown ids left out
    assert got[0].passage.text.startswith("Inverters") and got[0].title == "solar.md" and got[0].doc_lang == "en"
    assert got[1].passage.lang == "en" and got[1].doc_lang == "ja"
    assert [s.passage.ordinal for s in view.document_passages("ja/保守.txt")] == [0, 1, 2, 3]


def test_dense_ranking_is_the_exact_inner_product_ranking(filled):
    _, view = filled
    passages = all_passages()
    matrix = EMBEDDER.embed_passages([p.embed_text for p in passages])
    for query in ("turbine bearings replaced", "ベアリングの交換", "solar panel cleaning"):
        q = EMBEDDER.embed_queries([query])[0]
        exact = matrix @ q
        order = np.argsort(-exact, kind="stable")[:5]
        found = view.dense(q, 5)
        assert list(found.ids) == [passage_id(passages[i].doc_id, passages[i].ordinal) for i in order]
        np.testing.assert_allclose(found.scores, exact[order], atol=1e-5)


def test_keyword_ranking_and_idf_are_the_local_bm25(filled):
    _, view = filled
    passages = all_passages()
    reference = KeywordIndex.build([tokenize(p.embed_text, TOKENIZER) for p in passages])
    for query in ("bearings", "ベアリング 交換", "turbine crew", "panels panels"):
        tokens = tokenize(query, TOKENIZER)
        scores, rows = reference.search(tokens, 5)
        found = view.keyword(tokens, 5)
        expect = {passage_id(passages[r].doc_id, passages[r].ordinal): s for r, s in zip(rows.tolist(), scores.tolist())}
        assert dict(zip(found.ids, found.scores.tolist())) == pytest.approx(expect, rel=1e-4), query
        assert list(found.scores) == sorted(found.scores, reverse=True)
        np.testing.assert_allclose(view.keyword_idf(tokens), reference.idf(tokens), rtol=1e-5)
    assert view.keyword(tokenize("zzzz qqqq", TOKENIZER), 5).ids == ()


def test_filters_restrict_both_sides(filled):
    _, view = filled
    q = EMBEDDER.embed_queries(["bearing register"])[0]
    tokens = tokenize("bearing register", TOKENIZER)
    for side in (lambda f: view.dense(q, 10, f), lambda f: view.keyword(tokens, 10, f)):
        by_id = {s.id: s for s in view.passages(list(side(None).ids))}
        assert {s.passage.doc_id for s in by_id.values()} >= {"en/turbines.md", "ja/保守.txt"}
        only_en = side(Filters(lang="en"))
        assert only_en.ids and all(s.passage.lang == "en" for s in view.passages(list(only_en.ids)))
        ja_docs = side(Filters(doc_lang="ja"))
        assert ja_docs.ids and set(ja_docs.doc_langs) == {"ja"}
        assert all(i.startswith("ja/") for i in ja_docs.ids)
        one = side(Filters(doc_ids=("en/turbines.md",)))
        assert one.ids and all(i.startswith("en/turbines.md#") for i in one.ids)
        assert side(Filters(lang="ja", doc_ids=("en/solar.md",))).ids == ()


def test_dense_matches_say_each_passage_language(filled):
    """The cross-language offset (index/search.py) reads them to lift other-language passages."""
    _, view = filled
    found = view.dense(EMBEDDER.embed_queries(["bearing register"])[0], 50)
    stored = {s.id: s.passage.lang for s in view.passages(list(found.ids))}
    assert set(found.langs) == {"en", "ja"}
    assert found.langs == tuple(stored[i] for i in found.ids)


def test_upsert_replaces_a_document_and_delete_removes_one(filled):
    backend, old_view = filled
    write(backend, {"en/turbines.md": ("en", ["Turbine gearboxes are rebuilt after ten years."])}, delete=["en/solar.md"])
    view = backend.open("fake")
    try:
        stats = view.stats()
        assert (stats.documents, stats.passages) == (2, 5)
        assert [s.id for s in view.document_passages("en/turbines.md")] == ["en/turbines.md#0"]
        assert view.document("en/solar.md") is None and view.document_passages("en/solar.md") == []
        assert view.passages(["en/turbines.md#2", "en/solar.md#0"]) == []
        everything = view.dense(EMBEDDER.embed_queries(["panels"])[0], 50)
        assert len(everything.ids) == 5 and not any(i.startswith("en/solar.md") for i in everything.ids)
        assert view.keyword(tokenize("panels", TOKENIZER), 5).ids == ()
        assert view.keyword(tokenize("gearboxes", TOKENIZER), 5).ids[0] == "en/turbines.md#0"
        # idf, and the whole BM25 ranking, follow the new passage count, lengths and frequencies
        current = [s.passage for d in ("en/turbines.md", "ja/保守.txt") for s in view.document_passages(d)]
        reference = KeywordIndex.build([tokenize(p.embed_text, TOKENIZER) for p in current])
        tokens = tokenize("turbine bearings", TOKENIZER)
        np.testing.assert_allclose(view.keyword_idf(tokens), reference.idf(tokens), rtol=1e-5)
        for query in ("turbine bearings", "ベアリング 交換", "register"):
            tokens = tokenize(query, TOKENIZER)
            scores, rows = reference.search(tokens, 5)
            expect = {passage_id(current[r].doc_id, current[r].ordinal): s for r, s in zip(rows.tolist(), scores.tolist())}
            found = view.keyword(tokens, 5)
            assert dict(zip(found.ids, found.scores.tolist())) == pytest.approx(expect, rel=1e-4), query
    finally:
        view.close()


def test_uncommitted_writes_are_invisible_and_a_second_writer_is_refused(filled):
    backend, view = filled
    w = backend.writer()
    try:
        with pytest.raises(IndexLockedError):
            backend.writer()
        w.upsert(*make_doc("en/new.md", ["Hydrogen storage tanks are pressure tested."], "en"))
        w.delete(["en/turbines.md"])
    finally:
        w.close()  # dropped without commit: nothing changes
    fresh = backend.open("fake")
    try:
        assert fresh.stats().documents == 3 and fresh.document("en/new.md") is None
        assert fresh.keyword(tokenize("hydrogen", TOKENIZER), 5).ids == ()
    finally:
        fresh.close()
    backend.writer().close()  # the lock was released


def test_reset_starts_from_an_empty_index(filled):
    backend, _ = filled
    write(backend, {"en/only.md": ("en", ["A single passage about tidal power."])}, reset=True)
    view = backend.open("fake")
    try:
        assert [d["doc_id"] for d in view.documents()] == ["en/only.md"]
        assert view.dense(EMBEDDER.embed_queries(["turbine"])[0], 10).ids == ("en/only.md#0",)
    finally:
        view.close()


def test_many_small_writes_rank_like_one_build(backend):
    """Upserts one document at a time, replacing and deleting some (the local backend adds a
    segment per write and merges them past its limit): the result ranks exactly like the final
    corpus written at once."""
    final: dict[str, tuple[str, list[str]]] = {}
    for i in range(11):
        doc_id = f"notes/{i % 7}.md"
        doc = ("en", [f"Note {i} about turbine {i * 3} and bearing {i}.", f"Second line {i} mentions solar panels {i % 3}."])
        delete = ["notes/2.md"] if i == 9 else []
        write(backend, {doc_id: doc}, delete=delete)
        final[doc_id] = doc
        for d in delete:
            final.pop(d, None)
    view = backend.open("fake")
    try:
        passages = [p for doc_id in sorted(final) for p in make_doc(doc_id, final[doc_id][1], "en")[1]]
        assert (view.stats().passages, view.stats().documents) == (len(passages), len(final))
        assert [d["doc_id"] for d in view.documents()] == sorted(final)
        reference = KeywordIndex.build([tokenize(p.embed_text, TOKENIZER) for p in passages])
        matrix = EMBEDDER.embed_passages([p.embed_text for p in passages])
        ids = [passage_id(p.doc_id, p.ordinal) for p in passages]
        for query in ("turbine bearing", "solar panels 2", "note 10"):
            tokens = tokenize(query, TOKENIZER)
            scores, rows = reference.search(tokens, len(ids))  # every match: equal scores tie in any order
            found = view.keyword(tokens, len(ids))
            assert dict(zip(found.ids, found.scores.tolist())) == pytest.approx(dict(zip([ids[r] for r in rows], scores.tolist())), rel=1e-4)
            np.testing.assert_allclose(view.keyword_idf(tokens), reference.idf(tokens), rtol=1e-5)
            q = EMBEDDER.embed_queries([query])[0]
            exact = matrix @ q
            order = np.argsort(-exact, kind="stable")[:4]
            dense = view.dense(q, 4)
            np.testing.assert_allclose(dense.scores, exact[order], atol=1e-5)
            assert set(dense.ids) <= set(ids)
    finally:
        view.close()


def test_small_writes_after_a_large_load_rank_like_one_build_and_leave_the_load_alone(backend):
    """The local backend merges its small segments past its limit, never the large one under
    them (a small upload must not rebuild the corpus's vector index); rankings stay exact."""
    base = {f"base/{i}.md": ("en", [f"Base record {i} on turbine {i % 5} bearings.", f"Inspection {i} of panel {i % 4}."])
            for i in range(40)}
    write(backend, base)
    first = _segments(backend)
    final = dict(base)
    for i in range(12):
        doc = ("en", [f"Update {i} on turbine {i % 5} and bearing grease {i}."])
        write(backend, {f"updates/{i}.md": doc}, delete=[f"base/{i}.md"] if i % 4 == 0 else [])
        final[f"updates/{i}.md"] = doc
        if i % 4 == 0:
            final.pop(f"base/{i}.md")
    if first is not None:  # local: the load's segment is still the first one, and few segments remain
        segments = _segments(backend)
        assert segments[0] == first[0] and len(segments) <= 8
    passages = [p for doc_id in sorted(final) for p in make_doc(doc_id, final[doc_id][1], "en")[1]]
    reference = KeywordIndex.build([tokenize(p.embed_text, TOKENIZER) for p in passages])
    ids = [passage_id(p.doc_id, p.ordinal) for p in passages]
    view = backend.open("fake")
    try:
        assert view.stats().passages == len(passages)
        for query in ("turbine bearings", "grease 7", "panel inspection"):
            tokens = tokenize(query, TOKENIZER)
            scores, rows = reference.search(tokens, len(ids))
            found = view.keyword(tokens, len(ids))
            assert dict(zip(found.ids, found.scores.tolist())) == pytest.approx(dict(zip([ids[r] for r in rows], scores.tolist())), rel=1e-4)
    finally:
        view.close()


def _segments(backend) -> list[str] | None:
    """The local backend's segment names, in order (None for other backends)."""
    from kotae.index.persist import current_generation, read_manifest

    index_dir = getattr(backend, "index_dir", None)
    if index_dir is None:
        return None
    return [s["name"] for s in read_manifest(current_generation(index_dir))["segments"]]
