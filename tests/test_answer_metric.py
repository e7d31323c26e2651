"""The answer metric of `kotae eval`: what counts as stating the gold answer, and where."""

from __future__ import annotations

from kotae.evals.gold import GoldQuestion
from kotae.evals.metrics import answer_metrics, answer_sentences
from kotae.evals.run import evaluate
from kotae.index.search import Hit, SearchResult


def test_sentences_end_at_citation_markers_and_punctuation():
    body = "largest investor: ASML Holding NV (11% stake) [1] Mistral was founded in 2023. It is in Paris. [2]"
    assert answer_sentences(body) == ["largest investor: ASML Holding NV (11% stake)", "Mistral was founded in 2023.", "It is in Paris."]
    assert answer_sentences("ミストラルは2023年に創業した。本社はパリ。[1]資金は€1.7bn。[2]") == ["ミストラルは2023年に創業した。", "本社はパリ。", "資金は€1.7bn。"]


def test_answer_at_1_needs_the_first_sentence_and_any_the_whole_body():
    body = "Mistral AI is a French company. [1] Its CTO is Timothée Lacroix. [2]"
    assert answer_metrics(body, ["Timothée Lacroix"]) == {"answer@1": 0.0, "answer@any": 1.0}
    assert answer_metrics(body, ["French company", "nothing"]) == {"answer@1": 1.0, "answer@any": 1.0}
    assert answer_metrics(body, ["Arthur Mensch"]) == {"answer@1": 0.0, "answer@any": 0.0}


def test_comparison_is_nfkc_without_white_space_and_reads_key_underscores_as_spaces():
    assert answer_metrics("ＡＳＭＬ Holding（11% stake）[1]", ["ASML Holding(11%stake)"])["answer@1"] == 1.0
    assert answer_metrics("total funding rounds: 7 [1]", ["total_funding_rounds: 7"])["answer@1"] == 1.0
    # the citation marker is not part of the text compared
    assert answer_metrics("The round was €105m [1] in 2023.", ["€105m in 2023"])["answer@any"] == 1.0


def _hit(text: str) -> Hit:
    return Hit("a.md#0", "a.md", "A", None, None, 0, len(text), text, "en", "body", 1.0, {"dense": 0.9}, (0, len(text)))


def test_evaluate_scores_the_answer_and_its_abstention():
    gold = [GoldQuestion("q1", "Who is the CTO?", "en", "fact", docs=("a.md",), answers=("Lacroix",)),
            GoldQuestion("q2", "What is the share price?", "en", "unanswerable", unanswerable=True)]

    def retriever(query: str, k: int) -> SearchResult:
        if "CTO" in query:
            return SearchResult(query, "en", [_hit("Timothée Lacroix is the CTO of the company.")])
        result = SearchResult(query, "en", [_hit("The company sells software.")])
        result.found = False
        return result

    run = evaluate(gold, {"r": retriever}, ks=(1,), progress=False, answer_k=5)
    cfg = run.configs["r"]
    assert cfg.mean("answer@1") == 1.0 and cfg.mean("answer@any") == 1.0
    assert cfg.mean("refused") == 0.0  # over the answerable question only
    assert cfg.answer_abstention()["recall"] == 1.0 and cfg.answer_abstention()["false_abstention"] == 0.0
    s = run.summary(n_boot=100, n_perm=100)
    assert s["configs"]["r"]["metrics"]["overall"]["answer@1"]["mean"] == 1.0
    assert s["configs"]["r"]["answer_abstention"]["precision"] == 1.0
    # without answer_k nothing is answered and the metric does not exist
    plain = evaluate(gold, {"r": retriever}, ks=(1,), progress=False)
    assert "answer@1" not in plain.metrics and plain.configs["r"].answer_abstention() is None


def test_answers_written_by_a_language_model_are_scored_the_same_way():
    """With a model configured, `kotae eval` scores what the model wrote (the stub
    OpenAI-compatible server of the HTTP tests), and falls back like /v1/ask when it fails."""
    from kotae_server import LiveServer, free_port, stub_llm_app

    from kotae.service.llm import LLMClient

    server = LiveServer(stub_llm_app(), free_port()).start(ready_path=None)
    try:
        gold = [GoldQuestion("q1", "Which company did Mistral buy?", "en", "fact", docs=("a.md",), answers=("Koyeb",)),
                GoldQuestion("q2", "UPSTREAM-FAIL: who is the CTO?", "en", "fact", docs=("a.md",), answers=("Lacroix",))]

        def retriever(query: str, k: int) -> SearchResult:
            return SearchResult(query, "en", [_hit("Timothée Lacroix is the CTO of the company."), _hit("It bought a cloud start-up.")])

        run = evaluate(gold, {"r": retriever}, ks=(1,), progress=False, answer_k=5, llm=LLMClient(server.url + "/v1", "stub"))
    finally:
        server.stop()
    by_id = {q.question.id: q for q in run.configs["r"].questions}
    assert by_id["q1"].answer["mode"] == "llm" and by_id["q1"].metrics["answer@1"] == 1.0  # "Mistral AI acquired Koyeb [1]."
    assert by_id["q2"].answer["mode"] == "extractive" and by_id["q2"].metrics["answer@1"] == 1.0  # the fallback


def test_refusals_of_answerable_questions_are_counted_per_group():
    """Issue 11: a question over documents in the other language must not be refused more often
    than a same-language one, so the report gives the refusal rate per group, crosslingual and
    monolingual side by side, and counts unanswerable questions only in abstention."""
    from kotae.evals.report import markdown

    gold = [GoldQuestion("same", "Who is the CTO?", "en", "fact", docs=("a.md",), answers=("Lacroix",)),
            GoldQuestion("cross", "CTOは誰ですか？", "ja", "fact", docs=("a.md",), answers=("Lacroix",)),
            GoldQuestion("none", "What is the share price?", "en", "unanswerable", unanswerable=True)]

    def retriever(query: str, k: int) -> SearchResult:
        result = SearchResult(query, "en", [_hit("Timothée Lacroix is the CTO of the company.")])
        result.found = query.isascii() and "share" not in query  # the Japanese question is refused
        return result

    run = evaluate(gold, {"r": retriever}, ks=(1,), progress=False, answer_k=5)
    by_id = {q.question.id: q for q in run.configs["r"].questions}
    assert by_id["cross"].crosslingual is True and by_id["same"].crosslingual is False
    assert by_id["cross"].metrics["refused"] == 1.0 and by_id["same"].metrics["refused"] == 0.0
    assert "refused" not in by_id["none"].metrics
    s = run.summary(n_boot=100, n_perm=100)
    groups = s["configs"]["r"]["metrics"]
    assert groups["crosslingual"]["refused"]["mean"] == 1.0 and groups["monolingual"]["refused"]["mean"] == 0.0
    assert groups["overall"]["refused"]["mean"] == 0.5
    md = markdown(run, s, None)
    assert "| `r` | crosslingual | 1 | 0.000" in md and "refused (n)" in md
