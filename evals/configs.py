"""Named evaluation configurations and their retrievers.

A configuration is a set of :class:`kotae.settings.Settings` overrides on top of the base
settings (defaults + ``KOTAE_*`` + CLI flags), optionally plus ``retrieval``: direct
:class:`kotae.index.search.RetrievalConfig` overrides for knobs that have no setting.

Configurations that only change retrieval share one index; one that changes the embedder,
chunker or keyword tokenizer gets its own index folder ``<index>-<model>-<hash>``, built
incrementally by :func:`kotae.index.engine.run_ingest`.

A configuration file (``--config path.json|path.toml``) holds one of::

    {"keyword_weight": 0.5, "rrf_k": 20}                       # overrides; name = file stem
    {"name": "mine", "settings": {...}, "retrieval": {...}}    # named
    {"configs": {"a": {...}, "b": {"settings": {...}}}}        # several
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from kotae.settings import Settings, load_settings

# The default first: paired tests compare every other configuration against the first one.
NAMED: dict[str, dict[str, Any]] = {
    "default": {},
    "dense": {"retrieval_mode": "dense"},
    "keyword": {"retrieval_mode": "keyword"},
    "hybrid-rrf": {"retrieval_mode": "hybrid", "fusion": "rrf"},
    "hybrid-weighted": {"retrieval_mode": "hybrid", "fusion": "weighted"},
    "use-dense": {"model": "use-multilingual", "retrieval_mode": "dense"},
    "use-hybrid": {"model": "use-multilingual", "retrieval_mode": "hybrid"},
    "bm25-bigram": {},  # not kotae's retriever: see BASELINES
}
# Named configurations that are not kotae's retriever with other settings but a reference
# system over the same index's documents (evals/baseline.py).
BASELINES = {"bm25-bigram": "paragraph-bm25"}
DESCRIPTIONS = {
    "default": "the shipped defaults (settings.py + KOTAE_* environment)",
    "dense": "embedder only",
    "keyword": "BM25 only",
    "hybrid-rrf": "dense + BM25, reciprocal rank fusion",
    "hybrid-weighted": "dense + BM25, weighted score fusion",
    "use-dense": "Universal Sentence Encoder multilingual, dense only",
    "use-hybrid": "Universal Sentence Encoder multilingual + BM25",
    "bm25-bigram": "plain baseline: BM25 over character bigrams, one passage per paragraph (evals/baseline.py)",
}
# Settings that say nothing about retrieval quality, or are secret, stay out of reports.
_NOT_RECORDED = {"host", "port"}


def _secret_or_irrelevant(name: str) -> bool:
    return name in _NOT_RECORDED or name.endswith(("api_key", "_key", "secret", "password", "_token"))
# `make eval` / `kotae eval` without --config.
MAIN = ("default", "dense", "keyword", "hybrid-rrf", "use-dense")


@dataclass(frozen=True)
class EvalConfig:
    name: str
    settings: dict[str, Any] = field(default_factory=dict)  # Settings overrides
    retrieval: dict[str, Any] = field(default_factory=dict)  # RetrievalConfig overrides
    source: str = "named"
    kind: str = "kotae"  # or a reference system of BASELINES

    def describe(self) -> dict[str, Any]:
        out = {"name": self.name, "source": self.source, "kind": self.kind, "overrides": _jsonable(self.settings)}
        if self.retrieval:
            out["retrieval_overrides"] = _jsonable(self.retrieval)
        if self.name in DESCRIPTIONS and self.source == "named":
            out["description"] = DESCRIPTIONS[self.name]
        return out


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _read_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"config file {path}: not valid TOML ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"config file {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path}: must hold a JSON object")
    return data


def _one(name: str, body: Mapping[str, Any], source: str) -> EvalConfig:
    if not isinstance(body, Mapping):
        raise ValueError(f"{source}: configuration {name!r} must be an object")
    if "settings" in body or "retrieval" in body:
        unknown = set(body) - {"name", "settings", "retrieval", "description"}
        if unknown:
            raise ValueError(f"{source}: configuration {name!r} has unknown keys {sorted(unknown)}")
        settings, retrieval = dict(body.get("settings") or {}), dict(body.get("retrieval") or {})
    else:
        settings, retrieval = {k: v for k, v in body.items() if k not in ("name", "description")}, {}
    return EvalConfig(str(body.get("name", name)), settings, retrieval, source)


def load_config_file(path: str | Path) -> list[EvalConfig]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} not found")
    data = _read_file(path)
    if "configs" in data:
        configs = data["configs"]
        if not isinstance(configs, Mapping) or not configs:
            raise ValueError(f"config file {path}: 'configs' must map names to configurations")
        return [_one(name, body, str(path)) for name, body in configs.items()]
    return [_one(path.stem, data, str(path))]


def resolve_configs(specs: list[str] | None) -> list[EvalConfig]:
    """Names from :data:`NAMED` or paths to JSON/TOML files, in order; default :data:`MAIN`."""
    out: list[EvalConfig] = []
    for spec in specs or list(MAIN):
        if spec in NAMED:
            out.append(EvalConfig(spec, dict(NAMED[spec]), kind=BASELINES.get(spec, "kotae")))
        elif Path(spec).suffix.lower() in (".json", ".toml") or Path(spec).is_file():
            out.extend(load_config_file(spec))
        else:
            raise ValueError(f"unknown configuration {spec!r}: use one of {', '.join(NAMED)} or a .json/.toml file of settings")
    names = [c.name for c in out]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(f"configuration names must be unique: {', '.join(dups)}")
    return out


def config_settings(base: Settings, config: EvalConfig) -> Settings:
    """Base settings with the configuration's overrides (validated like CLI flags)."""
    known = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(config.settings) - known)
    if unknown:
        raise ValueError(f"configuration {config.name!r}: unknown settings {', '.join(unknown)}")
    values = {f.name: getattr(base, f.name) for f in dataclasses.fields(Settings)}
    values.update(config.settings)
    # load_settings with an empty environment: the base already includes KOTAE_* values.
    return load_settings(env={}, **{k: v for k, v in values.items() if v is not None})


