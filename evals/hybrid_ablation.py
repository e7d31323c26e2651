"""Ablation and parameter choice for hybrid retrieval, through ``kotae.evals.evaluate``.

    python -m kotae.evals.hybrid_ablation            # full: grids, ablation, mixed corpus, report
    python -m kotae.evals.hybrid_ablation --no-grid  # ablation with the parameters in CHOSEN

Every number comes from the evaluation API (gold loading, relevance, metrics, bootstrap CIs,
paired tests vs dense-only); this module only assembles retriever variants over the same
index (no re-embedding: keyword variants re-tokenise stored passages in memory, query
embeddings are computed once per question and shared) and writes
``evals/reports/hybrid-ablation.{md,json}``.

Latency: a variant's per-query latency is the time of its search with the query embedding
cached, plus (for variants with a dense side) the median time to embed one question, measured
once per question. Measured on the same machine in the same run; absolute numbers depend on
the load of the machine, the ratios are what the defaults are chosen on.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
import unicodedata
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from kotae.evals import abstention_metrics, evaluate, load_gold
from kotae.index.search import RetrievalConfig, Retriever
from kotae.evals.variants import RetokenizedBackend

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "evals" / "reports"
HEADLINE = ("hit@1", "hit@5", "mrr@10")
MAX_FALSE_ABSTENTION = 0.03


class CachedEmbedder:
    """Wraps an embedder: each question is embedded once; the time it took is kept."""

    def __init__(self, inner, cache_file: Path | None = None):
        self.inner = inner
        self.vectors: dict[str, np.ndarray] = {}
        self.ms: dict[str, float] = {}
        self.cache_file = cache_file
        if cache_file is not None and cache_file.exists():  # vectors and timings of an earlier run
            import pickle

            self.vectors, self.ms = pickle.loads(cache_file.read_bytes())

    def save(self) -> None:
        if self.cache_file is not None:
            import pickle

            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            self.cache_file.write_bytes(pickle.dumps((self.vectors, self.ms)))

    def embed_queries(self, texts):
        out = []
        for t in texts:
            if t not in self.vectors:
                t0 = time.perf_counter()
                self.vectors[t] = self.inner.embed_queries([t])[0]
                self.ms[t] = (time.perf_counter() - t0) * 1000
            out.append(self.vectors[t])
        return np.stack(out)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def median_ms(self) -> float:
        return float(np.median(list(self.ms.values()))) if self.ms else 0.0


def open_eval_index(corpus: Path, index_dir: Path, model: str):
    from kotae.index.engine import get_embedder, open_backend, run_ingest
    from kotae.settings import load_settings

    settings = load_settings(corpus_dir=corpus, index_dir=index_dir, cache_dir=REPO / ".kotae" / "cache", model=model)
    run_ingest(settings, progress=False)
    cache = REPO / ".kotae" / "eval" / f"queries-{model}.pkl"
    return open_backend(settings), CachedEmbedder(get_embedder(model, settings.cache_dir), cache)


class Bench:
    """Variants over one index, evaluated together."""

    def __init__(self, backend, embedder, gold):
        self.backend = backend
        self.embedder = embedder
        self.gold = gold
        self._tok: dict[str, Any] = {}
        for q in gold:  # embed every question once (NFKC, as Retriever.embed_query does)
            embedder.embed_queries([unicodedata.normalize("NFKC", q.question)])
        embedder.save()

    def backend_for(self, tokenizer: str):
        if self.backend.stats().config.tokenizer == tokenizer:
            return self.backend
        if tokenizer not in self._tok:
            self._tok[tokenizer] = RetokenizedBackend(self.backend, tokenizer)
        return self._tok[tokenizer]

    def retriever(self, cfg: RetrievalConfig) -> Retriever:
        return Retriever(self.backend_for(cfg.tokenizer), self.embedder, cfg)

    def means(self, configs: dict[str, RetrievalConfig]) -> dict[str, dict[str, float]]:
        run = evaluate(self.gold, {n: self.retriever(c) for n, c in configs.items()}, progress=False)
        return run.means()


def grid_search(bench: Bench, base: RetrievalConfig, axes: dict[str, list], metric: str = "mrr@10") -> tuple[RetrievalConfig, list]:
    import itertools

    keys = list(axes)
    configs = {}
    for values in itertools.product(*(axes[k] for k in keys)):
        change = dict(zip(keys, values))
        configs[json.dumps(change)] = replace(base, **change)
    t0 = time.perf_counter()
    means = bench.means(configs)
    print(f"grid {list(axes)}: {len(configs)} configs in {time.perf_counter() - t0:.0f}s", flush=True)
    ranked = sorted(means.items(), key=lambda kv: (-kv[1][metric], -kv[1]["hit@1"], -kv[1]["hit@5"]))
    best = configs[ranked[0][0]]
    table = [{"params": json.loads(n), **{m: round(v[m], 4) for m in (*HEADLINE, "recall@20")}} for n, v in ranked]
    return best, table


def latency(run, embedder: CachedEmbedder, configs: dict[str, RetrievalConfig]) -> dict[str, float]:
    embed = embedder.median_ms()
    out = {}
    for name, cfg_run in run.configs.items():
        search = float(np.median([q.latency_ms for q in cfg_run.questions]))
        cfg = configs.get(name)
        uses_dense = cfg is None or cfg.mode != "keyword"
        out[name] = round(search + (embed if uses_dense else 0.0), 2)
    return out


def choose_abstention(bench: Bench, cfg: RetrievalConfig) -> dict[str, Any]:
    """Threshold on the retriever's confidence (index/abstain.py) maximising recall of "not found" on the gold set."""
    r = bench.retriever(replace(cfg, abstain_threshold=None))
    results = {q.id: r.search(q.question, k=10) for q in bench.gold}
    unanswerable = {q.id: q.unanswerable for q in bench.gold}
    best = None
    table = []
    conf = {qid: res.confidence if res.confidence is not None else float("-inf") for qid, res in results.items()}
    values = sorted(set(conf.values()))
    if values:
        for lo, hi in zip(values, values[1:] + [values[-1] + 1e-3]):
            thr = (lo + hi) / 2
            m = abstention_metrics({q: c < thr for q, c in conf.items()}, unanswerable)
            row = {"threshold": round(thr, 4), **m}
            table.append(row)
            # most unanswerable caught while wrongly abstaining on at most 3% of answerable ones
            if (m["false_abstention"] or 0.0) > MAX_FALSE_ABSTENTION:
                continue
            key = (m["recall"] or 0.0, m["precision"] or 0.0, -(m["false_abstention"] or 0.0))
            if best is None or key > best[0]:
                best = (key, row)
    best_f1 = max(table, key=lambda r: (r["f1"] or 0.0))
    return {"chosen": best[1], "best_f1": best_f1, "grid_top": sorted(table, key=lambda r: -(r["f1"] or 0))[:10]}


