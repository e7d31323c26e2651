"""`kotae eval --suite` on two tiny sets made here (real default model): every configuration on
every set, each set over its own corpus and index folder, a set with missing sources skipped
with its reason, the plain paragraph BM25 baseline beside kotae, and one report with per-group
paired tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kotae.evals.sets import EvalSet

JA = """サクラ技研について

株式会社サクラ技研は2019年に京都で設立された。主力製品は業務向けの音声認識エンジン「こだま」である。

こだまは日本語と英語の音声を認識する。ノートパソコンのCPUだけで動作し、通信は不要である。

社員数は48人で、本社は京都市下京区にある。
"""
EN = """Kodama notes

Kodama recognises speech in Japanese and English and runs fully offline on a laptop CPU.

The licence costs 120 dollars per seat and year; volume discounts start at fifty seats.
"""
OTHER = """倉庫の記録

第三倉庫の床面積は1200平方メートルで、冷蔵区画が二つある。

出荷は毎朝六時に始まり、午後二時に締め切られる。
"""


def _gold(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    a = root / "a"
    (a / "en").mkdir(parents=True)
    (a / "sakura.txt").write_text(JA, encoding="utf-8")
    (a / "en" / "kodama.txt").write_text(EN, encoding="utf-8")
    p_staff = "社員数は48人で、本社は京都市下京区にある。"
    p_price = "The licence costs 120 dollars per seat and year; volume discounts start at fifty seats."
    gold_a = _gold(root / "a.jsonl", [
        {"id": "a-ja", "question": "サクラ技研の社員数は何人ですか", "lang": "ja", "type": "same", "doc": "sakura.txt",
         "answers": ["48人"], "passage": p_staff, "passage_start": JA.index(p_staff)},
        {"id": "a-en", "question": "How much does a Kodama licence cost per seat?", "lang": "en", "type": "same",
         "doc": "en/kodama.txt", "answers": ["120 dollars"], "passage": p_price, "passage_start": EN.index(p_price)},
        {"id": "a-x", "question": "In which city was Sakura Giken founded?", "lang": "en", "type": "cross", "docs": ["sakura.txt"],
         "answers": ["京都"]},
    ])
    b = root / "b"
    b.mkdir()
    (b / "souko.txt").write_text(OTHER, encoding="utf-8")
    p_floor = "第三倉庫の床面積は1200平方メートルで、冷蔵区画が二つある。"
    gold_b = _gold(root / "b.jsonl", [
        {"id": "b-1", "question": "第三倉庫の床面積は", "lang": "ja", "doc": "souko.txt", "answers": ["1200平方メートル"],
         "passage": p_floor, "passage_start": OTHER.index(p_floor)},
    ])
    sets = [EvalSet("set-a", (gold_a,), a, "two languages"), EvalSet("set-b", (gold_b,), b, "one document"),
            EvalSet("set-gone", (gold_b,), root / "nowhere", "sources missing",
                    needs=((root / "nowhere-source", "made by a script that is not installed"),))]
    return root, sets


def test_suite_runs_every_config_on_every_set_with_own_indexes(tiny_sets, model_cache):
    from kotae.evals.configs import resolve_configs
    from kotae.evals.suite import run_suite
    from kotae.settings import load_settings

    root, sets = tiny_sets
    settings = load_settings(env={}, index_dir=root / "home" / "index", cache_dir=model_cache)
    log: list[str] = []
    result = run_suite(resolve_configs(["default", "bm25-bigram"]), sets, settings, root / "out", ks=(1, 3, 5),
                       n_boot=200, n_perm=200, progress=False, log=log.append)
    rec = result.record

    assert list(rec["sets"]) == ["set-a", "set-b"] and list(rec["configs"]) == ["default", "bm25-bigram"]
    assert "made by a script that is not installed" in rec["skipped"]["set-gone"]
    assert any("set-gone: skipped" in line for line in log) and any(line.startswith("[1/3] set-a") for line in log)
    # each set has its own index beside the configured one; the configured index is never built
    indexes = {rec["sets"][s]["index"] for s in rec["sets"]}
    assert len(indexes) == 2 and all(Path(i).parent == root / "home" and Path(i).name.startswith("eval-set-") for i in indexes)
    assert not (root / "home" / "index").exists()
    assert rec["sets"]["set-a"]["corpus"] == str(root / "a") and rec["sets"]["set-a"]["questions"]["answerable"] == 3

    a = rec["sets"]["set-a"]["metrics"]
    # kotae finds the same-language answers and the English question's Japanese passage
    assert a["default"]["overall"]["hit@5"]["mean"] == 1.0
    assert a["default"]["crosslingual"]["n"] == 1
    # the baseline's passages are paragraphs: the Japanese staff paragraph is found by bigrams
    assert a["bm25-bigram"]["lang=ja"]["hit@1"]["mean"] == 1.0
    assert rec["configs"]["bm25-bigram"]["kind"] == "paragraph-bm25"
    # paired tests per group against the first configuration
    tests = rec["sets"]["set-a"]["group_tests"]["bm25-bigram"]
    assert {"overall", "lang=ja", "lang=en", "crosslingual", "type=same"} <= set(tests)
    assert tests["overall"]["hit@1"]["n"] == 3 and "p_holm" in tests["overall"]["mrr@10"]

    md = result.paths["md"].read_text(encoding="utf-8")
    assert "## set-a" in md and "## set-b" in md and "set `set-gone` skipped" in md and "Δ hit@1 vs `default`" in md
    assert result.paths["png"].stat().st_size > 0
    assert json.loads(result.paths["json"].read_text(encoding="utf-8"))["sets"]["set-b"]["gold"] == [str(root / "b.jsonl")]
    for s in ("set-a", "set-b"):  # the full per-set outputs beside the suite report
        assert (root / "out" / s / f"{s}.md").is_file() and (root / "out" / s / f"{s}.jsonl").is_file()


def test_baseline_ranks_paragraphs_of_an_index(tiny_sets, model_cache):
    from kotae.evals.baseline import ParagraphBM25
    from kotae.evals.gold import load_gold
    from kotae.evals.run import evaluate
    from kotae.evals.suite import corpus_index_dir
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    root, sets = tiny_sets
    settings = load_settings(env={}, corpus_dir=root / "a", index_dir=root / "home" / "index", cache_dir=model_cache)
    # the suite's index of set-a when the test above ran (then nothing is embedded again)
    settings = settings.replace(index_dir=corpus_index_dir(settings, root / "a", "set-a"))
    run_ingest(settings, progress=False)
    bm25 = ParagraphBM25(open_retriever(settings).backend)
    hits = bm25.search("音声認識エンジン", k=3)
    assert hits[0]["doc_id"] == "sakura.txt" and hits[0]["text"].startswith("株式会社サクラ技研は2019年")
    assert JA[hits[0]["char_start"]:hits[0]["char_end"]] == hits[0]["text"]
    assert bm25.backend.manifest["counts"]["passages"] == 7  # two titles + five paragraphs
    run = evaluate(load_gold(sets[0].gold[0]), {"bm25": bm25}, ks=(1, 5), progress=False)
    by_id = {q.question.id: q for q in run.configs["bm25"].questions}
    # relevance is enumerated over the paragraphs: exactly the gold paragraph is relevant
    assert by_id["a-ja"].n_relevant == 1 and by_id["a-ja"].first_relevant == 1
    assert by_id["a-en"].first_relevant == 1


def test_suite_cli_errors_are_one_line(capsys):
    from kotae.service.cli import main

    assert main(["eval", "--suite", "--sets", "nope", "--quiet"]) == 2
    assert "unknown set(s) nope" in capsys.readouterr().err
    assert main(["eval", "--suite", "--corpus", "corpus", "--quiet"]) == 2
    assert "--suite runs its own sets" in capsys.readouterr().err
    assert main(["eval", "--sets", "gold", "--quiet"]) == 2
    assert "go with --suite" in capsys.readouterr().err


def test_readme_suite_table_is_the_committed_reports():
    from kotae.evals.readme_table import block
    from kotae.evals.sets import REPO

    record = json.loads((REPO / "evals" / "reports" / "suite" / "suite.json").read_text(encoding="utf-8"))
    assert block(record) in (REPO / "README.md").read_text(encoding="utf-8"), \
        "regenerate it: python -m kotae.evals.readme_table evals/reports/suite/suite.json --update README.md"
    # the committed report covers the sets defaults are decided on, kotae against the plain baseline
    assert {"gold", "ja-jaquad", "mixed-ja-en"} <= set(record["sets"]) and "bm25-bigram" in record["configs"]
