"""The foundation, as a user runs it: the real default model over corpus/, cited passages
whose offsets point at the source, Japanese and cross-lingual English questions."""

from __future__ import annotations

import json
import unicodedata

import pytest

from kotae.service.cli import main

# (question, document, a fact the cited passage must contain)
QUESTIONS = [
    ("Series C のリード投資家はどこですか？", "000_88ac10f7089fed89.txt", "ASML"),
    ("Mistral AI の従業員数は2025年9月時点で何人？", "002_2a18f7e169fe24df.txt", "350人"),
    ("Mistral AI が初めて買収した企業はどこ？", "004_80795f28c2f237e0.txt", "Koyeb"),
    ("フランス軍事省との枠組み協定はいつ締結された？", "003_fdc008b822af32ee.txt", "2026年1月9日"),
    ("Vibe の Pro プランの月額料金は？", "001_56ffd51338effe2f.txt", "14.99"),
    ("Who led Mistral AI's Series C round?", "000_88ac10f7089fed89.txt", "ASML"),
    ("Which company did Mistral AI acquire first?", "004_80795f28c2f237e0.txt", "Koyeb"),
    # the front matter states it in English: "35 (early 2024) to 350 (September 2025)"
    ("How many employees did Mistral have in September 2025?", "002_2a18f7e169fe24df.txt", "350"),
    ("When did Mistral sign the framework agreement with the French Ministry of the Armed Forces?", "003_fdc008b822af32ee.txt", "2026年1月9日"),
    ("How much does the Vibe Pro plan cost per month?", "001_56ffd51338effe2f.txt", "14.99"),
    ("What was Mistral's post-money valuation after the Series C?", "000_88ac10f7089fed89.txt", "11.7bn"),
]


def _norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


@pytest.mark.parametrize("question, doc_id, fact", QUESTIONS)
def test_fact_in_top_three(corpus_retriever, question, doc_id, fact):
    hits = corpus_retriever.search(question, k=3).hits
    assert any(_norm(fact) in _norm(h.text) for h in hits), [h.text[:80] for h in hits]
    backend = corpus_retriever.backend
    for h in hits:
        original = backend.document(h.doc_id).text
        assert original[h.char_start : h.char_end].strip(), "offsets point at nothing"
        s, e = h.highlight
        assert 0 <= s < e <= len(h.text)


def test_ask_json_prints_contract_passages(corpus_settings, capsys, monkeypatch):
    monkeypatch.setenv("KOTAE_CACHE_DIR", str(corpus_settings.cache_dir))
    code = main(["ask", "Koyeb の買収はいつ報じられた？", "-k", "3", "--json", "--index", str(corpus_settings.index_dir)])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["found"] is True and isinstance(out["confidence"], float) and "[1]" in out["answer"]
    assert [p["citation"] for p in out["passages"]] == [1, 2, 3]
    required = {"citation", "doc_id", "title", "section", "page", "char_start", "char_end", "text", "lang", "score", "highlight"}
    for p in out["passages"]:
        assert required <= set(p)
        assert p["lang"] in {"ja", "en"}


def test_ask_without_an_index_is_one_readable_line(tmp_path, capsys):
    code = main(["ask", "質問", "--index", str(tmp_path / "none")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "no index at" in err and "kotae ingest" in err


def test_index_built_with_another_embedder_is_refused(corpus_settings, capsys):
    code = main(["ask", "質問", "--index", str(corpus_settings.index_dir), "--model", "use-multilingual"])
    err = capsys.readouterr().err
    assert code == 2 and "was built with embedder 'e5-small'" in err and "--rebuild" in err


@pytest.mark.parametrize("argv", [["--help"], ["ingest", "--help"], ["ask", "--help"], ["serve", "--help"],
                                  ["models", "--help"], ["eval", "--help"]])
def test_every_help_page_renders(argv, capsys):
    """`kotae --help` is the first thing a newcomer types; a stray % in a help string crashed it."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert "usage: kotae" in capsys.readouterr().out
