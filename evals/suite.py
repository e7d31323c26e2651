"""The side-by-side suite: the same configurations on every question set, one report.

Retrieval defaults are decided on all sets together (issue 10), so ``kotae eval --suite`` runs
each configuration on each set of :func:`kotae.evals.sets.default_sets` -- every set over its own
corpus and its **own index folder** (``<index parent>/eval-<set>-<hash of the corpus path>``,
never the user's index), built incrementally and reused by later runs -- and writes::

    <out>/<stem>.md / .json / .png      the side-by-side report (every set, every group)
    <out>/<set>/<set>.*                 the full `kotae eval` outputs of each set

Per set and group (overall, language, cross-lingual, question type) it reports every metric of
the run's summary with 95% bootstrap CIs, and paired randomisation tests of every configuration
against the first one on hit@1, hit@5 and MRR@10 in each group (Holm-corrected across
configurations), so "wins overall but loses on same-language questions" is visible.

From Python::

    from kotae.evals.suite import run_suite
    from kotae.evals.configs import resolve_configs
    from kotae.evals.sets import default_sets
    result = run_suite(resolve_configs(["default", "dense", "bm25-bigram"]), list(default_sets().values()),
                       load_settings(), Path("evals/runs"))
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from kotae.evals.configs import EvalConfig, build_retrievers
from kotae.evals.gold import GoldError, GoldQuestion, load_gold
from kotae.evals.metrics import DEFAULT_KS
from kotae.evals.report import write_outputs
from kotae.evals.run import EvalRun, evaluate
from kotae.evals.sets import REPO, EvalSet
from kotae.evals.stats import _groups, bootstrap_ci, holm, paired_randomization
from kotae.settings import Settings

# Metrics of the side-by-side tables and of the per-group paired tests.
KEY_METRICS = ("hit@1", "hit@5", "mrr@10")
# Cut-off metrics that only repeat the key ones at other depths; any other metric a summary
# carries (answer metrics, ...) is shown beside the key ones.
_RANK_METRIC = re.compile(r"^(hit|recall|ndcg|mrr)@\d+$")
CHART_GROUPS = ("overall", "lang=ja", "lang=en", "crosslingual", "monolingual")


def corpus_index_dir(settings: Settings, corpus: Path, label: str) -> Path:
    """The index folder of an evaluation corpus: beside the configured index, named after the
    set (or corpus folder) and the corpus's absolute path, so two corpora never share one."""
    digest = hashlib.sha1(str(corpus.resolve()).encode()).hexdigest()[:8]
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)[:40]
    return settings.index_dir.with_name(f"eval-{slug}-{digest}")


def shown(path: Path) -> str:
    """A path as reports show it: relative to the repository when inside it (reports are
    committed and read on other machines), else as given."""
    try:
        return str(Path(path).relative_to(REPO))
    except ValueError:
        return str(path)


def _seed_index(target: Path, source: Path, log: Callable[[str], None]) -> None:
    """Start a set's index as a copy of a subset corpus's index; ingest then embeds only the
    documents the subset lacks (unchanged files are reused by content hash)."""
    if target.exists() or not (source / "CURRENT").is_file():
        return
    log(f"  starting {target} from {source} (shared documents are not embedded again)")
    tmp = target.with_name(target.name + ".seeding")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(".lock", ".build-*"))
    tmp.rename(target)


def load_set_gold(s: EvalSet) -> list[GoldQuestion]:
    questions = [q for path in s.gold for q in load_gold(path)]
    ids = [q.id for q in questions]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        raise GoldError(f"set {s.name}: duplicate ids across its gold files: {', '.join(dups[:10])}")
    return questions


def group_tests(run: EvalRun, metrics: Sequence[str] = KEY_METRICS, n_boot: int = 2000, n_perm: int = 10000,
                seed: int = 0) -> dict[str, dict[str, dict[str, Any]]]:
    """``{config: {group: {metric: {n, diff, ci, p, p_holm, wins, losses}}}}``: each
    configuration against the first, on the questions of each group, paired."""
    base = run.configs[run.baseline]
    groups = _groups(base)
    base_by_id = {q.question.id: q for q in base.answerable()}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, cfg in run.configs.items():
        if name == run.baseline:
            continue
        out[name] = {}
        for gname, where in groups:
            pairs = [(q, base_by_id[q.question.id]) for q in cfg.answerable()
                     if q.question.id in base_by_id and where(base_by_id[q.question.id])]
            if not pairs:
                continue
            cell = {}
            for m in metrics:
                if m not in run.metrics:
                    continue
                a = np.array([q.metrics[m] for q, _ in pairs], dtype=float)
                b = np.array([bq.metrics[m] for _, bq in pairs], dtype=float)
                ci = bootstrap_ci(a - b, n_boot, seed)
                cell[m] = {"n": len(pairs), "diff": round(float((a - b).mean()), 4), "ci": [round(float(ci[0]), 4), round(float(ci[1]), 4)],
                           "p": paired_randomization(a, b, n_perm, seed), "wins": int(np.sum(a > b)), "losses": int(np.sum(a < b))}
            out[name][gname] = cell
    for gname, _ in groups:
        for m in metrics:
            raw = {name: out[name][gname][m]["p"] for name in out if m in out[name].get(gname, {})}
            for name, p in holm(raw).items():
                out[name][gname][m]["p_holm"] = round(p, 4)
                out[name][gname][m]["p"] = round(out[name][gname][m]["p"], 4)
    return out


