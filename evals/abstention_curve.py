"""The abstention trade-off curve of evals/reports/abstention.md, reproducible (issue 11).

For every question of the sets abstention is calibrated on (gold.jsonl with its unanswerable
questions, the devset + evals/devset-unanswerable.jsonl, the mixed ja+en set + its unanswerable
file), search as ``/v1/ask`` does (the default configuration, k = top_k) and keep, from the
result's ``evidence``, the word evidence and whether the best cosine clears the dense floor
(index/abstain.py ``word_evidence``, ``clears_floor``). Then sweep the threshold over the word
evidence with the floor fixed: at the shipped threshold this is the service's own decision.

Per threshold: recall of the unanswerable questions, false abstention over all answerable ones
pooled and per set. Writes ``<out>.png`` (the figure evals/reports/abstention.md shows) and
``<out>-curve.json`` / ``<out>-curve.md`` (every threshold; the table at a few operating points;
not ``<out>.md``, which is the hand-written report)::

    python -m kotae.evals.abstention_curve --out evals/reports/abstention
    make abstention-curve abstention-curve-report    (the same, through the ignored evals/runs/)

``--compare <an earlier -curve.json>`` draws that run's curve beside this one (before / after).

The sets' indexes are those of ``kotae eval --suite`` (kotae.evals.suite.corpus_index_dir),
opened without ingesting: run the suite once first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from kotae.evals.gold import GoldQuestion
from kotae.evals.sets import REPO, EvalSet
from kotae.index.abstain import clears_floor, word_evidence

SETS = ("gold", "ja-jaquad", "mixed-ja-en")
# Unanswerable questions kept beside a set's gold files: the suite's devset set reads only the
# devset's own gold file, which has none.
EXTRA_UNANSWERABLE = {"ja-jaquad": REPO / "evals" / "devset-unanswerable.jsonl"}
THRESHOLDS = tuple(round(float(t), 4) for t in np.arange(0.30, 0.95, 0.0025))
FALSE_TARGET = 0.05  # issue 11: recall 0.75 with at most 5% of the answerable questions refused
RECALL_TARGET = 0.75
OPERATING_POINTS = (0.03, 0.05, 0.075, 0.10, 0.15)  # pooled false-abstention bounds of the table


@dataclass(frozen=True)
class QuestionEvidence:
    set: str
    id: str
    unanswerable: bool
    words: float | None  # word_evidence; None: nothing retrieved or nothing asked (never found)
    dense_ok: bool  # the best cosine clears the dense floor
    found: bool  # the service's decision at its threshold


def abstains(row: QuestionEvidence, threshold: float) -> bool:
    return row.words is None or row.words < threshold or not row.dense_ok


def question_evidence(set_name: str, q: GoldQuestion, result: Any, mode: str, floor: float | None) -> QuestionEvidence:
    ev = result.evidence
    return QuestionEvidence(set_name, q.id, q.unanswerable, None if ev is None else word_evidence(ev, mode),
                            ev is None or clears_floor(ev, floor), bool(result.found) and bool(result.hits))


def sweep(rows: Sequence[QuestionEvidence], thresholds: Sequence[float] = THRESHOLDS) -> list[dict[str, Any]]:
    """Per threshold: caught / unanswerable, refused / answerable pooled and per set."""
    sets = list(dict.fromkeys(r.set for r in rows))
    unans = [r for r in rows if r.unanswerable]
    ans = [r for r in rows if not r.unanswerable]
    out = []
    for t in thresholds:
        caught = sum(abstains(r, t) for r in unans)
        refused = sum(abstains(r, t) for r in ans)
        per_set = {}
        for s in sets:
            a = [r for r in ans if r.set == s]
            u = [r for r in unans if r.set == s]
            per_set[s] = {"caught": sum(abstains(r, t) for r in u), "unanswerable": len(u),
                          "refused": sum(abstains(r, t) for r in a), "answerable": len(a),
                          "false": _rate(sum(abstains(r, t) for r in a), len(a))}
        out.append({"threshold": float(t), "caught": caught, "unanswerable": len(unans), "recall": _rate(caught, len(unans)),
                    "refused": refused, "answerable": len(ans), "false": _rate(refused, len(ans)),
                    "worst_false": max((c["false"] for c in per_set.values()), default=0.0), "sets": per_set})
    return out


def _rate(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def best_point(points: Sequence[dict[str, Any]], bound: float = FALSE_TARGET, key: str = "worst_false") -> dict[str, Any] | None:
    """The highest recall with ``key`` at most ``bound`` (among ties, the fewest refused)."""
    ok = [p for p in points if p[key] <= bound]
    return max(ok, key=lambda p: (p["recall"], -p["refused"], -p["threshold"])) if ok else None


def collect(sets: Sequence[EvalSet], settings: Any, config: str = "default",
            log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> tuple[list[QuestionEvidence], float | None]:
    """Every question of ``sets`` searched with ``config`` over the set's suite index.
    Returns the rows and the retriever's abstention threshold."""
    from kotae.evals.configs import build_retrievers, resolve_configs
    from kotae.evals.gold import load_gold
    from kotae.evals.suite import corpus_index_dir, load_set_gold

    rows: list[QuestionEvidence] = []
    threshold = None
    for i, s in enumerate(sets, 1):
        why = s.missing()
        if why:
            raise SystemExit(f"set {s.name}: {why}")
        extra = EXTRA_UNANSWERABLE.get(s.name)
        questions = load_set_gold(s) + (load_gold(extra) if extra else [])
        index_dir = corpus_index_dir(settings, s.corpus, s.name)
        if not (index_dir / "CURRENT").is_file():
            raise SystemExit(f"set {s.name}: no index at {index_dir}; build it with "
                             f"`kotae eval --suite --sets {s.name} --config {config}` first")
        set_settings = settings.replace(corpus_dir=s.corpus, index_dir=index_dir)
        retrievers, _ = build_retrievers(set_settings, resolve_configs([config]), corpus_dir=s.corpus, ingest=False, progress=False)
        retriever = retrievers[config]
        cfg = retriever.config
        threshold = cfg.abstain_threshold
        started = time.perf_counter()
        set_rows = [question_evidence(s.name, q, retriever.search(q.question, k=settings.top_k), cfg.mode, cfg.dense_floor)
                    for q in questions]
        rows += set_rows
        u = [r for r in set_rows if r.unanswerable]
        a = [r for r in set_rows if not r.unanswerable]
        log(f"[{i}/{len(sets)}] {s.name}: {len(set_rows)} questions in {time.perf_counter() - started:.0f} s; "
            f"at the shipped threshold caught {sum(not r.found for r in u)}/{len(u)}, refused {sum(not r.found for r in a)}/{len(a)}")
    return rows, threshold


