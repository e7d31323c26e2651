"""`kotae eval` end to end on a tiny corpus and gold file made here, with the real default
model, both relevance styles (docs + answers, passage spans), an unanswerable question, a
configuration file and the full set of outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

JA = """# 会社概要

株式会社サクラ技研は2019年に京都で設立された。主力製品は業務向けの音声認識エンジン「こだま」である。
"""
EN = """---
title: Product notes
---
# Kodama

Kodama recognises speech in Japanese and English. The engine runs fully offline on a laptop CPU.
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-eval")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "ja.md").write_text(JA, encoding="utf-8")
    (corpus / "notes").mkdir()
    (corpus / "notes" / "en.md").write_text(EN, encoding="utf-8")
    sentence = "The engine runs fully offline on a laptop CPU."
    gold = [
        {"id": "a1", "question": "サクラ技研はいつ設立されましたか？", "lang": "ja", "type": "numeric", "docs": ["ja.md"], "answers": ["2019年"]},
        {"id": "a2", "question": "Where was Sakura Giken founded?", "lang": "en", "type": "fact", "doc": "ja.md", "answers": ["京都"],
         "source": "made in the test"},
        {"id": "p1", "question": "Does Kodama need an internet connection?", "type": "fact", "doc": "notes/en.md",
         "passage": sentence, "passage_start": EN.index(sentence)},
        {"id": "p2", "question": "どの言語を認識できますか", "doc": "notes/en.md",
         "passage": "Kodama recognises speech in Japanese and English.", "alt_passages": [{"passage": "Kodama"}]},
        {"id": "u1", "question": "What does Kodama cost per month?", "lang": "en", "unanswerable": True},
    ]
    (root / "gold.jsonl").write_text("\n".join(json.dumps(g, ensure_ascii=False) for g in gold) + "\n", encoding="utf-8")
    (root / "half.toml").write_text('name = "kw-half"\n[settings]\nkeyword_weight = 0.5\nretrieval_mode = "hybrid"\n', encoding="utf-8")
    return root


def test_kotae_eval_end_to_end(tiny, model_cache, capsys):
    from kotae.service.cli import main

    out = tiny / "out"
    rc = main(["eval", "--corpus", str(tiny / "corpus"), "--gold", str(tiny / "gold.jsonl"), "--index", str(tiny / "index"),
               "--cache-dir", str(model_cache), "--config", "default", "dense", "keyword", str(tiny / "half.toml"),
               "--k", "1,3,5", "--out", str(out), "--name", "run", "--bootstrap", "200", "--permutations", "200", "--quiet"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "hit@1" in captured.out and "kw-half" in captured.out and "report:" in captured.out
    assert "answer@1" in captured.out and "false abstention" in captured.out
    for ext in (".json", ".jsonl", ".trec", ".failures.tsv", ".md", ".png"):
        assert (out / f"run{ext}").stat().st_size > 0, ext

    summary = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert list(summary["configs"]) == ["default", "dense", "keyword", "kw-half"]
    g = summary["gold"]
    assert (g["questions"], g["answerable"], g["unanswerable"], g["by_lang"]) == (5, 4, 1, {"ja": 2, "en": 3})
    for name, c in summary["configs"].items():
        assert c["metrics"]["overall"]["n"] == 4
        if name != "keyword":
            # the dense side ranks every passage of the tiny corpus (< 5): all relevant ones are in the top 5
            assert c["metrics"]["overall"]["hit@5"]["mean"] == 1.0, name
        assert c["unreachable"] == [], name
        assert not [w for w in c["warnings"] if "not found" in w or "not in the index" in w], c["warnings"]
        assert c["abstention"]["unanswerable"] == 1
        # answers are scored on the questions with gold answer strings (a1, a2)
        assert c["metrics"]["overall"]["answer@any"]["n"] == 2 and c["answer_abstention"]["unanswerable"] == 1
        assert c["config"]["index"]["embedder"]["name"] == "e5-small"
        assert c["config"]["ks"] == [1, 3, 5]
    assert summary["configs"]["dense"]["config"]["retrieval"]["mode"] == "dense"
    assert summary["configs"]["kw-half"]["config"]["retrieval"]["keyword_weight"] == 0.5
    assert summary["configs"]["dense"]["vs_baseline"]["mrr@10"]["n"] == 4
    assert summary["configs"]["default"]["vs_baseline"] is None

    lines = [json.loads(x) for x in (out / "run.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 4 * 5
    a2 = next(x for x in lines if x["id"] == "a2" and x["config"] == "dense")
    assert a2["source"] == "made in the test" and a2["crosslingual"] is True
    assert a2["passages"] and {"doc_id", "char_start", "char_end", "text", "score", "relevant"} <= set(a2["passages"][0])
    p1 = next(x for x in lines if x["id"] == "p1" and x["config"] == "keyword")
    assert p1["n_relevant"] >= 1 and any(p["relevant"] for p in p1["passages"])
    p2 = next(x for x in lines if x["id"] == "p2" and x["config"] == "default")
    assert p2["lang"] == "ja"  # detected: the gold line has no lang
    a1 = next(x for x in lines if x["id"] == "a1" and x["config"] == "default")
    assert "2019年" in a1["answer"]["text"] and a1["metrics"]["answer@any"] == 1.0
    md = (out / "run.md").read_text(encoding="utf-8")
    assert "## Answers" in md
    assert "![metrics per configuration](run.png)" in md and "| `kw-half` |" in md


def test_kotae_eval_errors_are_one_line(tiny, model_cache, capsys):
    from kotae.service.cli import main

    bad = tiny / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "q"}\n', encoding="utf-8")
    assert main(["eval", "--gold", str(bad), "--corpus", str(tiny / "corpus"), "--index", str(tiny / "index"), "--quiet"]) == 2
    assert "no relevance" in capsys.readouterr().err
    assert main(["eval", "--gold", str(tiny / "gold.jsonl"), "--config", "nope", "--quiet"]) == 2
    assert "unknown configuration 'nope'" in capsys.readouterr().err
    assert main(["eval", "--gold", str(tiny / "gold.jsonl"), "--k", "0,x", "--quiet"]) == 2
