"""`kotae eval`: arguments and command (wired into kotae.service.cli)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_GOLD = Path("evals/gold.jsonl")
# Suite runs go to an ignored folder: running the suite never rewrites tracked files.
DEFAULT_SUITE_OUT = Path("evals/runs")
SUITE_CONFIGS = ("default", "dense", "bm25-bigram")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from kotae.evals.configs import MAIN, NAMED

    p.add_argument("--corpus", type=Path, help="corpus folder (KOTAE_CORPUS_DIR, default corpus/); ingested if needed")
    p.add_argument("--gold", type=Path, help=f"gold questions, JSON Lines per docs/CONTRACTS.md §3 (default {DEFAULT_GOLD})")
    p.add_argument("--config", dest="configs", action="extend", nargs="+", metavar="NAME|FILE",
                   help=f"configurations to compare, the first is the baseline: {', '.join(NAMED)} or a .json/.toml "
                        f"file of settings overrides (default: {' '.join(MAIN)})")
    p.add_argument("--k", default="1,3,5,10,20", help="cut-offs for hit@k and recall@k (default 1,3,5,10,20)")
    p.add_argument("--suite", action="store_true",
                   help="run the configurations on every question set side by side (each set its own corpus and index; "
                        "--sets to choose) and write one report (default into evals/runs/)")
    p.add_argument("--sets", help="with --suite: comma-separated set names (default: all; see README Evaluation)")
    p.add_argument("--devset", type=Path, help="with --suite: the Japanese devset folder (default KOTAE_DEVSET_DIR or "
                                                "../shared/devsets/ja_jaquad_train)")
    p.add_argument("--out", type=Path, help=f"output folder (default eval-report/; with --suite {DEFAULT_SUITE_OUT}/)")
    p.add_argument("--name", help="file name stem of the outputs (default latest; with --suite: suite)")
    p.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples for CIs (default 2000)")
    p.add_argument("--permutations", type=int, default=10000, help="randomisation-test permutations (default 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-ingest", action="store_true", help="use the index as it is")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the JSON summary instead of the table")
    p.add_argument("--answer-k", type=int, help="passages each /v1/ask-style answer is made from (default KOTAE_TOP_K, 5)")
    p.add_argument("--no-answers", action="store_true", help="score retrieval only, not the answers")


def _ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(sorted({int(x) for x in text.replace(" ", "").split(",") if x}))
    except ValueError:
        raise ValueError(f"--k must be comma-separated positive integers, not {text!r}") from None
    if not ks or ks[0] < 1 or ks[-1] > 1000:
        raise ValueError("--k values must be between 1 and 1000")
    return ks


def _eval_index_dir(settings, corpus: Path, index_given: bool) -> Path:
    """Never overwrite the user's main index with another corpus: a different corpus than the
    configured one gets its own index folder unless --index says otherwise."""
    from kotae.evals.suite import corpus_index_dir

    if index_given or corpus.resolve() == Path(settings.corpus_dir).resolve():
        return settings.index_dir
    return corpus_index_dir(settings, corpus, corpus.resolve().name)


def eval_settings(args: argparse.Namespace):
    """Settings of an evaluation run: the corpus evaluated and the index it is read from."""
    from kotae.settings import load_settings

    # The configured corpus (KOTAE_CORPUS_DIR, default corpus/) owns the configured index;
    # --corpus names the one evaluated, which may be another.
    settings = load_settings(index_dir=args.index_dir, cache_dir=args.cache_dir, model=args.model, backend=args.backend,
                             database_url=args.database_url)
    corpus = Path(args.corpus or settings.corpus_dir)
    if settings.backend != "local" and corpus.resolve() != Path(settings.corpus_dir).resolve():
        # a database holds one index: evaluating another corpus would replace the users' index
        raise ValueError(f"with KOTAE_BACKEND={settings.backend}, kotae eval evaluates the configured corpus "
                         f"({settings.corpus_dir}); evaluate {corpus} with the local backend or set KOTAE_CORPUS_DIR")
    return settings.replace(corpus_dir=corpus, index_dir=_eval_index_dir(settings, corpus, args.index_dir is not None))


def cmd_eval(args: argparse.Namespace) -> int:
    from kotae.evals.configs import build_retrievers, resolve_configs
    from kotae.evals.gold import load_gold
    from kotae.evals.report import console_table, write_outputs
    from kotae.evals.run import evaluate

    ks = _ks(args.k)
    if args.bootstrap < 100 or args.permutations < 100:
        raise ValueError("--bootstrap and --permutations must be at least 100")
    if args.suite:
        return cmd_suite(args, ks)
    if args.sets or args.devset:
        raise ValueError("--sets and --devset go with --suite")
    gold_path = args.gold or DEFAULT_GOLD
    gold = load_gold(gold_path)
    configs = resolve_configs(args.configs)
    settings = eval_settings(args)
    corpus = Path(settings.corpus_dir)
    if not args.no_ingest and not corpus.is_dir():
        raise FileNotFoundError(f"corpus folder {corpus} not found")

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr)

    log(f"{len(gold)} questions from {gold_path}; configurations: {', '.join(c.name for c in configs)}")
    retrievers, descriptions = build_retrievers(settings, configs, corpus_dir=corpus, ingest=not args.no_ingest,
                                                progress=not args.quiet, log=log, replace_corpus=args.index_dir is not None)
    answer_k = None if args.no_answers else (args.answer_k or settings.top_k)
    if answer_k is not None and not 1 <= answer_k <= 100:
        raise ValueError("--answer-k must be between 1 and 100")
    llm = None
    if answer_k and settings.llm_base_url:  # answers written by the configured model, scored the same way
        from kotae.service.llm import LLMClient

        llm = LLMClient(settings.llm_base_url, settings.llm_model or "default", settings.llm_api_key, settings.llm_timeout)
        log(f"answers by the language model at {settings.llm_base_url}")
    run = evaluate(gold, retrievers, ks, configs=descriptions, progress=not args.quiet, answer_k=answer_k, llm=llm)
    summary = run.summary(n_boot=args.bootstrap, n_perm=args.permutations, seed=args.seed)
    from kotae.index.backends import make_backend

    # where the index is: its folder, or the database URL (password hidden) for KOTAE_BACKEND=postgres
    sources = {"gold": str(gold_path), "corpus": str(corpus), "index": make_backend(settings).location}
    paths = write_outputs(run, summary, args.out or Path("eval-report"), args.name or "latest", sources=sources, chart=not args.no_chart)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1, default=str))
    else:
        g = summary["gold"]
        print(f"{g['answerable']} answerable + {g['unanswerable']} unanswerable questions; "
              f"mean [95% bootstrap CI]; Δ: paired randomisation test vs {summary['baseline']}, Holm-corrected")
        print(console_table(summary))
        warns = sorted({w for c in summary["configs"].values() for w in c["warnings"]})
        if warns:
            print(f"{len(warns)} warning(s), e.g.: {warns[0]} (all in {paths['json']})")
        print(f"report: {paths['md']}")
    return 0


def cmd_suite(args: argparse.Namespace, ks: tuple[int, ...]) -> int:
    """`kotae eval --suite`: every configuration on every set (kotae.evals.suite)."""
    from kotae.evals.configs import resolve_configs
    from kotae.evals.sets import default_sets
    from kotae.evals.suite import run_suite
    from kotae.evals.suite_report import key_table
    from kotae.settings import load_settings

    if args.corpus or args.gold:
        raise ValueError("--suite runs its own sets, each with its corpus and gold file; choose them with --sets")
    available = default_sets(args.devset)
    names = [n.strip() for n in (args.sets or ",".join(available)).split(",") if n.strip()]
    unknown = [n for n in names if n not in available]
    if unknown or not names:
        raise ValueError(f"unknown set(s) {', '.join(unknown) or '(none)'}: choose from {', '.join(available)}")
    chosen = [available[n] for n in names]
    if args.sets:  # sets named on purpose must run
        for s in chosen:
            why = s.missing()
            if why:
                raise FileNotFoundError(f"set {s.name}: {why}")
    configs = resolve_configs(args.configs or list(SUITE_CONFIGS))
    settings = load_settings(index_dir=args.index_dir, cache_dir=args.cache_dir, model=args.model)

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr)

    log(f"suite: sets {', '.join(names)}; configurations {', '.join(c.name for c in configs)}")
    result = run_suite(configs, chosen, settings, args.out or DEFAULT_SUITE_OUT, stem=args.name or "suite", ks=ks,
                       n_boot=args.bootstrap, n_perm=args.permutations, seed=args.seed, ingest=not args.no_ingest,
                       progress=not args.quiet, chart=not args.no_chart, seeds=available, log=log)
    if args.json:
        print(json.dumps(result.record, ensure_ascii=False, indent=1, default=str))
    else:
        print(key_table(result.record))
        print(f"report: {result.paths['md']}")
    return 0
