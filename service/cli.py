"""`kotae` command line: ingest a folder, ask questions, inspect models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from kotae import __version__
from kotae.settings import Settings, load_settings


class CliError(Exception):
    """A problem to report as one line and a non-zero exit."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", dest="index_dir", type=Path, help="index folder (KOTAE_INDEX_DIR)")
    parser.add_argument("--cache-dir", type=Path, help="model cache folder (KOTAE_CACHE_DIR)")
    parser.add_argument("--model", help="embedder: e5-small, use-multilingual, or a sentence-transformers id/path (KOTAE_MODEL)")
    parser.add_argument("--backend", choices=["local", "postgres"], help="where the index is stored (KOTAE_BACKEND, default local)")
    parser.add_argument("--database-url", help="PostgreSQL URL for --backend postgres (KOTAE_DATABASE_URL; prefer the "
                                               "variable when the URL holds a password)")


def _settings(args: argparse.Namespace, **extra) -> Settings:
    return load_settings(index_dir=args.index_dir, cache_dir=args.cache_dir, model=args.model, backend=args.backend,
                         database_url=args.database_url, **extra)


def cmd_ingest(args: argparse.Namespace) -> int:
    from kotae.index.engine import run_ingest

    settings = _settings(args, corpus_dir=args.corpus)
    # Naming the index with --index is asking for it: it may then be rebuilt from another corpus.
    report = run_ingest(settings, rebuild=args.rebuild, progress=not args.quiet, replace_corpus=args.index_dir is not None)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return 0
    indexed = [f for f in report.files if f.status == "indexed"]
    unchanged = [f for f in report.files if f.status == "unchanged"]
    print(f"Index {report.index_dir}: {report.documents} documents, {report.passages} passages "
          f"({len(indexed)} files embedded, {len(unchanged)} unchanged, {len(report.removed)} removed) in {report.seconds:.1f} s")
    if report.embedded:
        print(f"Embedded {report.embedded} passages in {report.embed_seconds:.1f} s ({report.embedded / report.embed_seconds:.1f} passages/s)")
    for f in report.files:
        for w in f.warnings:
            print(f"  warning: {f.doc_id}: {w}")
    for f in report.skipped:
        print(f"  skipped: {f.doc_id}: {f.reason}")
    return 0


def _print_answer(retriever, settings: Settings, question: str, k: int, as_json: bool) -> None:
    import asyncio

    from kotae.service.passages import passage_json
    from kotae.service.render import format_result, render_markdown, use_color

    result = retriever.search(question, k=k)
    # through a running server: its /v1/ask answer (index term weights, its abstention)
    ask_server = getattr(retriever, "ask", None)
    answer = ask_server(question, k) if ask_server is not None else None
    if answer is None:
        answer = asyncio.run(_answer(settings, question, result))
    if as_json:
        print(json.dumps({"query": question, "lang": result.lang, "found": answer.found,
                          "confidence": None if answer.confidence is None else round(answer.confidence, 6),
                          "mode": answer.mode, "answer": answer.text, "citations": answer.citations, "warning": answer.warning,
                          "passages": [passage_json(h, i) for i, h in enumerate(result.hits, start=1)],
                          "timings": {k: round(v, 2) for k, v in result.timings.items()}}, ensure_ascii=False, indent=1))
        return
    color = use_color(sys.stdout)
    print(render_markdown(answer.text, color))
    if answer.warning:
        print(f"({answer.warning})")
    confidence = "" if answer.confidence is None else f", confidence {answer.confidence:.3f}"
    if not answer.found:
        print(f"\n[not found{confidence}] the closest passages, which do not answer the question:")
    else:
        print(f"\n[found{confidence}] passages:")
    print(format_result(result, color))


async def _answer(settings: Settings, question: str, result):
    """The answer /v1/ask gives, through the configured language model if there is one."""
    from kotae.service.answer import answer_question

    if not settings.llm_base_url:
        return await answer_question(question, result)
    from kotae.service.llm import LLMClient

    llm = LLMClient(settings.llm_base_url, settings.llm_model or "default", settings.llm_api_key, settings.llm_timeout)
    try:
        return await answer_question(question, result, llm)
    finally:
        await llm.aclose()


