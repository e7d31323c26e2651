"""Retrieval evaluation: gold questions in, metrics with honest uncertainty out.

Public API (see evals/run.py for an example)::

    load_gold(path) -> list[GoldQuestion]
    evaluate(gold, {name: retriever}, ks=(1, 3, 5, 10, 20)) -> EvalRun
    EvalRun.means() / EvalRun.summary()
"""

from kotae.evals.gold import GoldError, GoldPassage, GoldQuestion, load_gold, parse_gold, parse_question
from kotae.evals.metrics import DEFAULT_KS, abstention_metrics, metric_names, ranking_metrics
from kotae.evals.relevance import RelevanceJudge, normalize, overlaps_enough
from kotae.evals.run import ConfigRun, EvalRun, QuestionRun, evaluate

__all__ = [
    "DEFAULT_KS", "ConfigRun", "EvalRun", "GoldError", "GoldPassage", "GoldQuestion", "QuestionRun", "RelevanceJudge",
    "abstention_metrics", "evaluate", "load_gold", "metric_names", "normalize", "overlaps_enough", "parse_gold",
    "parse_question", "ranking_metrics",
]
