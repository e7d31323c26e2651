"""Chunker properties: offsets round-trip, nothing lost, limits kept, sentences whole."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kotae.ingest.chunk import ChunkSettings
from kotae.ingest.clean import clean_text
from kotae.ingest.discover import SourceFile
from kotae.ingest.read import read_document

JA_SENTENCES = [
    "Mistral AI は2023年にパリで設立された。",
    "同社はオープンウェイトのモデルを公開している！",
    "欧州のデータ主権をどう守るのか？",
    "ASML がシリーズCを主導し、評価額は€11.7bnとなった。",
    "「計算資源を支配する者がAIを支配する」と経営陣は語った。",
    "従業員数は2025年9月に350人へ増えた。",
]
EN_SENTENCES = [
    "Mistral AI was founded in Paris in 2023.",
    "The Series C round raised €1.7bn at a valuation of €11.7bn.",
    "Why does data sovereignty matter to European banks?",
    "Koyeb was the company's first acquisition!",
]
LONG_NO_END = "欧州の産業界は計算基盤と半導体と電力網と人材を同時に整える必要があり" * 12

block = st.one_of(
    st.lists(st.sampled_from(JA_SENTENCES), min_size=1, max_size=8).map("".join),
    st.lists(st.sampled_from(EN_SENTENCES), min_size=1, max_size=5).map(" ".join),
    st.sampled_from(["# 概要", "## Funding › rounds", "### 資金調達の推移", "エグゼクティブサマリー"]),
    st.just("| 時期 | 従業員数 |\n|---|---|\n| 2024年初期 | 35人 |\n| 2025年9月 | 350人 |"),
    st.just("- 顧客総数: 450,000社\n- 高単価顧客: 1,031社"),
    st.just("顧客総数:  \n450,000社\n\n100社以上の  \n大規模エンタープライズ  \nと直接契約"),
    st.just(LONG_NO_END),
)
documents = st.lists(block, min_size=1, max_size=14).map("\n\n".join)
front_matter = st.sampled_from(["", "---\ntitle: \"テスト文書\"\nemployees: 350\n---\n"])
limits = st.sampled_from([120, 200, 400])


MODES = pytest.mark.parametrize("mode", ["size", "auto", "paragraph"])


def _read(text: str, limit: int, count_tokens=None, mode: str = "size"):
    # paragraphs may be up to twice the size limit in the modes that keep them whole
    cfg = ChunkSettings(chunk_chars=limit, min_chars=40, overlap_sentences=1, max_tokens=10_000, mode=mode, paragraph_chars=2 * limit)
    return read_document(SourceFile("doc.md", None, "markdown"), text.encode("utf-8"), cfg, count_tokens)


def _content_positions(text: str, start: int) -> set[int]:
    return {i for i in range(start, len(text)) if unicodedata.category(text[i])[0] in "LN"}


@MODES
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fm=front_matter, body=documents, limit=limits)
def test_offsets_round_trip_and_cover_every_character(mode, fm, body, limit):
    text = fm + body
    read = _read(text, limit, mode=mode)
    covered: set[int] = set()
    for p in read.passages:
        source = read.document.text[p.char_start : p.char_end]
        assert source.strip(), "a passage points at nothing"
        assert p.text == (source if p.kind == "front_matter" else clean_text(source))
        covered.update(range(p.char_start, p.char_end))
    missing = _content_positions(text, 0) - covered
    assert not missing, f"characters in no passage: {text[min(missing):min(missing)+20]!r}"


@MODES
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=documents, limit=limits)
def test_passages_respect_the_character_limit(mode, body, limit):
    read = _read(body, limit, mode=mode)
    cap = limit if mode == "size" else 2 * limit
    for p in read.passages:
        source = read.document.text[p.char_start : p.char_end]
        # Headings that introduce a passage ride along on top of the limit.
        lead = 0
        for line in source.split("\n"):
            if line.startswith("#") or line in ("", "エグゼクティブサマリー"):
                lead += len(line) + 1
            else:
                break
        assert p.char_end - p.char_start - lead <= (limit if p.kind != "body" else cap)


@MODES
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=documents, limit=limits)
def test_japanese_sentences_are_never_cut(mode, body, limit):
    read = _read(body, limit, mode=mode)
    spans = [(p.char_start, p.char_end) for p in read.passages]
    for sentence in JA_SENTENCES + EN_SENTENCES:
        pos = body.find(sentence)
        while pos != -1:
            end = pos + len(sentence)
            assert any(s <= pos and end <= e for s, e in spans), f"sentence cut: {sentence}"
            pos = body.find(sentence, end)


def test_token_limit_is_enforced_by_repacking():
    body = "\n\n".join(["".join(JA_SENTENCES)] * 4)
    read = _read(body, 400, count_tokens=lambda texts: [len(t) for t in texts])
    cfg_limit = 200
    cfg = ChunkSettings(chunk_chars=400, min_chars=40, overlap_sentences=1, max_tokens=cfg_limit)
    read = read_document(SourceFile("d.md", None, "markdown"), body.encode(), cfg, lambda texts: [len(t) for t in texts])
    assert max(len(p.embed_text) for p in read.passages) <= cfg_limit
    # and without the counter the same settings make passages that would be over the limit
    plain = read_document(SourceFile("d.md", None, "markdown"), body.encode(), cfg)
    assert max(len(p.embed_text) for p in plain.passages) > cfg_limit


def test_slide_lines_are_joined_into_sentences():
    body = "# Vibe\n\n顧客総数:  \n450,000社\n\n100社以上の  \n大規模エンタープライズ  \nと直接契約"
    texts = [p.text for p in _read(body, 400).passages]
    assert any("100社以上の大規模エンタープライズと直接契約" in t for t in texts)


def test_sections_tables_html_and_link_lists():
    body = (
        "# 資金調達\n\n## 推移\n\n| 時期 | 金額 |\n|---|---|\n| 2023年6月 | €105m |\n| 2025年9月 | €1.7bn |\n\n"
        "本文の段落である。\n\n📚 **関連情報**\n\n<div style=\"x\">\n<a href=\"https://example.com/?tag=aff\">買う</a>\n</div>\n\n"
        "- 1 2 <https://example.com/a/very/long/reference/url/>\n<https://example.com/a/very/long/reference/url/>\n"
    )
    read = _read(body, 400)
    table = [p for p in read.passages if p.kind == "table"]
    assert table and table[0].section == "資金調達 › 推移"
    assert "| 2025年9月 | €1.7bn |" in table[0].text
    everything = "\n".join(p.text for p in read.passages)
    assert "example.com" not in everything and "関連情報" not in everything and "<div" not in everything
