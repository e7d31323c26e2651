"""Honest uncertainty: 95% bootstrap CIs and paired tests against the first configuration.

- CIs: percentile bootstrap over questions (resampling questions with replacement), per metric
  and per group (overall, each ``lang``, each ``type``, cross-lingual or not).
- Paired tests: every configuration against the first on the same answerable questions.
  Two-sided paired randomisation (sign-flip) test of the mean per-question difference, with a
  bootstrap CI of that difference and Holm's correction across the compared configurations.
A fixed seed makes reports reproducible.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from kotae.evals.run import ConfigRun, EvalRun, QuestionRun

CONFIDENCE = 0.95


def bootstrap_ci(values: np.ndarray, n_boot: int = 2000, seed: int = 0, confidence: float = CONFIDENCE) -> np.ndarray:
    """Percentile bootstrap CI of the mean; ``values`` (n,) or (n, m) -> (2,) or (2, m)."""
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    if n == 0:
        return np.full((2,) + values.shape[1:], np.nan)
    if n == 1:
        return np.stack([values[0], values[0]])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    means = values[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    return np.quantile(means, [alpha, 1 - alpha], axis=0)


def paired_randomization(a: np.ndarray, b: np.ndarray, n_perm: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value that mean(a - b) = 0, by random sign flips of paired differences.

    Uses (hits + 1) / (n_perm + 1), so p is never 0. Identical inputs give p = 1.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size == 0 or not np.any(d):
        return 1.0
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    while done < n_perm:  # chunks keep memory small for large gold sets
        m = min(2000, n_perm - done)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(m, d.size))
        hits += int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed - 1e-12))
        done += m
    return (hits + 1) / (n_perm + 1)


def holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone)."""
    items = sorted(pvalues.items(), key=lambda kv: kv[1])
    m = len(items)
    out: dict[str, float] = {}
    running = 0.0
    for i, (key, p) in enumerate(items):
        running = max(running, min(1.0, (m - i) * p))
        out[key] = running
    return out


def _groups(cfg: "ConfigRun") -> list[tuple[str, Callable[["QuestionRun"], bool]]]:
    qs = cfg.answerable()
    groups: list[tuple[str, Callable[[QuestionRun], bool]]] = [("overall", lambda q: True)]
    for lang in sorted({q.question.lang for q in qs}):
        groups.append((f"lang={lang}", lambda q, lang=lang: q.question.lang == lang))
    if any(q.crosslingual for q in qs):
        groups.append(("crosslingual", lambda q: q.crosslingual is True))
        groups.append(("monolingual", lambda q: q.crosslingual is False))
    for t in sorted({q.question.type for q in qs if q.question.type}):
        groups.append((f"type={t}", lambda q, t=t: q.question.type == t))
    return groups


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), nd)


