"""Evaluation outputs (docs/CONTRACTS.md §4), written next to each other in one folder:

- ``<stem>.json``      summary: metrics overall / per lang / per type / cross-lingual with 95% CIs,
                       paired tests vs the first configuration, abstention, full configuration
- ``<stem>.jsonl``     one line per (configuration, question): gold fields + ranked passages
- ``<stem>.trec``      the same rankings as a TREC run file (qid Q0 passage rank score config)
- ``<stem>.failures.tsv`` per-question table of the first configuration, worst first
- ``<stem>.md``        Markdown report, with ``<stem>.png`` (bar chart with CI whiskers)
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kotae.evals.run import ConfigRun, EvalRun, QuestionRun

MAIN_METRICS = ("hit@1", "hit@5", "mrr@10", "ndcg@10")


def _fmt(v: float | None, nd: int = 3) -> str:
    return "—" if v is None else f"{v:.{nd}f}"


def _cell(m: dict[str, Any] | None) -> str:
    if not m:
        return "—"
    lo, hi = m["ci"]
    return f"{_fmt(m['mean'])} [{_fmt(lo, 2)}, {_fmt(hi, 2)}]"


def _p(p: float | None) -> str:
    if p is None:
        return "—"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _short(text: str, n: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def failure_rows(cfg: "ConfigRun", others: list["ConfigRun"] | None = None) -> list[dict[str, Any]]:
    """Every question of a configuration, worst first.

    Order: answerable questions with no relevant passage in the ranking, then by MRR@10
    ascending (relevant found late), then unanswerable questions that were not abstained on.
    """
    others = others or []
    by_other = {o.name: {q.question.id: q for q in o.questions} for o in others}
    rows = []
    for q in cfg.questions:
        g = q.question
        top = q.passages[0] if q.passages else None
        rank = q.first_relevant
        if g.answerable:
            badness = (0, q.metrics.get("mrr@10", 0.0), -(rank or 10**6))
            status = "unreachable" if q.n_relevant == 0 else ("miss" if rank is None else ("late" if rank > 1 else "ok"))
        else:
            badness = (1, 0.0 if not q.abstained else 1.0, 0)
            status = "abstained" if q.abstained else "answered"
        rows.append({
            "id": g.id, "lang": g.lang, "type": g.type or "", "crosslingual": q.crosslingual, "status": status,
            "first_relevant_rank": rank, "mrr@10": round(q.metrics.get("mrr@10", 0.0), 4) if g.answerable else None,
            "n_relevant": q.n_relevant, "question": g.question,
            "expected": " / ".join(g.answers) or " / ".join(p.text[:40] for p in g.passages) or " ".join(g.docs),
            "top_doc": top["doc_id"] if top else "", "top_kind": (top or {}).get("kind", ""),
            "top_section": (top or {}).get("section") or "", "top_text": _short(top["text"], 80) if top else "",
            "top_score": top["score"] if top else None,
            "answer@1": q.metrics.get("answer@1"), "answer@any": q.metrics.get("answer@any"),
            "answer": _short(q.answer["text"], 200) if q.answer else "",
            **{f"rank[{name}]": (by_other[name][g.id].first_relevant if g.id in by_other[name] else None) for name in by_other},
            "_badness": badness,
        })
    rows.sort(key=lambda r: r["_badness"])
    for r in rows:
        del r["_badness"]
    return rows


def failure_patterns(cfg: "ConfigRun") -> dict[str, Any]:
    """Where the first-rank misses cluster: by lang, type, cross-lingual, and the kind of
    passage that took rank 1 instead."""
    misses = [q for q in cfg.answerable() if q.first_relevant != 1]
    total = Counter()
    missed = Counter()
    for q in cfg.answerable():
        g = q.question
        keys = [f"lang={g.lang}", f"type={g.type}"] + ([f"crosslingual={q.crosslingual}"] if q.crosslingual is not None else [])
        for k in keys:
            total[k] += 1
            if q.first_relevant != 1:
                missed[k] += 1
    top_kinds = Counter((q.passages[0].get("kind") or "?") if q.passages else "(none)" for q in misses)
    wrong_doc = sum(1 for q in misses if q.passages and q.passages[0]["doc_id"] not in set(q.question.docs) | {p.doc for p in q.question.passages})
    return {
        "misses_at_1": len(misses),
        "answerable": len(cfg.answerable()),
        "miss_rate_by_group": {k: {"missed": missed[k], "of": total[k], "rate": round(missed[k] / total[k], 3)}
                               for k in sorted(total, key=lambda k: -missed[k] / total[k])},
        "top1_kind_on_misses": dict(top_kinds.most_common()),
        "top1_wrong_document": wrong_doc,
        "never_retrieved_in_depth": sum(1 for q in misses if q.first_relevant is None),
    }


def plot(summary: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(summary["configs"])
    groups = [g for g in ("overall", "lang=ja", "lang=en", "crosslingual") if any(g in c["metrics"] for c in summary["configs"].values())]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [len(MAIN_METRICS), len(groups)]})
    width = 0.8 / max(1, len(names))
    for ax, keys, title, pick in (
        (axes[0], list(MAIN_METRICS), "overall (answerable questions)", lambda c, key: c["metrics"].get("overall", {}).get(key)),
        (axes[1], groups, "MRR@10 by group", lambda c, key: c["metrics"].get(key, {}).get("mrr@10")),
    ):
        x = np.arange(len(keys))
        for i, name in enumerate(names):
            cells = [pick(summary["configs"][name], key) for key in keys]
            means = np.array([c["mean"] if c and c["mean"] is not None else np.nan for c in cells])
            lo = np.array([c["ci"][0] if c and c["ci"][0] is not None else np.nan for c in cells])
            hi = np.array([c["ci"][1] if c and c["ci"][1] is not None else np.nan for c in cells])
            err = np.vstack([np.clip(means - lo, 0, None), np.clip(hi - means, 0, None)])
            ax.bar(x + (i - (len(names) - 1) / 2) * width, means, width, yerr=err, capsize=2.5, label=name)
        ax.set_xticks(x, keys)
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("score (95% bootstrap CI)")
    axes[1].legend(fontsize=8, loc="upper right")
    n = summary["gold"]["answerable"]
    fig.suptitle(f"kotae retrieval evaluation — {n} answerable questions")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


ANSWER_COLUMNS = ("answer@1", "answer@any", "abstain precision", "abstain recall", "false abstention")


def answer_cells(c: dict[str, Any]) -> dict[str, str]:
    """The answer metrics of one configuration as table cells: the two text metrics with
    CIs, then abstention of the answer on the same questions."""
    overall = c["metrics"].get("overall", {})
    a = c.get("answer_abstention") or {}
    return {"answer@1": _cell(overall.get("answer@1")), "answer@any": _cell(overall.get("answer@any")),
            "abstain precision": _fmt(a.get("precision")), "abstain recall": _fmt(a.get("recall")),
            "false abstention": _fmt(a.get("false_abstention"))}


def console_table(summary: dict[str, Any]) -> str:
    """The table `kotae eval` prints: main metrics with CIs, then MRR@10 per group."""
    names = list(summary["configs"])
    width = max(10, *(len(n) for n in names)) + 2
    lines = [f"{'config':<{width}}" + "".join(f"{m:>22}" for m in MAIN_METRICS) + f"{'Δmrr@10 vs ' + summary['baseline']:>24}"]
    for name in names:
        c = summary["configs"][name]
        overall = c["metrics"].get("overall", {})
        vs = c.get("vs_baseline") or {}
        d = vs.get("mrr@10")
        delta = f"{d['diff']:+.3f} {_p(d['p_holm'])}" if d else "(baseline)"
        lines.append(f"{name:<{width}}" + "".join(f"{_cell(overall.get(m)):>22}" for m in MAIN_METRICS) + f"{delta:>24}")
    if "answer@1" in summary["metric_names"]:
        lines.append("")
        lines.append(f"{'answers':<{width}}" + "".join(f"{m:>22}" for m in ANSWER_COLUMNS))
        for name in names:
            cells = answer_cells(summary["configs"][name])
            lines.append(f"{name:<{width}}" + "".join(f"{cells[m]:>22}" for m in ANSWER_COLUMNS))
    groups = [g for g in ("lang=ja", "lang=en", "crosslingual") if any(g in c["metrics"] for c in summary["configs"].values())]
    if groups:
        lines.append("")
        lines.append(f"{'MRR@10':<{width}}" + "".join(f"{g + ' (n=' + str(next(c['metrics'][g]['n'] for c in summary['configs'].values() if g in c['metrics'])) + ')':>24}" for g in groups))
        for name in names:
            c = summary["configs"][name]
            lines.append(f"{name:<{width}}" + "".join(f"{_cell(c['metrics'].get(g, {}).get('mrr@10')):>24}" for g in groups))
    return "\n".join(lines)


def _config_line(desc: dict[str, Any]) -> str:
    r = desc.get("retrieval", {})
    idx = desc.get("index", {})
    emb = (idx.get("embedder") or {}).get("name", "?")
    chunk = idx.get("chunker") or {}
    parts = [f"model `{emb}`", f"mode `{r.get('mode', '?')}`"]
    if r.get("mode") == "hybrid":
        parts.append(f"fusion `{r.get('fusion')}` (rrf_k={r.get('rrf_k')}, dense_w={r.get('dense_weight')}, "
                     f"kw_w={r.get('keyword_weight')}, cross-lang kw factor={r.get('cross_lang_keyword_weight')})")
    if r.get("mode") in ("keyword", "hybrid"):
        parts.append(f"tokenizer `{r.get('tokenizer')}`")
    extra = {k: v for k, v in r.items() if k not in ("mode", "fusion", "rrf_k", "dense_weight", "keyword_weight",
                                                      "cross_lang_keyword_weight", "tokenizer", "candidates")}
    if extra:
        parts.append(", ".join(f"{k}={v}" for k, v in extra.items()))
    if chunk:
        parts.append("chunker " + ", ".join(f"{k}={v}" for k, v in chunk.items()))
    return "; ".join(parts)


def _answer_section(s: dict[str, Any], names: list[str]) -> list[str]:
    out = ["## Answers (what `/v1/ask` says)", "",
           "Each question is also answered by the function `/v1/ask` calls, from its own top-k passages. "
           "`answer@1`: a gold answer string (NFKC, white space removed, `_` read as a space) occurs in the first sentence "
           "of the answer; `answer@any`: anywhere in the answer body (the Sources list excluded). Over answerable questions "
           "with gold answer strings. Abstention here is the answer's `found: false`; `refused`: the share of answerable "
           "questions it was said to (per group: cross-language questions should be refused no more often than "
           "same-language ones).", ""]
    out.append("| config | " + " | ".join(ANSWER_COLUMNS) + " |")
    out.append("|---|" + "---|" * len(ANSWER_COLUMNS))
    for name in names:
        cells = answer_cells(s["configs"][name])
        out.append(f"| `{name}` | " + " | ".join(cells[m] for m in ANSWER_COLUMNS) + " |")
    out.append("")
    groups = sorted({k for c in s["configs"].values() for k, v in c["metrics"].items() if k != "overall" and "answer@1" in v},
                    key=lambda k: (not k.startswith("lang="), not k.endswith("lingual"), k))
    if groups:
        out.append("| config | group | n | answer@1 | answer@any | refused (n) |")
        out.append("|---|---|---|---|---|---|")
        for name in names:
            for k in groups:
                m = s["configs"][name]["metrics"].get(k)
                if m and "answer@1" in m:
                    refused = f"{_cell(m['refused'])} ({m['refused'].get('n', m['n'])})" if "refused" in m else "—"
                    out.append(f"| `{name}` | {k} | {m['answer@1'].get('n', m['n'])} | {_cell(m.get('answer@1'))} | "
                               f"{_cell(m.get('answer@any'))} | {refused} |")
        out.append("")
    return out


def markdown(run: "EvalRun", summary: dict[str, Any], png_name: str | None, title: str = "Retrieval evaluation",
             sources: dict[str, str] | None = None, failures: int = 25) -> str:
    s = summary
    names = list(s["configs"])
    base = s["baseline"]
    g = s["gold"]
    out: list[str] = [f"# {title}", ""]
    out.append(f"Generated {time.strftime('%Y-%m-%d %H:%M %Z')} by `kotae eval` in {s['seconds']:.0f} s.")
    for k, v in (sources or {}).items():
        out.append(f"{k}: `{v}`  ")
    out.append("")
    out.append(f"**{g['questions']} questions**: {g['answerable']} answerable (ranking metrics), {g['unanswerable']} unanswerable "
               f"(abstention only); by language {', '.join(f'{k} {v}' for k, v in sorted(g['by_lang'].items()))}; "
               f"by type {', '.join(f'{k} {v}' for k, v in sorted(g['by_type'].items()))}.")
    out.append("")
    out.append(f"Numbers are means over answerable questions with **95% bootstrap confidence intervals** in brackets. "
               f"Δ columns: paired randomisation test of each configuration against `{base}` on the same questions, "
               f"p-values Holm-corrected across configurations. Binary relevance per docs/CONTRACTS.md §3; the ranking is the "
               f"retriever's order; a question with no relevant passage retrieved scores 0.")
    out.append("")
    if png_name:
        out += [f"![metrics per configuration]({png_name})", ""]
    out.append("## Overall")
    out.append("")
    recall = "recall@10" if "recall@10" in s["metric_names"] else f"recall@{s['ks'][-1]}"
    out.append("| config | " + " | ".join(MAIN_METRICS) + f" | {recall} | Δ hit@1 vs " + base + " | Δ MRR@10 vs " + base + " |")
    out.append("|---|" + "---|" * (len(MAIN_METRICS) + 3))
    for name in names:
        c = s["configs"][name]
        o = c["metrics"].get("overall", {})
        vs = c.get("vs_baseline") or {}

        def delta(m: str) -> str:
            d = vs.get(m)
            if not d:
                return "—"
            sig = " ✱" if d["p_holm"] is not None and d["p_holm"] < 0.05 else ""
            return f"{d['diff']:+.3f} [{d['ci'][0]:+.2f}, {d['ci'][1]:+.2f}] {_p(d['p_holm'])}{sig} ({d['wins']}↑/{d['losses']}↓)"

        out.append(f"| `{name}` | " + " | ".join(_cell(o.get(m)) for m in MAIN_METRICS) + f" | {_cell(o.get(recall))} | {delta('hit@1')} | {delta('mrr@10')} |")
    out += ["", "✱ = p_holm < 0.05; ↑/↓ = questions where the configuration scored higher/lower than the baseline.", ""]

    if "answer@1" in s["metric_names"]:
        out += _answer_section(s, names)
    groups = [k for k in ("lang=ja", "lang=en", "crosslingual", "monolingual") if any(k in c["metrics"] for c in s["configs"].values())]
    if groups:
        out.append("## By language (cross-lingual = question language differs from every relevant passage's)")
        out.append("")
        out.append("| config | group | n | hit@1 | hit@5 | MRR@10 |")
        out.append("|---|---|---|---|---|---|")
        for name in names:
            for k in groups:
                m = s["configs"][name]["metrics"].get(k)
                if m:
                    out.append(f"| `{name}` | {k} | {m['n']} | {_cell(m.get('hit@1'))} | {_cell(m.get('hit@5'))} | {_cell(m.get('mrr@10'))} |")
        out.append("")
    types = sorted({k for c in s["configs"].values() for k in c["metrics"] if k.startswith("type=")})
    if types:
        out.append("## MRR@10 by question type")
        out.append("")
        out.append("| type | n | " + " | ".join(f"`{n}`" for n in names) + " |")
        out.append("|---|---|" + "---|" * len(names))
        for t in types:
            n = next(c["metrics"][t]["n"] for c in s["configs"].values() if t in c["metrics"])
            out.append(f"| {t[5:]} | {n} | " + " | ".join(_cell(s["configs"][nm]["metrics"].get(t, {}).get("mrr@10")) for nm in names) + " |")
        out.append("")
    out.append("## Abstention on unanswerable questions")
    out.append("")
    out.append("A configuration abstains when its result says `found: false` or it returns no passage. "
               "Precision/recall of \"no answer\" over all questions; false abstention = share of answerable questions abstained on.")
    out.append("")
    out.append("| config | unanswerable | abstained | precision | recall | false abstention |")
    out.append("|---|---|---|---|---|---|")
    for name in names:
        a = s["configs"][name]["abstention"]
        out.append(f"| `{name}` | {a['unanswerable']} | {a['abstained']} | {_fmt(a['precision'])} | {_fmt(a['recall'])} | {_fmt(a['false_abstention'])} |")
    out.append("")
    out.append("## Configurations")
    out.append("")
    for name in names:
        c = s["configs"][name]
        lat = c["latency_ms"]
        out.append(f"- `{name}`: {c['config'].get('description', '')}{' — ' if c['config'].get('description') else ''}{_config_line(c['config'])}; "
                   f"search latency p50 {_fmt(lat['p50'], 0)} ms, p95 {_fmt(lat['p95'], 0)} ms")
    out.append("")
    out.append("The full configuration of every run (settings, index manifest, retrieval config, k) is in the JSON summary.")
    out.append("")

    cfg = run.configs[base]
    pat = failure_patterns(cfg)
    out.append(f"## Failures of `{base}`")
    out.append("")
    out.append(f"{pat['misses_at_1']} of {pat['answerable']} answerable questions have no relevant passage at rank 1; "
               f"{pat['never_retrieved_in_depth']} have none in the top {cfg.config.get('depth', '?')}; "
               f"for {pat['top1_wrong_document']} the rank-1 passage comes from a document that is not a gold document.")
    out.append("")
    out.append("Rank-1 passage kind on those misses: " + ", ".join(f"{k} {v}" for k, v in pat["top1_kind_on_misses"].items()) + ".")
    out.append("")
    out.append("| group | missed at 1 | of | rate |")
    out.append("|---|---|---|---|")
    for k, v in list(pat["miss_rate_by_group"].items())[:12]:
        out.append(f"| {k} | {v['missed']} | {v['of']} | {v['rate']:.2f} |")
    out.append("")
    rows = failure_rows(cfg, [run.configs[n] for n in names if n != base])
    rows = [r for r in rows if r["status"] not in ("ok", "abstained")][:failures]
    out.append(f"### Worst {len(rows)} questions (worst first; full table in the `.failures.tsv`)")
    out.append("")
    others = [n for n in names if n != base]
    out.append("| id | lang | type | status | rank | " + " | ".join(f"rank `{n}`" for n in others) + " | question | expected | rank-1 passage |")
    out.append("|---|---|---|---|---|" + "---|" * len(others) + "---|---|---|")
    for r in rows:
        out.append(f"| {r['id']} | {r['lang']} | {r['type']} | {r['status']} | {r['first_relevant_rank'] or '—'} | "
                   + " | ".join(str(r.get(f'rank[{n}]') or '—') for n in others)
                   + f" | {_md_escape(_short(r['question'], 70))} | {_md_escape(_short(r['expected'], 30))} | "
                   f"{_md_escape(r['top_kind'])} `{_md_escape(r['top_doc'])}`: {_md_escape(_short(r['top_text'], 50))} |")
    out.append("")
    warns = sorted({w for c in s["configs"].values() for w in c["warnings"]})
    if warns:
        out.append("## Warnings")
        out.append("")
        out += [f"- {_md_escape(w)}" for w in warns[:50]]
        if len(warns) > 50:
            out.append(f"- … and {len(warns) - 50} more (see the JSON summary)")
        out.append("")
    return "\n".join(out)


def write_outputs(run: "EvalRun", summary: dict[str, Any], out_dir: str | Path, stem: str = "eval",
                  sources: dict[str, str] | None = None, chart: bool = True) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / f"{stem}{ext}" for k, ext in (("json", ".json"), ("jsonl", ".jsonl"), ("trec", ".trec"),
                                                          ("failures", ".failures.tsv"), ("md", ".md"), ("png", ".png"))}
    full = {**summary, "sources": sources or {},
            "failure_patterns": {name: failure_patterns(c) for name, c in run.configs.items()}}
    paths["json"].write_text(json.dumps(full, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    with paths["jsonl"].open("w", encoding="utf-8") as f:
        for name, cfg in run.configs.items():
            for q in cfg.questions:
                f.write(json.dumps({"config": name, **q.to_dict()}, ensure_ascii=False, default=str) + "\n")
    with paths["trec"].open("w", encoding="utf-8") as f:
        for name, cfg in run.configs.items():
            for q in cfg.questions:
                n = len(q.passages)
                for p in q.passages:
                    pid = f"{p['doc_id']}:{p['char_start']}-{p['char_end']}".replace(" ", "_")
                    f.write(f"{q.question.id} Q0 {pid} {p['citation']} {n - p['citation'] + 1} {name}\n")
    base = run.configs[run.baseline]
    rows = failure_rows(base, [c for n, c in run.configs.items() if n != run.baseline])
    with paths["failures"].open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["id"], delimiter="\t")
        w.writeheader()
        w.writerows(rows)
    if chart:
        plot(summary, paths["png"])
    else:
        paths.pop("png")
    paths["md"].write_text(markdown(run, summary, paths["png"].name if chart else None, sources=sources) + "\n", encoding="utf-8")
    return paths
