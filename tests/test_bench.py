"""Functional tests of the benchmark code and the vector-index choice, on tiny sizes.

Speed targets are measured by `make bench`, not here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kotae.bench import common, synthetic
from kotae.index.vectors import EXACT_SEARCH_MAX, HNSW_FLAT_MAX, KINDS, VectorIndex, choose_index, choose_index_type


def test_auto_index_choice_by_size_and_override():
    assert choose_index(10).kind == "flat"
    assert choose_index(EXACT_SEARCH_MAX).kind == "flat"
    assert choose_index(EXACT_SEARCH_MAX + 1).kind == "hnsw"
    big = choose_index(HNSW_FLAT_MAX + 1)
    assert big.kind == "ivf-sq8" and 1 <= big.params["nprobe"] <= big.params["nlist"]
    assert choose_index_type(10**6, "flat") == "flat"  # the setting overrides the size
    assert choose_index(500, "hnsw").params["efSearch"] > 0
    with pytest.raises(ValueError):
        choose_index(10, "annoy")


@pytest.mark.parametrize("kind", KINDS)
def test_every_index_kind_saves_loads_memory_mapped_and_filters(tmp_path, kind):
    w = synthetic.world(topics=50)
    x = synthetic.vectors(3000, w, seed=1)
    q = synthetic.vectors(10, w, seed=2)
    built = VectorIndex.build(x, x.shape[1], kind, {"M": 16, "efConstruction": 40, "efSearch": 64, "nlist": 16, "nprobe": 8,
                                                    "m": 8, "nbits": 8})
    np.save(tmp_path / "embeddings.npy", x)
    built.save(tmp_path / "vectors.faiss")
    index = VectorIndex.load(tmp_path / "vectors.faiss", built.kind)
    assert index.size == 3000
    exact = x @ q[0]
    scores, rows = index.search(q[0], 10)
    assert len(rows) == 10 and np.all(np.diff(scores) <= 1e-6)
    assert len(set(rows.tolist()) & set(np.argsort(-exact)[:10].tolist())) >= 6
    allowed = np.arange(0, 3000, 7)
    _, frows = index.search(q[0], 5, allowed)
    assert len(frows) == 5 and set(frows.tolist()) <= set(allowed.tolist())
    assert len(index.search(q[0], 5, np.zeros(0, np.int64))[1]) == 0


def test_scale_bench_runs_on_tiny_sizes_and_writes_valid_json(tmp_path):
    from kotae.bench import scale

    scale.run([2000], queries=20, latency_queries=10, runs=2, build_runs=1, profile="tiny", keyword_max=2000, out_dir=tmp_path, name="t")
    data = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    (block,) = data["vectors"]
    assert block["n"] == 2000 and block["dim"] == synthetic.DIM
    flat = next(r for r in block["indexes"] if r["kind"] == "flat")
    assert flat["recall_at_10"] == 1.0 and flat["exact_latency_ratio"] == 1.0
    for r in block["indexes"]:
        assert 0 <= r["recall_at_10"] <= 1 and r["latency_ms"]["median"] > 0 and r["index_mb"] > 0
    assert data["keyword"][0]["latency_ms"]["n"] == 2 * 20
    assert "| index |" in (tmp_path / "t.md").read_text(encoding="utf-8")


def test_summary_and_percentiles():
    s = common.summary([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median"] == 3.0 and s["min"] == 1.0 and s["max"] == 100.0 and s["n"] == 5
    assert common.percentile([1.0, 2.0], 50) == 1.5
    assert len(common.repeat(lambda: None, runs=5)) == 5


def test_gold_questions_are_spread_over_the_file():
    from kotae.bench.query import gold_questions

    qs = gold_questions(12)
    assert len(qs) == 12 == len(set(qs))
    assert any(q.isascii() for q in qs) and any(not q.isascii() for q in qs)


def test_synthetic_tokens_look_like_text():
    passages = synthetic.token_lists(50, seed=0)
    queries = synthetic.token_queries(passages, 5, seed=1)
    assert all(len(p) >= 8 for p in passages) and all(len(q) == 12 for q in queries)


def test_unknown_embedding_backend_is_one_clear_error(tmp_path):
    from kotae.index.embedders import EmbedderError, load_embedder

    with pytest.raises(EmbedderError, match="backend"):
        load_embedder("e5-small", tmp_path, backend="tensorrt")


def test_embed_backend_setting_reads_from_the_environment():
    from kotae.settings import load_settings

    assert load_settings(env={}).embed_backend == "auto"
    assert load_settings(env={"KOTAE_EMBED_BACKEND": "onnx"}).embed_backend == "onnx"
    assert load_settings(env={"KOTAE_QUERY_CACHE_SIZE": "0"}).query_cache_size == 0


def test_checkout_env_makes_a_subprocess_import_kotae_from_the_other_checkout(tmp_path):
    import subprocess
    import sys

    other = tmp_path / "other"
    other.mkdir()
    (other / "__init__.py").write_text("WHERE = 'the other checkout'\n", encoding="utf-8")
    common.checkout_env(other)  # a second call reuses the link
    out = subprocess.run([sys.executable, "-c", "import kotae; print(kotae.WHERE)"], env=common.checkout_env(other),
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "the other checkout"


def test_ab_interleaves_the_bursts_and_compares_per_cycle(monkeypatch, tmp_path):
    from kotae.bench import ab, query
    from kotae.index import engine

    class FakeServer:
        def __init__(self, index_dir, cache_dir, corpus_dir, checkout=None):
            self.side = "this" if checkout is None else "other"
            self.stopped = False

        def wait_ready(self):
            return 0.0

        def stop(self):
            self.stopped = True

    turns: list[str] = []
    started: list[FakeServer] = []
    rps = {"this": iter([0, 100.0, 90.0, 110.0]), "other": iter([0, 80.0, 100.0, 90.0])}  # 0: the warm-up burst

    def burst(server, bodies):
        if server not in started:
            started.append(server)
        turns.append(server.side)
        return next(rps[server.side]), 15.0 if server.side == "this" else 16.0

    monkeypatch.setattr(query, "Server", FakeServer)
    monkeypatch.setattr(engine, "run_ingest", lambda settings, progress: None)
    monkeypatch.setattr(ab, "_burst", burst)
    res = ab.run(tmp_path, cycles=3, questions=5)
    assert turns[2:] == ["other", "this", "this", "other", "other", "this"]  # the order swapped every cycle
    assert all(s.stopped for s in started)
    assert [r["this_over_other"] for r in res["per_cycle"]] == [1.25, 0.9, round(110 / 90, 3)]
    assert res["this_over_other_median"] == 1.222
    assert res["sides"]["this"]["rps_median"] == 100.0 and res["sides"]["other"]["server_cpu_ms_per_request_median"] == 16.0
    assert res["requests_per_burst"] == 5 * ab.REPEAT
    assert "**1.222**" in ab.markdown(res)
