"""`evaluate`: run gold questions through one or more retrievers and score every question.

This is the one entry point the CLI, benchmarks and parameter searches call::

    from kotae.evals import load_gold, evaluate
    gold = load_gold("evals/gold.jsonl")
    base = open_retriever(settings)
    grid = {f"rrf_k={k}": Retriever(base.backend, base.embedder, replace(base.config, rrf_k=k)) for k in (10, 60)}
    run = evaluate(gold, grid, progress=False)
    run.means()            # {config: {metric: mean}} over answerable questions -- cheap
    run.summary()          # + bootstrap CIs, per lang/type, paired tests vs the first config

Nothing is re-ingested: every retriever searches the index it was opened on. Relevance of
each passage is judged once per index (all passages of the gold documents), so recall and
nDCG have the true number of relevant passages as their denominator.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from kotae.evals.gold import GoldQuestion, check_against_corpus
from kotae.evals.metrics import ANSWER_METRICS, DEFAULT_KS, abstention_metrics, answer_metrics, metric_names, ranking_metrics
from kotae.evals.relevance import RelevanceJudge, normalize, overlaps_enough
from kotae.index.search import Hit, Retriever
from kotae.service.passages import passage_json

# Retrieval depth never goes below 10 so that MRR@10 and nDCG@10 are always defined.
MIN_DEPTH = 10


@dataclass
class QuestionRun:
    """One question under one configuration."""

    question: GoldQuestion
    passages: list[dict[str, Any]]  # docs/CONTRACTS.md §2 passages, best first, each with "relevant": bool
    n_relevant: int  # relevant passages in the whole index (0 for unanswerable or unreachable)
    abstained: bool
    metrics: dict[str, float]  # empty for unanswerable questions
    latency_ms: float
    crosslingual: bool | None = None  # question language differs from every relevant passage's
    confidence: float | None = None  # the result's abstention signal, if the retriever gives one
    answer: dict[str, Any] | None = None  # what /v1/ask said: text (body), found, mode, confidence

    @property
    def answer_abstained(self) -> bool | None:
        return None if self.answer is None else not self.answer["found"]

    @property
    def first_relevant(self) -> int | None:
        return next((p["citation"] for p in self.passages if p["relevant"]), None)

    @property
    def top_score(self) -> float | None:
        return self.passages[0]["score"] if self.passages else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.question.to_dict(),
            "crosslingual": self.crosslingual,
            "n_relevant": self.n_relevant,
            "first_relevant_rank": self.first_relevant,
            "abstained": self.abstained,
            "confidence": self.confidence,
            "metrics": {k: round(v, 6) for k, v in self.metrics.items()},
            "latency_ms": round(self.latency_ms, 2),
            "answer": self.answer,
            "passages": self.passages,
        }


@dataclass
class ConfigRun:
    name: str
    config: dict[str, Any]  # everything that produced the numbers: model, chunker, tokenizer, fusion, k
    questions: list[QuestionRun]
    warnings: list[str] = field(default_factory=list)

    def answerable(self) -> list[QuestionRun]:
        return [q for q in self.questions if q.question.answerable]

    def values(self, metric: str, where: Callable[[QuestionRun], bool] | None = None) -> np.ndarray:
        """Per-question values of a metric over the answerable questions that have it
        (answer metrics need gold answer strings), optionally filtered."""
        return np.array([q.metrics[metric] for q in self.answerable() if metric in q.metrics and (where is None or where(q))],
                        dtype=float)

    def mean(self, metric: str) -> float:
        v = self.values(metric)
        return float(v.mean()) if v.size else float("nan")

    def abstention(self) -> dict[str, Any]:
        return abstention_metrics({q.question.id: q.abstained for q in self.questions},
                                  {q.question.id: q.question.unanswerable for q in self.questions})

    def answer_abstention(self) -> dict[str, Any] | None:
        """Abstention as the user sees it: the answer says "not found"."""
        if any(q.answer is None for q in self.questions) or not self.questions:
            return None
        return abstention_metrics({q.question.id: bool(q.answer_abstained) for q in self.questions},
                                  {q.question.id: q.question.unanswerable for q in self.questions})

    def abstention_sweep(self, thresholds: Sequence[float] | None = None) -> list[dict[str, Any]]:
        """Abstention quality if the retriever abstained below each threshold of its signal
        (the result's ``confidence`` when it has one, else the top passage's score) -- for
        choosing a threshold without re-running. Default thresholds: every observed value."""
        def signal(q: QuestionRun) -> float | None:
            return q.confidence if q.confidence is not None else q.top_score

        values = [signal(q) for q in self.questions]
        if thresholds is None:
            thresholds = sorted({v for v in values if v is not None})
        unans = {q.question.id: q.question.unanswerable for q in self.questions}
        out = []
        for t in thresholds:
            abst = {q.question.id: (v is None or v < t) for q, v in zip(self.questions, values)}
            out.append({"threshold": float(t), **abstention_metrics(abst, unans)})
        return out


@dataclass
class EvalRun:
    gold: list[GoldQuestion]
    ks: tuple[int, ...]
    configs: dict[str, ConfigRun]  # insertion order; the first is the baseline of paired tests
    metrics: list[str]
    seconds: float = 0.0

    @property
    def baseline(self) -> str:
        return next(iter(self.configs))

    def means(self) -> dict[str, dict[str, float]]:
        """Mean of every metric per configuration, over answerable questions. No resampling."""
        return {name: {m: c.mean(m) for m in self.metrics} for name, c in self.configs.items()}

    def summary(self, n_boot: int = 2000, n_perm: int = 10000, seed: int = 0) -> dict[str, Any]:
        """Metrics with 95% bootstrap CIs overall / per lang / per type / cross-lingual, paired
        tests of every configuration against the first, abstention quality, configuration."""
        from kotae.evals.stats import summarize

        return summarize(self, n_boot=n_boot, n_perm=n_perm, seed=seed)


# --------------------------------------------------------------------------------------------


def _search(retriever: Any, query: str, k: int):
    if hasattr(retriever, "search"):
        return retriever.search(query, k=k)
    return retriever(query, k)


def _hit_dict(hit: Any, citation: int) -> dict[str, Any]:
    if isinstance(hit, dict):
        d = dict(hit)
        d.setdefault("citation", citation)
        return d
    if isinstance(hit, Hit):
        return {**passage_json(hit, citation), "id": hit.id, "kind": hit.kind}
    raise TypeError(f"cannot read a passage from {type(hit).__name__}")


def _pid(p: Mapping[str, Any]) -> str:
    if p.get("id") is not None:
        return str(p["id"])
    return f"{p['doc_id']}:{p['char_start']}-{p['char_end']}"


class _IndexRelevance:
    """All relevant passages of every gold question in one index, judged once."""

    def __init__(self, backend: Any, gold: Sequence[GoldQuestion]):
        self.judge = RelevanceJudge(self._doc_text)
        self.backend = backend
        self.relevant: dict[str, set[str]] = {}
        self.rel_langs: dict[str, set[str]] = {}
        self.known_docs: set[str] | None = None
        self.enumerated = False
        if backend is None:
            return
        self.known_docs = {d["doc_id"] for d in backend.documents()}
        self.enumerated = True
        needed = {d for q in gold for d in list(q.docs) + [p.doc for p in q.passages]}
        by_doc: dict[str, list[tuple[str, int, int, str, str, str]]] = {}
        for sp in (sp for doc_id in sorted(needed & self.known_docs) for sp in backend.document_passages(doc_id)):
            p = sp.passage
            source = self.judge.text_of(p.doc_id) or ""
            by_doc.setdefault(p.doc_id, []).append(
                (sp.id, p.char_start, p.char_end, normalize(p.text), normalize(source[p.char_start:p.char_end]), p.lang))
        for q in gold:
            rel: set[str] = set()
            langs: set[str] = set()
            if q.answerable:
                answers = [a for a in (normalize(x) for x in q.answers) if a]
                for doc in q.docs:
                    for pid, _, _, shown, src, lang in by_doc.get(doc, ()):
                        if not answers or any(a in shown or a in src for a in answers):
                            rel.add(pid)
                            langs.add(lang)
                for span in self.judge.spans(q):
                    for pid, cs, ce, _, _, lang in by_doc.get(span.doc_id, ()):
                        if overlaps_enough(cs, ce, span.start, span.end):
                            rel.add(pid)
                            langs.add(lang)
            self.relevant[q.id] = rel
            self.rel_langs[q.id] = langs

    def _doc_text(self, doc_id: str) -> str | None:
        if self.backend is None:
            return None
        doc = self.backend.document(doc_id)
        return doc.text if doc is not None else None

    def is_relevant(self, q: GoldQuestion, passage: Mapping[str, Any]) -> bool:
        if self.enumerated and _pid(passage) in self.relevant.get(q.id, ()):
            return True
        # Passages the index enumeration did not cover (merged spans, other backends).
        return self.judge.judge_hit(q, passage)


def describe_retriever(retriever: Any) -> dict[str, Any]:
    """What a retriever is: retrieval config + the index's embedder, chunker and keyword settings."""
    from dataclasses import asdict, is_dataclass

    out: dict[str, Any] = {}
    cfg = getattr(retriever, "config", None)
    if cfg is not None and is_dataclass(cfg):
        out["retrieval"] = asdict(cfg)
    if isinstance(retriever, Retriever):
        out["index"] = retriever.stats.describe()
    return out