def duplicate_pairs(bench: Bench, cfg: RetrievalConfig, k: int = 5, threshold: float = 0.6) -> dict[str, int]:
    """How many questions' top-k hold a near-duplicate pair (shingle containment >= threshold)."""
    from kotae.index.dedup import containment, shingles

    r = bench.retriever(cfg)
    questions = pairs = 0
    for q in bench.gold:
        sh = [shingles(h.text) for h in r.search(q.question, k=k).hits]
        p = sum(1 for i in range(len(sh)) for j in range(i) if containment(sh[i], sh[j]) >= threshold)
        pairs += p
        questions += p > 0
    return {"questions": questions, "pairs": pairs, "of": len(bench.gold), "k": k, "threshold": threshold}


def fmt_ci(g: dict, m: str) -> str:
    x = g.get(m)
    if not x:
        return "–"
    return f"{x['mean']:.3f} [{x['ci'][0]:.2f}, {x['ci'][1]:.2f}]"


def ablation_table(summary: dict, lat: dict[str, float], groups=("overall", "lang=ja", "lang=en")) -> str:
    head = "| variant | ms/query | " + " | ".join(f"{m} {g}" for g in groups for m in HEADLINE) + " | p hit@1 | p MRR@10 |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, c in summary["configs"].items():
        cells = [fmt_ci(c["metrics"].get(g, {}), m) for g in groups for m in HEADLINE]
        vs = c.get("vs_baseline") or {}
        p1 = f"{vs['hit@1']['diff']:+.3f} (p={vs['hit@1']['p']:.3g})" if vs else "baseline"
        pm = f"{vs['mrr@10']['diff']:+.3f} (p={vs['mrr@10']['p']:.3g})" if vs else "baseline"
        lines.append(f"| {name} | {lat.get(name, float('nan')):.0f} | " + " | ".join(cells) + f" | {p1} | {pm} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-grid", action="store_true", help="skip parameter grids; use CHOSEN")
    ap.add_argument("--resume", action="store_true", help="reuse the grids of an earlier run (<out>.grids.json)")
    ap.add_argument("--no-mixed", action="store_true")
    ap.add_argument("--no-use", action="store_true", help="skip the USE-multilingual index")
    ap.add_argument("--out", type=Path, default=REPORTS / "hybrid-ablation")
    args = ap.parse_args(argv)
    from kotae.index.engine import retrieval_config
    from kotae.settings import load_settings

    started = time.perf_counter()
    gold = load_gold(REPO / "evals" / "gold.jsonl")
    eval_root = REPO / ".kotae" / "eval"
    backend, embedder = open_eval_index(REPO / "corpus", eval_root / "e5-small", "e5-small")
    bench = Bench(backend, embedder, gold)
    record: dict[str, Any] = {"grids": {}}

    dense = RetrievalConfig(mode="dense", rerank="none")
    plain = RetrievalConfig(mode="hybrid", rerank="none", cross_lang_keyword_weight=1.0)
    checkpoint = args.out.with_suffix(".grids.json")
    if args.no_grid:
        chosen = CHOSEN
    elif args.resume and checkpoint.exists():
        saved = json.loads(checkpoint.read_text(encoding="utf-8"))
        record["grids"] = saved["grids"]
        chosen = {k: RetrievalConfig(**v) for k, v in saved["chosen"].items()}
    else:
        # 1. first-stage fusion, each fusion method, per-language keyword weight included
        best_rrf, t = grid_search(bench, RetrievalConfig(rerank="none"), {
            "rrf_k": [10, 30, 60, 100], "keyword_weight": [0.5, 0.75, 1.0, 1.5],
            "cross_lang_keyword_weight": [0.0, 0.1, 0.3, 0.5, 1.0]})
        record["grids"]["rrf"] = t[:15]
        best_w, t = grid_search(bench, RetrievalConfig(rerank="none", fusion="weighted"), {
            "keyword_weight": [0.1, 0.2, 0.3, 0.5, 0.75, 1.0], "cross_lang_keyword_weight": [0.0, 0.1, 0.3, 0.5, 1.0]})
        record["grids"]["weighted"] = t[:15]
        means = bench.means({"rrf": best_rrf, "weighted": best_w})
        first = best_rrf if means["rrf"]["mrr@10"] >= means["weighted"]["mrr@10"] else best_w
        # 2. tokenizer under the chosen fusion
        first, t = grid_search(bench, first, {"tokenizer": ["bigram", "sudachi", "union"], "candidates": [30, 50, 100]})
        record["grids"]["tokenizer"] = t
        # 3. second stage
        second, t = grid_search(bench, replace(first, rerank="sentence", rerank_candidates=20), {
            "sentence_weight": [0.0, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0], "context_weight": [0.0, 0.1, 0.3],
            "rerank_cross_lang_factor": [0.0, 0.3, 1.0]})
        record["grids"]["second_stage"] = t[:15]
        second, t = grid_search(bench, second, {"rerank_candidates": [10, 20, 30, 50]})
        record["grids"]["second_stage_depth"] = t
        # 4. dense standardisation per language and dedup
        third, t = grid_search(bench, second, {"dense_norm": ["none", "lang_z"], "dedup_threshold": [0.0, 0.6, 0.7, 0.8, 0.9]})
        record["grids"]["lang_z_dedup"] = t
        chosen = {"first": first, "second": second, "final": third}
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.write_text(json.dumps({"grids": record["grids"], "chosen": {k: asdict(v) for k, v in chosen.items()}},
                                         ensure_ascii=False, indent=1), encoding="utf-8")
    record["chosen"] = {k: asdict(v) for k, v in chosen.items()}

    first, second, final = chosen["first"], chosen["second"], chosen["final"]
    variants: dict[str, RetrievalConfig] = {
        "dense e5-small": dense,
        "bm25 bigram": RetrievalConfig(mode="keyword", rerank="none", tokenizer="bigram"),
        "bm25 sudachi": RetrievalConfig(mode="keyword", rerank="none", tokenizer="sudachi"),
        "bm25 union": RetrievalConfig(mode="keyword", rerank="none", tokenizer="union"),
        "RRF k=60, plain (same weight every language)": replace(plain, tokenizer=first.tokenizer),
        "RRF k=60, language-aware 0.3 (old default)": RetrievalConfig(rerank="none", tokenizer=first.tokenizer),
        f"fused: {first.fusion} (chosen first stage)": first,
        "+ second stage (sentence)": second,
        "+ dedup": replace(second, dedup_threshold=final.dedup_threshold or 0.8),
        "+ per-language dense z": replace(second, dense_norm="lang_z"),
        "final (default)": final,
    }
    retrievers = {n: bench.retriever(c) for n, c in variants.items()}
    if not args.no_use:
        use_backend, use_embedder = open_eval_index(REPO / "corpus", eval_root / "use-multilingual", "use-multilingual")
        use_bench = Bench(use_backend, use_embedder, gold)
        retrievers["dense use-multilingual"] = use_bench.retriever(dense)
        retrievers["final, with use-multilingual"] = use_bench.retriever(final)
    run = evaluate(gold, retrievers, progress=False)
    summary = run.summary()
    lat = latency(run, embedder, variants)
    if not args.no_use:
        for n in ("dense use-multilingual", "final, with use-multilingual"):
            lat[n] = round(float(np.median([q.latency_ms for q in run.configs[n].questions])) + use_embedder.median_ms(), 2)
    record["ablation"] = summary
    record["latency_ms"] = lat
    record["abstention"] = choose_abstention(bench, final)
    record["duplicates"] = {"without dedup": duplicate_pairs(bench, replace(final, dedup_threshold=0.0)),
                            "with dedup": duplicate_pairs(bench, final)}

    if not args.no_mixed:
        mixed_corpus = eval_root / "mixed-corpus"
        if mixed_corpus.exists():
            shutil.rmtree(mixed_corpus)
        shutil.copytree(REPO / "corpus", mixed_corpus)
        shutil.copytree(REPO / "evals" / "mixed" / "en", mixed_corpus / "en")
        mgold = gold + load_gold(REPO / "evals" / "gold-mixed.jsonl")
        mb, me = open_eval_index(mixed_corpus, eval_root / "mixed-e5-small", "e5-small")
        mbench = Bench(mb, me, mgold)
        mvariants = {
            "dense": dense,
            "dense, per-language z": replace(dense, dense_norm="lang_z"),
            "final without z": replace(final, dense_norm="none"),
            "final with z": replace(final, dense_norm="lang_z"),
        }
        mrun = evaluate(mgold, {n: mbench.retriever(c) for n, c in mvariants.items()}, progress=False)
        record["mixed"] = mrun.summary()
        record["mixed_latency_ms"] = latency(mrun, me, mvariants)
    record["seconds"] = round(time.perf_counter() - started, 1)
    write_report(args.out, record)
    return 0