@dataclass
class SuiteResult:
    record: dict[str, Any]  # what <stem>.json holds
    paths: dict[str, Path] = field(default_factory=dict)


def run_suite(configs: list[EvalConfig], sets: Sequence[EvalSet], settings: Settings, out: Path, *, stem: str = "suite",
              ks: Sequence[int] = DEFAULT_KS, n_boot: int = 2000, n_perm: int = 10000, seed: int = 0, ingest: bool = True,
              progress: bool = True, chart: bool = True, seeds: dict[str, EvalSet] | None = None,
              log: Callable[[str], None] | None = None) -> SuiteResult:
    """Run every configuration on every set and write the side-by-side report into ``out``.

    ``seeds``: sets that other sets name in ``EvalSet.seed`` (default: the given sets).
    A set whose sources are missing is skipped and listed with the reason.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    seeds = seeds or {s.name: s for s in sets}
    started = time.perf_counter()
    out = Path(out)
    record: dict[str, Any] = {"generated": time.strftime("%Y-%m-%d %H:%M %Z"), "baseline": configs[0].name,
                              "configs": {}, "sets": {}, "skipped": {}, "ks": sorted(set(ks))}
    for i, s in enumerate(sets, 1):
        why = s.missing()
        if why:
            log(f"[{i}/{len(sets)}] {s.name}: skipped, {why}")
            record["skipped"][s.name] = why
            continue
        corpus = s.ensure_corpus(log)
        gold = load_set_gold(s)
        index_dir = corpus_index_dir(settings, corpus, s.name)
        if ingest and s.seed and s.seed in seeds:
            seed_set = seeds[s.seed]
            _seed_index(index_dir, corpus_index_dir(settings, seed_set.corpus, seed_set.name), log)
        log(f"[{i}/{len(sets)}] {s.name}: {len(gold)} questions, corpus {corpus}, index {index_dir}")
        set_settings = settings.replace(corpus_dir=corpus, index_dir=index_dir)
        retrievers, descriptions = build_retrievers(set_settings, configs, corpus_dir=corpus, ingest=ingest,
                                                    progress=progress, log=log)
        run = evaluate(gold, retrievers, ks, configs=descriptions, progress=progress, answer_k=settings.top_k)
        summary = run.summary(n_boot=n_boot, n_perm=n_perm, seed=seed)
        sources = {"set": s.name, "gold": ", ".join(shown(g) for g in s.gold), "corpus": shown(corpus), "index": shown(index_dir)}
        paths = write_outputs(run, summary, out / s.name, s.name, sources=sources, chart=chart)
        for name, c in summary["configs"].items():
            record["configs"].setdefault(name, _config_record(c["config"]))
        record["sets"][s.name] = {
            "description": s.description, "gold": [shown(g) for g in s.gold], "corpus": shown(corpus), "index": shown(index_dir),
            "questions": summary["gold"], "metrics": {n: c["metrics"] for n, c in summary["configs"].items()},
            "vs_baseline": {n: c["vs_baseline"] for n, c in summary["configs"].items() if c["vs_baseline"]},
            "group_tests": group_tests(run, KEY_METRICS, n_boot, n_perm, seed),
            "latency_ms": {n: c["latency_ms"] for n, c in summary["configs"].items()},
            "warnings": sorted({w for c in summary["configs"].values() for w in c["warnings"]}),
            "report": f"{s.name}/{paths['md'].name}",  # relative to the suite report: the folder moves as one
        }
        log(f"  {s.name}: " + "; ".join(f"{n} hit@1 {_mean(c['metrics'], 'overall', 'hit@1')}" for n, c in summary["configs"].items()))
    record["statistics"] = {"ci": f"95% percentile bootstrap over questions, {n_boot} resamples",
                            "paired_test": f"two-sided paired randomisation (sign-flip) test vs {configs[0].name!r} within each "
                                           f"group, {n_perm} permutations; p_holm: Holm-corrected across configurations",
                            "seed": seed}
    record["seconds"] = round(time.perf_counter() - started, 1)
    from kotae.evals.suite_report import write_suite

    return SuiteResult(record, write_suite(record, out, stem, chart=chart))


def _config_record(desc: dict[str, Any]) -> dict[str, Any]:
    """A configuration as the suite records it: without the per-set paths (each set has its own)."""
    out = json.loads(json.dumps(desc, default=str))
    out.get("settings", {}).pop("corpus_dir", None)
    out.get("settings", {}).pop("index_dir", None)
    out.get("index", {}).pop("path", None)
    out.get("index", {}).pop("counts", None)
    out.get("index", {}).pop("built_at", None)
    return out


def _mean(metrics: dict[str, Any], group: str, metric: str) -> str:
    m = metrics.get(group, {}).get(metric)
    return "—" if not m or m["mean"] is None else f"{m['mean']:.3f}"


def extra_metrics(record: dict[str, Any]) -> list[str]:
    """Metrics the summaries carry beyond the cut-off family (e.g. answer metrics), in order."""
    seen: dict[str, None] = {}
    for s in record["sets"].values():
        for groups in s["metrics"].values():
            for cell in groups.values():
                for k, v in cell.items():
                    if isinstance(v, dict) and "mean" in v and not _RANK_METRIC.match(k):
                        seen.setdefault(k)
    return list(seen)
