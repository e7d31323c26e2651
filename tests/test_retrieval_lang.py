"""Issue 10: the keyword side under the default tokenizer, language-aware dense scoring in a
mixed-language index, one place for retrieval defaults, and paragraph-respecting chunking."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from kotae.index.keyword import KeywordIndex
from kotae.index.search import RetrievalConfig, Retriever
from kotae.index.tokenize import tokenize
from kotae.ingest.chunk import ChunkSettings
from kotae.ingest.discover import SourceFile
from kotae.ingest.read import read_document
from kotae.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from fake_index import FakeLanguages  # noqa: E402

JA_PASSAGES = [
    "市立図書館は駅前に移転し、開館時間は午前九時から午後八時までとなった。",
    "郵便局の窓口は土曜日も正午まで開いている。",
    "温泉旅館の多くは源泉かけ流しを売りにしている。",
    "確定申告の期限は毎年三月十五日である。",
    "新幹線の指定席は一か月前から予約できる。",
]


def _keyword_top(passages: list[str], query: str) -> int:
    tokenizer = Settings().keyword_tokenizer
    index = KeywordIndex.build([tokenize(p, tokenizer) for p in passages])
    scores, rows = index.search(tokenize(query, tokenizer), 3)
    assert len(rows) and scores[0] > 0, query
    return int(rows[0])


@pytest.mark.parametrize("query, expected", [("郵便局", 1), ("温泉", 2), ("確定申告", 3), ("新幹線", 4), ("図書館", 0)])
def test_default_tokenizer_finds_a_one_word_japanese_query(query, expected):
    assert _keyword_top(JA_PASSAGES, query) == expected


def test_default_tokenizer_finds_a_compound_noun_and_its_parts():
    passages = JA_PASSAGES + ["申告書の書き方は税務署で相談できる。"]
    assert _keyword_top(passages, "確定申告期限") == 3  # compound written together
    assert _keyword_top(passages, "申告の期限") == 3


def test_retrieval_defaults_come_from_settings():
    s, r = Settings(), RetrievalConfig()
    pairs = {"mode": "retrieval_mode", "fusion": "fusion", "rrf_k": "rrf_k", "keyword_weight": "keyword_weight",
             "cross_lang_keyword_weight": "cross_lang_keyword_weight", "candidates": "candidates",
             "tokenizer": "keyword_tokenizer", "dense_norm": "dense_norm", "lang_min_passages": "lang_min_passages",
             "rerank": "reranker", "rerank_candidates": "rerank_candidates", "sentence_weight": "sentence_weight",
             "dedup_threshold": "dedup_threshold", "weak_keyword_ratio": "weak_keyword_ratio",
             "unquotable_last": "unquotable_last", "dense_cross_lang_offset": "dense_cross_lang_offset"}
    for field, setting in pairs.items():
        assert getattr(r, field) == getattr(s, setting), field


@pytest.mark.parametrize(
    "langs, norm, active",
    [
        (["ja"] * 30 + ["en"] * 30, "auto", True),
        (["ja"] * 30 + ["en"] * 5, "auto", False),  # a few English lines in a Japanese corpus
        (["ja"] * 60, "auto", False),
        (["ja"] * 60, "lang_z", True),
        (["ja"] * 30 + ["en"] * 30, "none", False),
    ],
)
def test_language_aware_dense_scoring_is_decided_from_the_index(langs, norm, active):
    r = Retriever(FakeLanguages(langs), None, RetrievalConfig(dense_norm=norm, rerank="none"))
    assert r.lang_z_active is active


@pytest.mark.parametrize(
    "langs, best, strength",
    [
        (["ja"] * 30 + ["en"] * 30, 0.3, 0.1),  # weak matches in a bilingual index count for little
        (["ja"] * 30 + ["en"] * 30, 10.0, 1.0),  # strong ones keep their full weight
        (["ja"] * 60, 0.3, 1.0),  # a one-language index is never changed
        (["ja"] * 60 + ["en"] * 5, 0.3, 1.0),
    ],
)
def test_weak_keyword_evidence_is_scaled_down_only_in_a_bilingual_index(langs, best, strength):
    from kotae.index.fusion import Ranked

    r = Retriever(FakeLanguages(langs), None, RetrievalConfig(weak_keyword_ratio=0.5, rerank="none"))
    bm25 = Ranked(("a#0", "b#0"), np.array([best, best / 2], dtype=np.float32))
    # one query token: ideal score = idf 2 x (k1 + 1) = 5; half of it = 2.5
    assert r._keyword_strength(r._match_strength(["図書館"], bm25)) == pytest.approx(min(1.0, best / 2.5) if strength < 1 else 1.0)


TOWNS = ["Ashford", "Brierley", "Calder", "Dunmore", "Elston", "Fenwick", "Garston", "Holloway", "Ilford", "Jarrow",
         "Kelso", "Lindale", "Marden", "Newby", "Oakham", "Penrith", "Quarry Bank", "Redcar", "Selby", "Thirsk",
         "Ulverston", "Verwood", "Wetherby", "Yarm", "Zennor"]
JA_TOPICS = ["郵便局", "市役所", "病院", "公民館", "体育館", "美術館", "動物園", "水族館", "市場", "公園",
             "駅", "港", "空港", "図書室", "博物館", "温泉", "神社", "寺", "城", "橋", "ダム", "灯台", "牧場", "農園"]


FACILITIES = ["museum", "swimming pool", "town hall", "railway station", "market hall", "football ground", "harbour"]


def _mixed_corpus(root: Path) -> None:
    """One Japanese document whose first paragraph alone answers the question; many English
    paragraphs about other towns as distractors; enough of each language that the index
    counts as bilingual."""
    en = [f"The {FACILITIES[i % len(FACILITIES)]} of {t} opens at {8 + i % 3} in the morning and closes at {5 + i % 4} "
          f"in the evening. Volunteers from {t} run a club for children every Saturday, and the building on the high "
          f"street was renovated last year with money raised by the residents of {t}." for i, t in enumerate(TOWNS)]
    (root / "towns.md").write_text("# Town services\n\n" + "\n\n".join(en) + "\n", encoding="utf-8")
    # each paragraph over 240 characters, so that none is packed with the next one
    filler = "町の人口は約二万人で、農業と漁業が盛んである。週末には近隣の市からも多くの観光客が訪れ、商店街は賑わいを見せる。町役場は住民の声を聞くための説明会を毎月開いており、その記録は広報誌に掲載される。" * 2
    ja = ["港北町の町立図書館は、毎週月曜日が休館日で、夜は午後十時まで開いている。" + filler]
    ja += [f"港北町の{t}は、町の中心から少し離れた場所にあり、地元の人々に親しまれている。" + filler for t in JA_TOPICS]
    (root / "kohoku.md").write_text("# 港北町の案内\n\n" + "\n\n".join(ja) + "\n", encoding="utf-8")


def test_english_question_finds_the_only_japanese_answer_among_english_distractors(tmp_path: Path, model_cache: Path):
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _mixed_corpus(corpus)
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index", cache_dir=model_cache, dense_norm="auto")
    run_ingest(settings, progress=False)
    retriever = open_retriever(settings)
    assert retriever.lang_z_active  # both languages have enough passages

    def rank(r: Retriever) -> int | None:
        hits = r.search("Until what time is the Kohoku town library open at night?", k=10).hits
        return next((i for i, h in enumerate(hits) if h.doc_id == "kohoku.md" and "図書館" in h.text), None)

    found = rank(retriever)
    assert found is not None and found < 3
    plain = Retriever(retriever.backend, retriever.embedder, dataclasses.replace(retriever.config, dense_norm="none"))
    before = rank(plain)
    assert before is None or before > found  # the language bias the per-language scores remove


def _chunks(text: str, mode: str):
    cfg = ChunkSettings(chunk_chars=400, min_chars=40, overlap_sentences=1, max_tokens=10_000, mode=mode, paragraph_chars=300)
    read = read_document(SourceFile("doc.md", None, "markdown"), text.encode("utf-8"), cfg)
    return [read.document.text[p.char_start : p.char_end] for p in read.passages]


def test_paragraph_mode_keeps_a_short_paragraph_to_itself():
    short = "港北町の図書館は月曜日が休館日である。貸出は一人十冊まで、期間は二週間で、予約は電話でも受け付ける。"
    other = "隣町の体育館は改修工事のため来年の春まで閉鎖される。工事費は町の予算と県の補助金で賄われる。"
    text = f"# 案内\n\n{short}\n\n{other}\n"
    assert any(short in c and other in c for c in _chunks(text, "size"))  # packed to reach a size
    paragraph = _chunks(text, "paragraph")
    assert any(short in c for c in paragraph) and not any(short in c and other in c for c in paragraph)


def test_paragraph_mode_keeps_a_list_with_its_introduction_and_cuts_long_paragraphs_evenly():
    intro = "シリーズCの条件は次の通り："
    text = f"# 資金\n\n{intro}\n- 主導投資家: ASML\n- 出資比率: 11%\n\n" + "欧州の計算基盤への投資は今後も続く見込みである。" * 14 + "\n"
    chunks = _chunks(text, "paragraph")
    assert any(intro in c and "11%" in c for c in chunks)
    long_parts = [len(c) for c in chunks if "計算基盤" in c]
    assert len(long_parts) >= 2 and max(long_parts) <= 300 and min(long_parts) >= 0.5 * max(long_parts)


# The default chunking ("auto", settings.py): prose sections are cut by paragraph, sections of
# fragments are packed as before. Paragraphs of ~320 characters, a short one (~90) between them.
_FILLER = "町の人口は約二万人で、農業と漁業が盛んである。週末には近隣の市からも多くの観光客が訪れ、商店街は賑わいを見せる。"
PROSE = [
    "港北町の町立図書館は、駅前の再開発に合わせて新しい建物へ移転した。" + _FILLER * 5,
    "図書館の休館日は毎週月曜日で、祝日の翌日も休みになる。貸出は一人十冊まで、期間は二週間で、予約は電話でも受け付ける。雑誌の最新号は館内でのみ読めるが、一週間が過ぎたものは借りられる。",
    "隣町の体育館は改修工事のため来年の春まで閉鎖される。工事費は町の予算と県の補助金で賄われる。" + _FILLER * 5,
]
FRAGMENTS = [
    "Arthur Mensch（CEO・共同創業者）\n- Google DeepMindで約2.5年間研究者として在籍\n- 機械学習の博士号を取得し、数学でポスドク研究を実施",
    "Guillaume Lample（最高科学責任者）\n- Meta AIで9年間勤務し、LLaMA言語モデルの創造者の一人\n- 大規模AI基盤モデルのスペシャリスト",
    "Timothée Lacroix（CTO・共同創業者）\n- Meta AIで9年間研究職に従事\n- AI システムアーキテクチャとモデルトレーニングの専門家",
]


def _default_chunks(text: str, **changes) -> list[str]:
    cfg = dataclasses.replace(ChunkSettings(max_tokens=10_000), **changes)
    read = read_document(SourceFile("doc.md", None, "markdown"), text.encode("utf-8"), cfg)
    return [read.document.text[p.char_start : p.char_end] for p in read.passages]


def test_default_chunking_keeps_a_short_paragraph_of_prose_to_itself():
    chunks = _default_chunks("# 町の施設\n\n" + "\n\n".join(PROSE) + "\n")
    short = PROSE[1]
    assert any(c.strip().endswith(short) and len(c.strip()) - len(short) < 10 for c in chunks), chunks
    assert not any(short in c and ("体育館" in c or "駅前" in c) for c in chunks)
    # what the old default ("size") did: the short paragraph packed with its neighbour
    assert any(short in c and "体育館" in c for c in _default_chunks("# 町の施設\n\n" + "\n\n".join(PROSE) + "\n", mode="size"))


def test_default_chunking_packs_a_section_of_fragments_as_before():
    text = "# 創業者\n\n" + "\n\n".join(FRAGMENTS) + "\n"
    together = lambda chunks: any(FRAGMENTS[0].split("\n")[0] in c and FRAGMENTS[1].split("\n")[0] in c for c in chunks)
    assert together(_default_chunks(text))  # label + list blocks say little alone
    assert together(_default_chunks(text, mode="size"))
    assert not together(_default_chunks(text, mode="paragraph"))


def test_a_reference_list_does_not_outrank_the_passage_that_answers(tmp_path: Path, monkeypatch):
    """A reference list repeats the question's words in its titles, so both sides score it
    high, yet it answers nothing: passages with no quotable unit move behind the rest."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from fake_embedder import FakeEmbedder

    from kotae.index import engine
    from kotae.settings import load_settings

    monkeypatch.setattr(engine, "get_embedder", lambda *args, **kwargs: FakeEmbedder())
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "report.md").write_text(
        "# Koyebの買収\n\nMistralはKoyebを2026年2月に買収した。Koyebはサーバーレス基盤を提供するパリの企業で、"
        "従業員は約二十人だった。買収によってMistralは自社のクラウドで顧客のモデルを動かせるようになる。\n\n"
        "## 参考文献\n\n"
        "1. MistralによるKoyeb買収の時期と狙い - Example News, 2月 18, 2026にアクセス、<https://example.com/mistral-koyeb>\n"
        "2. Koyeb買収の時期：Mistralの発表, 2月 19, 2026にアクセス、<https://example.org/koyeb-mistral>\n"
        "3. Mistral Koyeb 買収 時期 まとめ, 2月 20, 2026にアクセス、<https://example.net/mistral-koyeb-2026>\n",
        encoding="utf-8")
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    engine.run_ingest(settings, progress=False)
    retriever = engine.open_retriever(settings)
    question = "MistralによるKoyeb買収の時期"
    top = retriever.search(question, k=2).hits
    assert "2026年2月に買収した" in top[0].text, [h.text[:40] for h in top]
    assert "アクセス" in top[1].text
    before = Retriever(retriever.backend, retriever.embedder, dataclasses.replace(retriever.config, unquotable_last=False))
    assert "アクセス" in before.search(question, k=2).hits[0].text  # what it fixes