def group_metrics(cfg: "ConfigRun", metrics: list[str], n_boot: int, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for gname, where in _groups(cfg):
        qs = [q for q in cfg.answerable() if where(q)]
        if not qs:
            continue
        group: dict[str, Any] = {"n": len(qs)}
        # Ranking metrics exist for every answerable question; answer metrics only for those
        # with gold answer strings, so each metric is averaged over the questions that have it.
        for m in metrics:
            v = np.array([q.metrics[m] for q in qs if m in q.metrics], dtype=float)
            if not v.size:
                continue
            ci = bootstrap_ci(v, n_boot, seed)
            group[m] = {"mean": _r(v.mean()), "ci": [_r(ci[0]), _r(ci[1])]}
            if v.size != len(qs):
                group[m]["n"] = int(v.size)
        out[gname] = group
    return out


def paired_tests(run: "EvalRun", n_boot: int, n_perm: int, seed: int) -> dict[str, dict[str, Any]]:
    """{config: {metric: {diff, ci, p, p_holm, wins, losses}}} against the baseline."""
    base = run.configs[run.baseline]
    base_by_id = {q.question.id: q for q in base.answerable()}
    raw: dict[str, dict[str, Any]] = {}
    for name, cfg in run.configs.items():
        if name == run.baseline:
            continue
        pairs = [(q, base_by_id[q.question.id]) for q in cfg.answerable() if q.question.id in base_by_id]
        raw[name] = {}
        for m in run.metrics:
            both = [(q, bq) for q, bq in pairs if m in q.metrics and m in bq.metrics]
            a = np.array([q.metrics[m] for q, _ in both], dtype=float)
            b = np.array([bq.metrics[m] for _, bq in both], dtype=float)
            d = a - b
            ci = bootstrap_ci(d, n_boot, seed)
            raw[name][m] = {"n": len(both), "diff": _r(d.mean() if d.size else np.nan), "ci": [_r(ci[0]), _r(ci[1])],
                            "p": paired_randomization(a, b, n_perm, seed), "wins": int(np.sum(d > 0)), "losses": int(np.sum(d < 0))}
    for m in run.metrics:
        adjusted = holm({name: raw[name][m]["p"] for name in raw})
        for name in raw:
            raw[name][m]["p_holm"] = _r(adjusted[name])
            raw[name][m]["p"] = _r(raw[name][m]["p"])
    return raw


def _latency(cfg: "ConfigRun") -> dict[str, float | None]:
    v = np.array([q.latency_ms for q in cfg.questions], dtype=float)
    if not v.size:
        return {"p50": None, "p95": None, "mean": None}
    return {"p50": _r(np.percentile(v, 50), 2), "p95": _r(np.percentile(v, 95), 2), "mean": _r(v.mean(), 2)}


def _best_threshold(cfg: "ConfigRun") -> dict[str, Any] | None:
    """The threshold of the abstention signal with the best F1 of "no answer" (in-sample, so
    optimistic: a hint for calibration, not a result)."""
    if not any(q.question.unanswerable for q in cfg.questions):
        return None
    sweep = [r for r in cfg.abstention_sweep() if r["f1"] is not None]
    if not sweep:
        return None
    best = max(sweep, key=lambda r: (r["f1"], -r["false_abstention"] if r["false_abstention"] is not None else 0))
    return {k: _r(v, 6) if isinstance(v, float) else v for k, v in best.items()}


def summarize(run: "EvalRun", n_boot: int = 2000, n_perm: int = 10000, seed: int = 0) -> dict[str, Any]:
    gold = run.gold
    paired = paired_tests(run, n_boot, n_perm, seed)
    configs = {}
    for name, cfg in run.configs.items():
        answerable = cfg.answerable()
        configs[name] = {
            "config": cfg.config,
            "metrics": group_metrics(cfg, run.metrics, n_boot, seed),
            "abstention": {k: _r(v) if isinstance(v, float) else v for k, v in cfg.abstention().items()},
            # abstention of the answer (/v1/ask says "not found"), when answers were scored
            "answer_abstention": ({k: _r(v) if isinstance(v, float) else v for k, v in a.items()}
                                  if (a := cfg.answer_abstention()) is not None else None),
            "abstention_best_threshold": _best_threshold(cfg),
            "unreachable": [q.question.id for q in answerable if q.n_relevant == 0],
            "latency_ms": _latency(cfg),
            "vs_baseline": paired.get(name),
            "warnings": cfg.warnings,
        }
    return {
        "gold": {
            "questions": len(gold),
            "answerable": sum(1 for q in gold if q.answerable),
            "unanswerable": sum(1 for q in gold if q.unanswerable),
            "by_lang": dict(Counter(q.lang for q in gold)),
            "by_type": dict(Counter(q.type or "-" for q in gold)),
        },
        "ks": list(run.ks),
        "metric_names": run.metrics,
        "baseline": run.baseline,
        "statistics": {"ci": f"{int(CONFIDENCE * 100)}% percentile bootstrap over questions, {n_boot} resamples",
                       "paired_test": f"two-sided paired randomisation (sign-flip) test vs {run.baseline!r}, {n_perm} permutations; "
                                      "p_holm: Holm-corrected across configurations",
                       "seed": seed,
                       "population": "ranking metrics over answerable questions; unanswerable ones only in abstention"},
        "seconds": round(run.seconds, 2),
        "configs": configs,
    }
