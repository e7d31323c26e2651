"""Display text of passages (ingest/clean.py): headings stay off the next sentence, footnote
marks and page numbers go, slide lines and hyphenated words are joined — while offsets keep
pointing at the untouched source (tests/test_chunk.py checks those properties)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kotae.index.highlight import sentence_spans
from kotae.ingest.chunk import ChunkSettings
from kotae.ingest.clean import clean_text
from kotae.ingest.discover import SourceFile
from kotae.ingest.read import read_document

REPO = Path(__file__).resolve().parents[1]


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


@pytest.mark.parametrize("source, heading, sentence", [
    # corpus/004: a bold line used as a heading
    ("**1. AIの「垂直統合」モデルの加速**\nこれまで「モデルを作る会社」と「インフラを貸す会社」は別物でした。",
     "1. AIの「垂直統合」モデルの加速", "これまで「モデルを作る会社」と「インフラを貸す会社」は別物でした。"),
    # plain-text chapter headings from converted PDFs
    ("第2章 船隊\n同社が保有する船は12隻である。", "第2章 船隊", "同社が保有する船は12隻である。"),
    ("Fleet overview\nThe company operates twelve ships from its base in Kobe.",
     "Fleet overview", "The company operates twelve ships from its base in Kobe."),
])
def test_a_heading_is_never_glued_to_the_next_sentence(source, heading, sentence):
    text = clean_text(source)
    assert heading + sentence not in text.replace(" ", "")
    assert _sentences(text) == [heading, sentence]


def test_slide_lines_and_hyphenated_words_are_still_joined():
    assert clean_text("100社以上の  \n大規模エンタープライズ  \nと直接契約") == "100社以上の大規模エンタープライズと直接契約"
    assert clean_text("顧客総数:  \n450,000社") == "顧客総数: 450,000社"
    assert clean_text("a state-of-the-\nart model and its infra-\nstructure.") == "a state-of-the-art model and its infra-structure."


def test_footnote_marks_and_page_numbers_are_removed_but_units_kept():
    text = clean_text("21\n\nこれは重要だといえる。 ³⁹ 次の文である。²⁸\n\n本社は100 km² の敷地にある。founded³⁹ in Paris.")
    assert text == "これは重要だといえる。 次の文である。\n本社は100 km² の敷地にある。founded in Paris."
    assert clean_text("優位性は揺るぎない<sup>1</sup>。") == "優位性は揺るぎない。"


def test_the_shipped_corpus_has_no_footnote_marks_or_glued_headings_in_display_text():
    cfg = ChunkSettings(chunk_chars=400, min_chars=80, overlap_sentences=1, max_tokens=10_000)
    texts = []
    for path in sorted((REPO / "corpus").iterdir()):
        read = read_document(SourceFile(path.name, path, "text"), path.read_bytes(), cfg)
        for p in read.passages:
            if p.kind != "front_matter":
                assert p.text == clean_text(read.document.text[p.char_start : p.char_end])
                texts.append(p.text)
    joined = "\n".join(texts)
    assert not any(ch in joined for ch in "¹²³⁴⁵⁶⁷⁸⁹⁰"), [t for t in texts if any(ch in t for ch in "¹²³⁴⁵⁶⁷⁸⁹⁰")][:2]
    assert "モデルの加速これまで" not in joined and "モデルの加速\nこれまで" in joined
    assert "\n21\n" not in joined and not joined.startswith("21\n")


def test_enumerators_initials_and_abbreviations_do_not_end_a_sentence():
    from kotae.ingest.sentences import split_sentences

    def split(text):
        return [text[s:e] for s, e in split_sentences(text)]

    assert split("1. AIの加速\nこれまで別物でした。") == ["1. AIの加速\nこれまで別物でした。"]
    assert split("Founded by Dr. Lample and Richard M. Stallman in the U.S. in 2023. It grew.") == [
        "Founded by Dr. Lample and Richard M. Stallman in the U.S. in 2023.", "It grew."]
    assert split("It rebuilds from the other N. If a disk fails, the answer is no. Then stop.") == [
        "It rebuilds from the other N.", "If a disk fails, the answer is no.", "Then stop."]
    assert split("It costs 3. Then 4. Version 1.0 is out.") == ["It costs 3.", "Then 4.", "Version 1.0 is out."]


def test_other_cleaning_rules_re_embed_only_the_documents_whose_passages_they_change(tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from fake_embedder import FakeEmbedder

    from kotae.index import engine
    from kotae.ingest import chunk, clean
    from kotae.settings import load_settings

    monkeypatch.setattr(engine, "get_embedder", lambda *args, **kwargs: FakeEmbedder())
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.md").write_text("# 見出し\n\n本文である。次の文である。\n", encoding="utf-8")
    (tmp_path / "corpus" / "b.md").write_text("# Notes\n\nA first sentence. A second one.\n", encoding="utf-8")
    settings = load_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", cache_dir=tmp_path / "cache",
                             keyword_tokenizer="bigram")
    first = engine.run_ingest(settings, progress=False)
    assert first.embedded == first.passages > 0
    assert engine.run_ingest(settings, progress=False).embedded == 0
    # new rules that change no passage: every file is read again, none is embedded again, and
    # the index records the new rules (the next ingest reads nothing again)
    monkeypatch.setattr(clean, "TEXT_CLEANING", clean.TEXT_CLEANING + 1)
    same = engine.run_ingest(settings, progress=False)
    assert same.embedded == 0 and same.changed
    assert engine.run_ingest(settings, progress=False).changed is False
    # rules that change the English document's display text: only its passages are embedded again
    monkeypatch.setattr(clean, "TEXT_CLEANING", clean.TEXT_CLEANING + 1)
    monkeypatch.setattr(chunk, "clean_text", lambda source: clean.clean_text(source).replace("sentence", "Sentence"))
    changed = engine.run_ingest(settings, progress=False)
    b = next(f for f in changed.files if f.doc_id == "b.md")
    assert b.status == "indexed" and changed.embedded == b.passages > 0
    assert {f.status for f in changed.files if f.doc_id == "a.md"} == {"unchanged"}
    hits = engine.open_retriever(settings).search("first Sentence", k=3).hits
    assert any("A first Sentence." in h.text for h in hits)