def cmd_ask(args: argparse.Namespace) -> int:
    from kotae.service.remote import ask_retriever

    settings = _settings(args, retrieval_mode=args.mode, top_k=args.k)
    if settings.top_k < 1 or settings.top_k > 100:
        raise CliError("-k must be between 1 and 100")
    # A running `kotae serve` on the same index answers at once; otherwise the model is loaded here.
    retriever = ask_retriever(settings, args.mode, use_server=not args.no_server)
    if args.question:
        question = " ".join(args.question).strip()
        if not question:
            raise CliError("the question is empty")
        _print_answer(retriever, settings, question, settings.top_k, args.json)
        return 0
    print("kotae — ask a question in Japanese or English (empty line or Ctrl-D to quit)")
    while True:
        try:
            question = input("質問 / question> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        _print_answer(retriever, settings, question, settings.top_k, args.json)
        print()


def cmd_models(args: argparse.Namespace) -> int:
    from kotae.index.embedders import describe_models

    settings = _settings(args)
    if args.prepare:
        from kotae.index.embedders import prepare_embedder

        info = prepare_embedder(settings.model, settings.cache_dir, settings.embed_backend)
        print(f"ready: {info.name} (dim {info.dim}, max {info.max_tokens} tokens) from {info.source}")
        return 0
    models = describe_models(settings.cache_dir, settings.model)
    if args.json:
        print(json.dumps(models, ensure_ascii=False, indent=1, default=str))
        return 0
    for m in models:
        mark = "*" if m.get("is_default") else " "
        details = ", ".join(f"{k}={v}" for k, v in m.items() if k not in ("name", "is_default"))
        print(f"{mark} {m['name']}: {details}")
    print("(* = configured default; change it with --model or KOTAE_MODEL)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from kotae.service.app import serve

    settings = _settings(args, host=args.host, port=args.port, corpus_dir=args.corpus)
    serve(settings)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from kotae.evals.cli import cmd_eval as run_eval

    return run_eval(args)


def _eval_arguments(p: argparse.ArgumentParser) -> None:
    from kotae.evals.cli import add_arguments

    add_arguments(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kotae", description="Question answering over Japanese and English documents, with cited passages.")
    parser.add_argument("--version", action="version", version=f"kotae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index a folder of documents (only new or changed files are embedded)")
    p.add_argument("corpus", nargs="?", type=Path, help="corpus folder (KOTAE_CORPUS_DIR, default corpus/)")
    p.add_argument("--rebuild", action="store_true", help="re-embed every document")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    _common(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="ask a question (no question: interactive prompt)")
    p.add_argument("question", nargs="*")
    p.add_argument("-k", type=int, help="number of passages (KOTAE_TOP_K, default 5)")
    p.add_argument("--mode", choices=["dense", "keyword", "hybrid"], help="retrieval mode (KOTAE_RETRIEVAL_MODE)")
    p.add_argument("--json", action="store_true", help="print the answer, found, confidence and passages (docs/CONTRACTS.md §2) as JSON")
    p.add_argument("--no-server", action="store_true",
                   help="search the index in this process even if a `kotae serve` on the same index is running (KOTAE_HOST/KOTAE_PORT)")
    _common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="run the HTTP service: search/ask API, OpenAI-compatible chat, chat page at /")
    p.add_argument("--host", help="address to listen on (KOTAE_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (KOTAE_PORT, default 8000)")
    p.add_argument("--corpus", type=Path, help="corpus folder that uploads go to (KOTAE_CORPUS_DIR, default corpus/)")
    _common(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("models", help="list embedders: installed, converted, default")
    p.add_argument("--json", action="store_true")
    p.add_argument("--prepare", action="store_true", help="convert and verify the configured model now, not at first use")
    _common(p)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("eval", help="evaluate retrieval configurations on gold questions (metrics with 95%% CIs, report)")
    _eval_arguments(p)
    _common(p)
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kotae.index.backends import BackendError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (CliError, BackendError, FileNotFoundError, ValueError) as exc:
        print(f"kotae: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        from kotae.index.embedders import EmbedderError

        if isinstance(exc, EmbedderError):
            print(f"kotae: error: {exc}", file=sys.stderr)
            return 2
        print(f"kotae: unexpected error: {type(exc).__name__}: {exc} (set KOTAE_DEBUG=1 for details)", file=sys.stderr)
        if __import__("os").environ.get("KOTAE_DEBUG"):
            raise
        return 1


if __name__ == "__main__":
    sys.exit(main())
