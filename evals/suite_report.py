"""The suite's outputs: ``<stem>.json`` (everything), ``<stem>.md`` (side-by-side tables with
CIs and paired tests) and ``<stem>.png`` (hit@1 and hit@5 per set and group, CI whiskers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kotae.evals.report import _cell, _md_escape, _p
from kotae.evals.suite import CHART_GROUPS, KEY_METRICS, extra_metrics

_LABEL = {"hit@1": "hit@1", "hit@5": "hit@5", "mrr@10": "MRR@10"}


def _summary_groups(record_set: dict[str, Any], with_types: bool) -> list[str]:
    seen: dict[str, None] = {}
    for groups in record_set["metrics"].values():
        for g in groups:
            if with_types or not g.startswith("type="):
                seen.setdefault(g)
    order = {g: i for i, g in enumerate(CHART_GROUPS)}
    return sorted(seen, key=lambda g: (order.get(g, len(order)), g))


def _delta(test: dict[str, Any] | None) -> str:
    if not test:
        return "—"
    sig = " ✱" if test.get("p_holm") is not None and test["p_holm"] < 0.05 else ""
    return f"{test['diff']:+.3f} [{test['ci'][0]:+.2f}, {test['ci'][1]:+.2f}] {_p(test.get('p_holm'))}{sig}"


def _mean(cell: dict[str, Any] | None) -> str:
    return "—" if not cell or cell.get("mean") is None else f"{cell['mean']:.3f}"


def key_table(record: dict[str, Any]) -> str:
    """Means of the key metrics (and any extra ones) per set and group (types left out), every
    configuration side by side: the table `kotae eval --suite` prints."""
    names = list(record["configs"])
    metrics = [*KEY_METRICS, *extra_metrics(record)]
    lines = ["| set | group | n | " + " | ".join(f"`{n}` {_LABEL.get(m, m)}" for n in names for m in metrics) + " |",
             "|---|---|---|" + "---|" * (len(names) * len(metrics))]
    for sname, rs in record["sets"].items():
        for g in _summary_groups(rs, with_types=False):
            n = next((rs["metrics"][c][g]["n"] for c in names if g in rs["metrics"].get(c, {})), "")
            lines.append(f"| {sname} | {g} | {n} | " + " | ".join(_mean(rs["metrics"].get(c, {}).get(g, {}).get(m))
                                                                  for c in names for m in metrics) + " |")
    return "\n".join(lines)


def markdown(record: dict[str, Any], png_name: str | None) -> str:
    names = list(record["configs"])
    base = record["baseline"]
    metrics = [*KEY_METRICS, *extra_metrics(record)]
    out = ["# Retrieval evaluation suite", "",
           f"Generated {record['generated']} by `kotae eval --suite` in {record['seconds']:.0f} s. "
           f"Every configuration on every question set, each set over its own corpus and index. "
           f"Means over answerable questions; {record['statistics']['ci']} in brackets; "
           f"Δ: {record['statistics']['paired_test']} (✱ = p_holm < 0.05).", ""]
    out.append("Configurations (the first is the baseline of every test):")
    out.append("")
    for n in names:
        c = record["configs"][n]
        over = c.get("overrides") or {}
        what = c.get("description") or ""
        out.append(f"- `{n}`: {what}" + (f" — overrides `{json.dumps(over, ensure_ascii=False)}`" if over else ""))
    out.append("")
    for s, why in record["skipped"].items():
        out.append(f"- set `{s}` skipped: {_md_escape(why)}")
    if record["skipped"]:
        out.append("")
    if png_name:
        out += [f"![hit@1 and hit@5 per set and group]({png_name})", ""]

    out += ["## Key figures (means; CIs and tests in the sections below)", "", key_table(record), ""]

    for sname, rs in record["sets"].items():
        q = rs["questions"]
        out += [f"## {sname}", "", _md_escape(rs["description"]), "",
                f"gold `{', '.join(rs['gold'])}`; corpus `{rs['corpus']}`; index `{rs['index']}`; "
                f"{q['answerable']} answerable + {q['unanswerable']} unanswerable questions "
                f"(by language: {', '.join(f'{k} {v}' for k, v in sorted(q['by_lang'].items()))}). "
                f"Full report with failures: [{rs['report']}]({rs['report']}).", ""]
        out.append("| group | n | config | " + " | ".join(_LABEL.get(m, m) for m in metrics) + " | "
                   + " | ".join(f"Δ {_LABEL[m]} vs `{base}`" for m in KEY_METRICS) + " |")
        out.append("|---|---|---|" + "---|" * (len(metrics) + len(KEY_METRICS)))
        for g in _summary_groups(rs, with_types=True):
            for c in names:
                cell = rs["metrics"].get(c, {}).get(g)
                if not cell:
                    continue
                tests = rs["group_tests"].get(c, {}).get(g, {})
                deltas = " | ".join(_delta(tests.get(m)) if c != base else "(baseline)" for m in KEY_METRICS)
                out.append(f"| {g} | {cell['n']} | `{c}` | " + " | ".join(_cell(cell.get(m)) for m in metrics) + f" | {deltas} |")
        out.append("")
        overall = {c: rs["metrics"].get(c, {}).get("overall", {}) for c in names}
        every = [k for k in next((v for v in overall.values() if v), {}) if k != "n"]
        out += ["All metrics, overall:", "", "| config | " + " | ".join(every) + " | search p50 ms |",
                "|---|" + "---|" * (len(every) + 1)]
        for c in names:
            lat = rs["latency_ms"].get(c, {}).get("p50")
            out.append(f"| `{c}` | " + " | ".join(_cell(overall[c].get(k)) for k in every) + f" | {'—' if lat is None else f'{lat:.0f}'} |")
        out.append("")
        if rs["warnings"]:
            out.append(f"{len(rs['warnings'])} warning(s), e.g. {_md_escape(rs['warnings'][0])} (all in the JSON).")
            out.append("")
    return "\n".join(out)


def plot(record: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(record["configs"])
    sets = list(record["sets"])
    fig, axes = plt.subplots(max(1, len(sets)), 2, figsize=(13, 3.4 * max(1, len(sets))), squeeze=False)
    width = 0.8 / max(1, len(names))
    for row, sname in enumerate(sets):
        rs = record["sets"][sname]
        groups = [g for g in CHART_GROUPS if any(g in rs["metrics"].get(c, {}) for c in names)]
        x = np.arange(len(groups))
        for col, metric in enumerate(("hit@1", "hit@5")):
            ax = axes[row][col]
            for i, c in enumerate(names):
                cells = [rs["metrics"].get(c, {}).get(g, {}).get(metric) for g in groups]
                mean = np.array([m["mean"] if m and m["mean"] is not None else np.nan for m in cells])
                lo = np.array([m["ci"][0] if m and m["ci"][0] is not None else np.nan for m in cells])
                hi = np.array([m["ci"][1] if m and m["ci"][1] is not None else np.nan for m in cells])
                err = np.vstack([np.clip(mean - lo, 0, None), np.clip(hi - mean, 0, None)])
                ax.bar(x + (i - (len(names) - 1) / 2) * width, mean, width, yerr=err, capsize=2, label=c)
            ax.set_xticks(x, [f"{g}\n(n={next((rs['metrics'][c][g]['n'] for c in names if g in rs['metrics'].get(c, {})), '')})"
                              for g in groups], fontsize=8)
            ax.set_ylim(0, 1)
            ax.set_title(f"{sname}: {metric}", fontsize=10)
            ax.grid(axis="y", alpha=0.3)
    axes[0][1].legend(fontsize=8, loc="lower right")
    fig.suptitle("kotae retrieval suite — mean with 95% bootstrap CI")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_suite(record: dict[str, Any], out: Path, stem: str = "suite", chart: bool = True) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{stem}.json", "md": out / f"{stem}.md"}
    paths["json"].write_text(json.dumps(record, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    png = None
    if chart and record["sets"]:
        paths["png"] = plot(record, out / f"{stem}.png")
        png = paths["png"].name
    paths["md"].write_text(markdown(record, png) + "\n", encoding="utf-8")
    return paths