def shipped_check(rows: Sequence[QuestionEvidence], threshold: float | None) -> list[str]:
    """Ids whose swept decision at the shipped threshold differs from the service's."""
    if threshold is None:
        return []
    return [f"{r.set}/{r.id}" for r in rows if abstains(r, threshold) == r.found]


def output_paths(out: Path) -> dict[str, Path]:
    out = Path(out)
    return {"json": out.with_name(out.name + "-curve.json"), "md": out.with_name(out.name + "-curve.md"),
            "png": out.with_name(out.name + ".png")}


def write(rows: Sequence[QuestionEvidence], threshold: float | None, out: Path, description: str = "",
          compare: tuple[str, dict[str, Any]] | None = None) -> dict[str, Path]:
    """``compare``: (label, an earlier run's record) drawn beside this run."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    points = sweep(rows, THRESHOLDS if threshold is None else sorted(set(THRESHOLDS) | {threshold}))
    shipped = next((p for p in points if threshold is not None and p["threshold"] == threshold), None)
    record = {"generated": time.strftime("%Y-%m-%d %H:%M %Z"), "description": description, "threshold": threshold,
              "found_is": "word_evidence >= threshold and the best cosine >= the dense floor (index/abstain.py)",
              "shipped": shipped, "best_every_set_at_most_5pct": best_point(points),
              "mismatches_at_shipped": shipped_check(rows, threshold), "points": points,
              "questions": [asdict(r) for r in rows]}
    paths = output_paths(out)
    # one line per top-level key, per threshold and per question: small, and diffs show what moved
    paths["json"].write_text("{\n" + ",\n".join(f" {json.dumps(k)}: {_lines(v)}" for k, v in record.items()) + "\n}\n", encoding="utf-8")
    paths["md"].write_text(markdown(record, paths["png"].name), encoding="utf-8")
    plot(points, shipped, paths["png"], compare)
    return paths


def _lines(value: Any) -> str:
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in value) + "\n ]"
    return json.dumps(value, ensure_ascii=False)


def markdown(record: dict[str, Any], png: str) -> str:
    points = record["points"]
    sets = list(points[0]["sets"]) if points else []
    lines = ["# Abstention trade-off curve", "",
             f"Generated {record['generated']} by `python -m kotae.evals.abstention_curve` (`make abstention-curve`). "
             f"{record['description']}", "",
             f"Found = {record['found_is']}; the threshold swept with the floor fixed. "
             f"Recall = unanswerable questions refused; false = answerable questions refused.", "",
             f"![abstention trade-off]({png})", ""]
    lines += ["| pooled false abstention at most | best recall | threshold | pooled false | worst set |", "|---|---|---|---|---|"]
    for bound in OPERATING_POINTS:
        p = best_point(points, bound, key="false")
        lines.append(f"| {bound:.1%} | " + (f"{p['recall']:.2f} ({p['caught']}/{p['unanswerable']}) | {p['threshold']:.4g} | "
                                             f"{p['false']:.1%} | {p['worst_false']:.1%} |" if p else "- | - | - | - |"))
    lines.append("")
    head = "| | threshold | caught | refused (pooled) | " + " | ".join(f"{s} caught / refused" for s in sets) + " |"
    lines += [head, "|" + "---|" * (4 + len(sets))]
    for label, p in (("shipped", record["shipped"]), ("best, every set at most 5%", record["best_every_set_at_most_5pct"])):
        if p:
            lines.append(f"| {label} | {p['threshold']:.4g} | {p['caught']}/{p['unanswerable']} ({p['recall']:.2f}) | "
                         f"{p['refused']}/{p['answerable']} ({p['false']:.1%}) | "
                         + " | ".join(f"{c['caught']}/{c['unanswerable']}, {c['refused']}/{c['answerable']} ({c['false']:.1%})"
                                      for c in p["sets"].values()) + " |")
    mism = record["mismatches_at_shipped"]
    lines += ["", f"At the shipped threshold the swept decision equals the service's `found` for "
                  f"{'every question' if not mism else 'all but ' + ', '.join(mism)}.", ""]
    return "\n".join(lines)


def plot(points: Sequence[dict[str, Any]], shipped: dict[str, Any] | None, path: Path,
         compare: tuple[str, dict[str, Any]] | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_ans = points[0]["answerable"] if points else 0
    n_unans = points[0]["unanswerable"] if points else 0
    sets = " + ".join(points[0]["sets"]) if points else ""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, key, xl in ((axes[0], "false", f"false abstention, all {n_ans} answerable ({sets})"),
                        (axes[1], "worst_false", "false abstention of the worst of the sets")):
        curves = [(compare[0], compare[1]["points"], compare[1]["shipped"], "tab:gray")] if compare else []
        curves.append(("this run" if compare else "threshold swept", points, shipped, "tab:blue"))
        for i, (label, pts, dot, color) in enumerate(curves):
            ax.plot([p[key] for p in pts], [p["recall"] for p in pts], "-", color=color, label=label)
            if dot:
                ax.plot(dot[key], dot["recall"], "o", color=color)
                ax.annotate(f"shipped {dot['threshold']:g}: {dot['recall']:.2f} @ {dot[key]:.3f}", (dot[key], dot["recall"]),
                            textcoords="offset points", xytext=(6, -12 - 12 * i), color=color, fontsize=8)  # one line each
        ax.axvline(FALSE_TARGET, ls="--", color="tab:red", lw=0.8)
        ax.axhline(RECALL_TARGET, ls=":", color="tab:red", lw=0.8)
        ax.text(FALSE_TARGET + 0.002, RECALL_TARGET + 0.01, f"target: recall {RECALL_TARGET} at <= {FALSE_TARGET:.0%}", color="tab:red", fontsize=8)
        ax.set_xlim(0, 0.2)
        ax.set_ylim(0, 1)
        ax.set_xlabel(xl)
        ax.set_ylabel(f"recall of unanswerable ({n_unans})")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle("Abstention trade-off, threshold swept over the word evidence, dense floor fixed; dots: shipped threshold", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    from kotae.evals.sets import default_sets
    from kotae.settings import load_settings

    ap = argparse.ArgumentParser(prog="python -m kotae.evals.abstention_curve", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("evals/runs/abstention"), help="output path without suffix (.json/.md/.png)")
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated suite sets (default {','.join(SETS)})")
    ap.add_argument("--config", default="default", help="evaluation configuration (kotae eval --config)")
    ap.add_argument("--compare", type=Path, default=None, help="an earlier run's <out>-curve.json, drawn beside this run")
    ap.add_argument("--compare-label", default="before", help="legend of --compare's curve")
    ap.add_argument("--devset", type=Path, default=None, help="the Japanese devset folder (default KOTAE_DEVSET_DIR or ../shared/devsets/ja_jaquad_train)")
    args = ap.parse_args(argv)
    available = default_sets(args.devset)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"error: --sets: unknown set {', '.join(unknown)} (known: {', '.join(available)})", file=sys.stderr)
        return 2
    compare = None
    if args.compare is not None:
        try:
            earlier = json.loads(args.compare.read_text(encoding="utf-8"))
            if not isinstance(earlier, dict) or not isinstance(earlier.get("points"), list):
                raise ValueError("no list of points")
            compare = (args.compare_label, earlier)
        except (OSError, ValueError) as e:
            print(f"error: --compare: {args.compare} is not a curve JSON of this module ({e})", file=sys.stderr)
            return 2
    settings = load_settings()
    try:
        rows, threshold = collect([available[n] for n in names], settings, args.config)
    except SystemExit as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    paths = write(rows, threshold, args.out, f"Sets: {', '.join(names)}; configuration {args.config}, k={settings.top_k}.", compare)
    record = json.loads(paths["json"].read_text(encoding="utf-8"))
    for label, p in (("shipped", record["shipped"]), ("best with every set <= 5%", record["best_every_set_at_most_5pct"])):
        if p:
            print(f"{label}: threshold {p['threshold']:g}, recall {p['caught']}/{p['unanswerable']} = {p['recall']:.2f}, "
                  f"false {p['refused']}/{p['answerable']} = {p['false']:.1%}, worst set {p['worst_false']:.1%}")
    if record["mismatches_at_shipped"]:
        print(f"warning: swept decision differs from the service's at the shipped threshold: {record['mismatches_at_shipped']}", file=sys.stderr)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