def write_report(out: Path, record: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(record, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    s = record["ablation"]
    lines = ["# Hybrid retrieval ablation", "",
             f"Gold: evals/gold.jsonl ({s['gold']['questions']} questions, {s['gold']['answerable']} answerable); "
             f"index: corpus/ with e5-small. {s['statistics']['ci']}; {s['statistics']['paired_test']}.",
             "Generated by `python -m kotae.evals.hybrid_ablation`; all metrics from `kotae.evals.evaluate`.", "",
             "## Ablation (mean [95% CI]; last columns: difference vs dense-only and paired-test p)", "",
             ablation_table(s, record["latency_ms"]), "",
             "Cross-lingual (English question, Japanese answer) vs monolingual:", "",
             ablation_table(s, record["latency_ms"], groups=("crosslingual", "monolingual")), ""]
    lines += ["## Chosen parameters", "", "```json", json.dumps(record["chosen"].get("final"), indent=1), "```", ""]
    for name, table in record.get("grids", {}).items():
        lines += [f"### Grid: {name} (best first, top rows)", "", "| params | hit@1 | hit@5 | MRR@10 | recall@20 |", "|---|---|---|---|---|"]
        lines += [f"| `{json.dumps(r['params'])}` | {r['hit@1']:.3f} | {r['hit@5']:.3f} | {r['mrr@10']:.3f} | {r['recall@20']:.3f} |" for r in table[:10]]
        lines.append("")
    a = record["abstention"]["chosen"]
    lines += ["## Abstention", "",
              f"Signal: the retriever's confidence (index/abstain.py); threshold {a['threshold']}. "
              f"On the gold set: precision {a['precision']}, recall {a['recall']}, F1 {a['f1']}, "
              f"false abstention on answerable {a['false_abstention']} "
              f"({a['true_abstentions']} of {a['unanswerable']} unanswerable caught, {a['abstained']} abstentions). "
              f"Rule: highest recall with false abstention <= {MAX_FALSE_ABSTENTION}. For comparison the best-F1 point: "
              f"{json.dumps(record['abstention'].get('best_f1'))}.", ""]
    if "duplicates" in record:
        lines += ["## Near-duplicates in the top-5", "",
                  *(f"- {name}: {d['questions']} of {d['of']} questions have a near-duplicate pair in the top-{d['k']} "
                    f"({d['pairs']} pairs, containment >= {d['threshold']})" for name, d in record["duplicates"].items()),
                  "", "Ranking metrics with and without: rows `+ second stage` and `+ dedup` above.", ""]
    if "mixed" in record:
        m = record["mixed"]
        lines += ["## Mixed-language corpus", "",
                  "corpus/ (Japanese) + evals/mixed/en (6 English documents on other topics); gold.jsonl + gold-mixed.jsonl "
                  f"({m['gold']['questions']} questions). crosslingual = the answer exists only in the other language.", "",
                  ablation_table(m, record["mixed_latency_ms"], groups=("overall", "crosslingual", "monolingual")), ""]
    out.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")


# What the grids chose (the RetrievalConfig defaults are set to "final").
CHOSEN: dict[str, RetrievalConfig] = {
    "first": RetrievalConfig(rerank="none", dedup_threshold=0.0),
    "second": RetrievalConfig(dedup_threshold=0.0),
    "final": RetrievalConfig(),
}

if __name__ == "__main__":
    raise SystemExit(main())