def _index_fingerprint(settings: Settings) -> tuple[str, str]:
    from kotae.index.engine import build_config

    build = dataclasses.asdict(build_config(settings))
    build.pop("batch_size", None)  # does not change the index
    blob = json.dumps({"model": settings.model, **build}, sort_keys=True, default=str)
    return settings.model, hashlib.sha1(blob.encode()).hexdigest()[:8]


def index_dir_for(base: Settings, settings: Settings) -> Path:
    """The base index when the index-building settings match, else a sibling folder."""
    if _index_fingerprint(settings) == _index_fingerprint(base):
        return base.index_dir
    model, digest = _index_fingerprint(settings)
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model)[-40:]
    return base.index_dir.with_name(f"{base.index_dir.name}-{slug}-{digest}")


def build_retrievers(base: Settings, configs: list[EvalConfig], corpus_dir: Path | None = None, ingest: bool = True,
                     progress: bool = True, log=None, replace_corpus: bool = False) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """One retriever per configuration; indexes opened once and shared, ingested if needed.

    Returns ``(retrievers, descriptions)`` ready for :func:`kotae.evals.run.evaluate`.
    ``replace_corpus``: the index was named explicitly, so it may be rebuilt from `corpus_dir`
    even if it holds another corpus.
    """
    from kotae.evals.baseline import ParagraphBM25
    from kotae.index.engine import open_retriever, retrieval_config, run_ingest
    from kotae.index.search import Retriever

    opened: dict[tuple[Path, str], Any] = {}  # one per index and query encoder (embed_backend)
    caches: dict[int, Any] = {}
    retrievers: dict[str, Any] = {}
    descriptions: dict[str, dict[str, Any]] = {}

    def open_once(settings: Settings) -> Any:
        key = (settings.index_dir, settings.embed_backend)
        if key not in opened:
            if ingest:
                if log:
                    log(f"index {settings.index_dir} ({settings.model}): checking {corpus_dir or settings.corpus_dir}")
                report = run_ingest(settings, corpus_dir=corpus_dir, progress=progress, replace_corpus=replace_corpus)
                if log and report.embedded:
                    log(f"  embedded {report.embedded} passages in {report.embed_seconds:.1f} s")
            opened[key] = open_retriever(settings)
        return opened[key]

    for config in configs:
        settings = config_settings(base, config)
        settings = settings.replace(index_dir=index_dir_for(base, settings))
        shared = open_once(settings)
        if config.kind == "paragraph-bm25":
            # The baseline reads the documents of the configuration's index, nothing else of it.
            retrievers[config.name] = ParagraphBM25(shared.backend)
            descriptions[config.name] = config.describe()
            continue
        rcfg = retrieval_config(settings)
        if config.retrieval:
            try:
                rcfg = dataclasses.replace(rcfg, **config.retrieval)
            except TypeError as exc:
                raise ValueError(f"configuration {config.name!r}: {exc}") from None
        retriever = Retriever(shared.backend, shared.embedder, rcfg)
        # Share the query-embedding cache between retrievers of one embedder: each question
        # is embedded once per model, not once per configuration.
        cache = caches.setdefault(id(shared.embedder), getattr(shared, "_cache", None))
        if cache is not None and hasattr(retriever, "_cache"):
            cache.size = max(getattr(cache, "size", 0), 100_000)
            retriever._cache = cache
        retrievers[config.name] = retriever
        recorded = {k: v for k, v in dataclasses.asdict(settings).items() if not _secret_or_irrelevant(k)}
        descriptions[config.name] = {**config.describe(), "settings": _jsonable(recorded)}
    return retrievers, descriptions