def evaluate(
    gold: Sequence[GoldQuestion],
    retrievers: Mapping[str, Any],
    ks: Iterable[int] = DEFAULT_KS,
    *,
    depth: int | None = None,
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = True,
    answer_k: int | None = None,
    llm: Any = None,
) -> EvalRun:
    """Search every gold question with every retriever and score it.

    ``retrievers``: name -> :class:`kotae.index.search.Retriever` (or anything with
    ``search(query, k) -> SearchResult`` or a callable ``(query, k) -> SearchResult``).
    A retriever abstains when its result has ``found`` (or ``answerable``) false, or no hits.
    ``depth``: passages retrieved per question, default ``max(max(ks), 10)``.
    ``configs``: extra description per name merged into the run's configuration record.
    ``answer_k``: also answer every question as ``/v1/ask`` does with ``k=answer_k``
    (:func:`kotae.service.answer.answer_question`, through ``llm`` when given) and score the
    answer text against the gold answer strings (``answer@1``, ``answer@any``).
    """
    import asyncio

    from kotae.index.search import SearchResult
    from kotae.service.answer import answer_question

    from tqdm import tqdm

    ks = tuple(sorted(set(int(k) for k in ks)))
    if not ks or ks[0] < 1:
        raise ValueError("k values must be positive integers")
    if not retrievers:
        raise ValueError("no retrievers to evaluate")
    gold = list(gold)
    depth = max(depth or 0, max(ks), MIN_DEPTH)
    names = metric_names(ks) + (list(ANSWER_METRICS) if answer_k else [])
    loop = asyncio.new_event_loop() if answer_k else None
    started = time.perf_counter()
    relevance_by_backend: dict[int, _IndexRelevance] = {}
    runs: dict[str, ConfigRun] = {}
    bar = tqdm(total=len(gold) * len(retrievers), desc="evaluating", unit="question", disable=not progress, file=sys.stderr)
    try:
        for name, retriever in retrievers.items():
            bar.set_postfix_str(name)
            backend = getattr(retriever, "backend", None)
            key = id(backend) if backend is not None else id(retriever)
            if key not in relevance_by_backend:
                relevance_by_backend[key] = _IndexRelevance(backend, gold)
            rel = relevance_by_backend[key]
            warnings: list[str] = []
            if rel.known_docs is not None:
                warnings.extend(check_against_corpus(gold, rel.known_docs))
            rows: list[tuple[GoldQuestion, list[dict[str, Any]], bool, float]] = []
            confidences: dict[str, float | None] = {}
            answers: dict[str, dict[str, Any]] = {}
            for q in gold:
                t = time.perf_counter()
                result = _search(retriever, q.question, depth)
                latency = (time.perf_counter() - t) * 1000
                hits = list(getattr(result, "hits", result) or [])
                found = getattr(result, "found", getattr(result, "answerable", None))
                abstained = (found is False) or not hits
                confidence = getattr(result, "confidence", None)
                passages = [_hit_dict(h, i) for i, h in enumerate(hits, 1)]
                for p in passages:
                    p["relevant"] = rel.is_relevant(q, p)
                rows.append((q, passages, abstained, latency))
                confidences[q.id] = float(confidence) if isinstance(confidence, (int, float)) else None
                asked = _search(retriever, q.question, answer_k) if loop is not None else None
                if isinstance(asked, SearchResult):  # other retrievers (baselines) give passages only
                    # What a user of /v1/ask gets: its own search with k=answer_k, then the answer.
                    ans = loop.run_until_complete(answer_question(q.question, asked, llm))
                    answers[q.id] = {"text": ans.body, "found": ans.found, "mode": ans.mode,
                                     "confidence": ans.confidence}
                bar.update(1)
            warnings.extend(w for w in rel.judge.warnings if w not in warnings)
            rankings = {q.id: [_pid(p) for p in passages] for q, passages, _, _ in rows if q.answerable}
            relevant: dict[str, set[str]] = {}
            for q, passages, _, _ in rows:
                if q.answerable:
                    found_rel = {_pid(p) for p in passages if p["relevant"]}
                    # Without an enumerable index, pool: relevant = what was retrieved and judged so.
                    relevant[q.id] = (rel.relevant.get(q.id, set()) | found_rel) if rel.enumerated else found_rel
            scores = ranking_metrics(rankings, relevant, ks)
            questions = []
            for q, passages, abstained, latency in rows:
                langs = rel.rel_langs.get(q.id) or {p.get("lang") for p in passages if p["relevant"]} - {None}
                cross = (q.lang not in langs) if (q.answerable and langs) else None
                metrics = scores.get(q.id, {})
                if q.answerable and q.id in answers:
                    metrics = {**metrics, "refused": float(not answers[q.id]["found"])}
                    if q.answers:
                        metrics.update(answer_metrics(answers[q.id]["text"], q.answers))
                questions.append(QuestionRun(q, passages, len(relevant.get(q.id, ())), abstained, metrics, latency, cross,
                                             confidences.get(q.id), answers.get(q.id)))
                if q.answerable and not relevant.get(q.id) and rel.enumerated:
                    warnings.append(f"{q.id}: no passage in the index is relevant (unreachable; scored 0)")
            description = describe_retriever(retriever)
            description.update(configs.get(name, {}) if configs else {})
            description["ks"] = list(ks)
            description["depth"] = depth
            runs[name] = ConfigRun(name, description, questions, warnings)
    finally:
        bar.close()
        if loop is not None:
            loop.close()
    return EvalRun(gold, ks, runs, names, time.perf_counter() - started)
