"""The one place kotae's configuration lives.

Every setting has a default, can be set by an environment variable ``KOTAE_<NAME>`` and can be
overridden by a CLI flag (the CLI calls :func:`load_settings` with the flags it was given).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "KOTAE_"
MB = 1_000_000  # every "_mb" setting, for HTTP uploads and ingest alike


def mb_bytes(mb: float) -> int:
    return int(mb * MB)


def _default_home() -> Path:
    return Path(os.environ.get("KOTAE_HOME", ".kotae"))


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    # Storage (index/backends/): "local" = files under index_dir; "postgres" = PostgreSQL + pgvector
    # at database_url, searches optionally on a read replica at database_read_url.
    backend: str = "local"
    database_url: str = ""
    database_read_url: str = ""
    index_dir: Path = field(default_factory=lambda: _default_home() / "index")
    cache_dir: Path = field(default_factory=lambda: _default_home() / "cache")
    # Embedder: "e5-small" (default), "use-multilingual", or any sentence-transformers id or path.
    model: str = "e5-small"
    embed_batch_size: int = 32
    # Query encoding: "auto" (ONNX Runtime float32 for the bundled e5, exported once into the cache;
    # torch for other models), "torch", "onnx", or "onnx-int8" (faster, loses points); bench/README.md
    embed_backend: str = "auto"
    # Chunking, in characters of source text; the embedder's token limit caps it further.
    chunk_chars: int = 400
    chunk_min_chars: int = 80
    chunk_overlap_sentences: int = 1
    # "paragraph": one passage per paragraph (with the list it introduces), long ones cut into
    # even parts of at most chunk_paragraph_chars; "size": sentences packed up to chunk_chars
    # across paragraphs; "auto" (default): "paragraph" in sections of prose (paragraphs of
    # chunk_prose_chars on average or more), "size" in sections of fragments (slide lines,
    # label + list blocks). Tables are packed up to chunk_chars in every mode (ingest/chunk.py).
    # Chosen on gold.jsonl, the devset and the mixed set: evals/reports/retrieval-defaults.md.
    chunk_mode: str = "auto"
    chunk_paragraph_chars: int = 800
    chunk_prose_chars: int = 200
    max_tokens: int = 512
    # What one file may cost: larger files are skipped with a reason, never read.
    max_text_mb: float = 20.0
    max_pdf_mb: float = 200.0
    max_pdf_pages: int = 5000
    # Keyword index and vector index
    keyword_tokenizer: str = "sudachi"  # "sudachi", "bigram" or "union" (index/tokenize.py)
    vector_index: str = "auto"  # "auto", "flat", "hnsw", "hnsw-sq8", "ivf-sq8" or "ivf-pq" (index/vectors.py)
    # Retrieval
    top_k: int = 5  # passages returned when a request does not say (API `k`, `kotae ask -k`)
    retrieval_mode: str = "hybrid"  # "dense", "keyword" or "hybrid"
    fusion: str = "weighted"  # "weighted" or "rrf"
    rrf_k: int = 60
    keyword_weight: float = 1.0
    cross_lang_keyword_weight: float = 0.5
    candidates: int = 30
    # Hybrid retrieval stages (index/search.py); defaults checked on gold.jsonl, the devset and
    # the mixed ja+en set together, see evals/reports/retrieval-defaults.md.
    # "lang_z": dense scores standardised per passage language; "auto": lang_z when the index
    # holds two languages (lang_min_passages passages each); "none": raw cosine. lang_z wins on
    # gold.jsonl but loses on the mixed set, so it is off by default.
    dense_norm: str = "none"
    lang_min_passages: int = 20
    # e5 rates a passage in the question's own language above an equally relevant one in another
    # language (MODELS.md: 0.81 vs 0.78 mean cosine). When the index holds passages in the
    # question's language and documents of another (lang_min_passages passages), the dense side
    # adds this to the cosine of that language's passages, times (1 - how well the keyword side
    # found the question's words, measured as weak_keyword_ratio does), and lets them join the
    # candidates. 0 = off; reported cosines stay raw. Decided on every set:
    # evals/reports/crosslingual-suite.md (issue 11).
    dense_cross_lang_offset: float = 0.01
    # In an index of two languages (lang_min_passages passages each) a question may be answered
    # only in the other one: the keyword side's weight is scaled by its best score over this
    # share of the question's ideal BM25 score (capped at 1), so weak same-language word matches
    # no longer outvote the embedder. 0 = off. Single-language indexes are never affected.
    weak_keyword_ratio: float = 0.3
    # An English question over Japanese documents (or the reverse) gets a second keyword query in
    # the other language (index/crosslingual.py): "translit" (English words as katakana), "dict"
    # (JMdict/JMnedict translations), "prf" (terms of the top dense passages in the other
    # language), joined by "+", or "none". The matches among the dense candidates are fused with
    # this weight. prf_terms: feedback terms added. Decided on every set:
    # evals/reports/retrieval-defaults.md (prf lost on gold.jsonl and is off).
    cross_lang_expansion: str = "translit+dict"
    cross_lang_expansion_weight: float = 1.0
    cross_lang_prf_terms: int = 8
    # In each other-language document among the dense candidates, its best this-many passages
    # by the translated query that hold one of the question's names (index/crosslingual.py) join
    # the candidates; 0 = off. Decided on every set: evals/reports/retrieval-defaults.md (issue 11).
    cross_lang_admit: int = 2
    reranker: str = "sentence"  # second stage: "none", "sentence", or a path to a sentence-transformers CrossEncoder
    rerank_candidates: int = 10
    sentence_weight: float = 0.2
    context_weight: float = 0.0
    rerank_cross_lang_factor: float = 0.3
    # The passages of one document in another language than an English question's are
    # reordered among their places by this x their best answer unit's relevance, which reads the
    # question's words in the other language (index/rerank.py LexicalReranker, index/bridge.py);
    # 0 = off. Decided on every set: evals/reports/retrieval-defaults.md (issue 11).
    rerank_cross_lang_units: float = 1.0
    dedup_threshold: float = 0.6  # near-duplicate collapse in the top-k; 0 = off
    # Passages with nothing quotable (every unit a reference or link entry, or a stub) move
    # behind the rest: their titles match questions' words but they answer nothing.
    unquotable_last: bool = True
    # The front-matter passages of the candidates' documents join the second stage, and one whose
    # field answers the question (its key meets the question's words, its value the kind asked)
    # comes first among its document's passages (index/rerank.py LexicalReranker._asked_fields_added).
    front_matter_fields: bool = True
    # "not found in the documents" below this; -1 = the value calibrated for the embedder
    # (index/abstain.py), 0 = never abstain
    abstain_threshold: float = -1.0
    query_cache_size: int = 1024  # query embeddings kept (LRU); 0 = no cache (benchmarks)
    # Service
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str = ""
    # When api_key is set, reads (search, ask, chat, documents) need it too unless this is off;
    # writes (upload, delete) always need it.
    read_auth: bool = True
    cors_origins: str = ""  # comma-separated origins allowed by CORS; empty = no CORS headers
    # Host header values served (DNS rebinding guard), comma-separated, "*" = any; empty = the
    # loopback names when bound to a loopback address, else any.
    allowed_hosts: str = ""
    max_upload_mb: float = 20.0
    # Uploads of more passages than this are indexed as a job (202 + GET /v1/jobs/{id});
    # at most upload_jobs of them wait or run at once, more get 429.
    sync_upload_passages: int = 64
    upload_jobs: int = 4
    # Several `kotae serve` processes may write one index (one database, or one shared folder):
    # each checks this often whether another published a newer generation, and switches to it.
    # 0 = never (one process).
    refresh_seconds: float = 2.0
    log_level: str = "info"  # server logs: "debug" (with full tracebacks), "info", "warning" or "error"
    # Optional generation by an OpenAI-compatible server (vLLM, llama.cpp, Ollama, ...).
    llm_base_url: str = ""  # e.g. http://localhost:11434/v1 ; empty = extractive answers
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


def _coerce(value: str, kind: Any) -> Any:
    if kind is Path:
        return Path(value)
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    if kind is bool:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then ``KOTAE_*`` environment variables, then explicit overrides (CLI flags).

    Overrides whose value is ``None`` are ignored so that unset CLI flags fall through.
    """
    env = os.environ if env is None else env
    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = env.get(ENV_PREFIX + f.name.upper())
        if raw is not None and raw != "":
            try:
                values[f.name] = _coerce(raw, hints[f.name])
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}{f.name.upper()}={raw!r} is not a valid {hints[f.name].__name__}") from exc
    for name, value in overrides.items():
        if value is None:
            continue
        if name not in hints:
            raise TypeError(f"unknown setting {name!r}")
        values[name] = _coerce(value, hints[name]) if isinstance(value, str) else value
    return Settings(**values)
