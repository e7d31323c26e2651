"""The public entry points: settings in, an index built or a retriever opened.

The CLI, the HTTP service, evaluations and benchmarks all go through these, so what is
measured is what users run.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from kotae.index.abstain import calibrated_threshold, dense_floor
from kotae.index.build import BuildConfig, IngestReport, Prepared, ingest
from kotae.index.search import RetrievalConfig, Retriever
from kotae.index.backends import SearchBackend, make_backend
from kotae.ingest.chunk import ChunkSettings
from kotae.ingest.pdf import PdfLimits
from kotae.ingest.read import ReadLimits
from kotae.settings import Settings, mb_bytes

log = logging.getLogger("kotae.ingest")


def build_config(settings: Settings) -> BuildConfig:
    return BuildConfig(
        chunk=ChunkSettings(settings.chunk_chars, settings.chunk_min_chars, settings.chunk_overlap_sentences, settings.max_tokens,
                            settings.chunk_mode, settings.chunk_paragraph_chars, settings.chunk_prose_chars),
        tokenizer=settings.keyword_tokenizer,
        vector_index=settings.vector_index,
        batch_size=settings.embed_batch_size,
        limits=ReadLimits(
            max_text_bytes=mb_bytes(settings.max_text_mb),
            max_pdf_bytes=mb_bytes(settings.max_pdf_mb),
            pdf=PdfLimits(max_pages=settings.max_pdf_pages),
        ),
    )


def retrieval_config(settings: Settings) -> RetrievalConfig:
    return RetrievalConfig(
        mode=settings.retrieval_mode,
        fusion=settings.fusion,
        rrf_k=settings.rrf_k,
        keyword_weight=settings.keyword_weight,
        cross_lang_keyword_weight=settings.cross_lang_keyword_weight,
        candidates=settings.candidates,
        tokenizer=settings.keyword_tokenizer,
        dense_norm=settings.dense_norm,
        dense_cross_lang_offset=settings.dense_cross_lang_offset,
        lang_min_passages=settings.lang_min_passages,
        weak_keyword_ratio=settings.weak_keyword_ratio,
        cross_lang_expansion=settings.cross_lang_expansion,
        cross_lang_expansion_weight=settings.cross_lang_expansion_weight,
        cross_lang_prf_terms=settings.cross_lang_prf_terms,
        cross_lang_admit=settings.cross_lang_admit,
        rerank=settings.reranker,
        rerank_candidates=settings.rerank_candidates,
        sentence_weight=settings.sentence_weight,
        context_weight=settings.context_weight,
        rerank_cross_lang_factor=settings.rerank_cross_lang_factor,
        rerank_cross_lang_units=settings.rerank_cross_lang_units,
        dedup_threshold=settings.dedup_threshold,
        unquotable_last=settings.unquotable_last,
        front_matter_fields=settings.front_matter_fields,
        abstain_threshold=calibrated_threshold(settings.model, settings.retrieval_mode) if settings.abstain_threshold < 0 else (settings.abstain_threshold or None),
        dense_floor=dense_floor(settings.model),
    )


@lru_cache(maxsize=4)
def get_embedder(model: str, cache_dir: Path, backend: str = "torch"):
    """One loaded model per process, name and backend: loading costs seconds and a gigabyte."""
    from kotae.index.embedders import load_embedder

    return load_embedder(model, cache_dir, backend)


def run_ingest(settings: Settings, corpus_dir: Path | None = None, rebuild: bool = False, progress: bool = True,
               replace_corpus: bool = False, prepared: dict[str, Prepared] | None = None,
               allow_empty: bool = False) -> IngestReport:
    """`replace_corpus`: the caller named this index explicitly, so it may be rebuilt from
    another corpus folder than the one it holds (otherwise that is refused)."""
    report = ingest(
        corpus_dir or settings.corpus_dir,
        make_backend(settings),
        lambda: get_embedder(settings.model, settings.cache_dir, settings.embed_backend),
        settings.model,
        build_config(settings),
        rebuild=rebuild,
        progress=progress,
        replace_corpus=replace_corpus,
        prepared=prepared,
        allow_empty=allow_empty,
    )
    # One line per ingest in a server log (the CLI prints its own report instead).
    log.info("ingest %s -> %s: %d documents, %d passages (%d embedded, %d skipped files, %d removed) in %.1f s",
             corpus_dir or settings.corpus_dir, report.index_dir, report.documents, report.passages, report.embedded,
             len(report.skipped), len(report.removed), report.seconds)
    return report


def open_backend(settings: Settings) -> SearchBackend:
    """A read view of the configured index, checked against the configured embedder."""
    return make_backend(settings).open(settings.model)


def open_retriever(settings: Settings) -> Retriever:
    backend = open_backend(settings)
    return Retriever(backend, get_embedder(settings.model, settings.cache_dir, settings.embed_backend), retrieval_config(settings),
                     cache_size=settings.query_cache_size)


def open_warm_retriever(settings: Settings) -> Retriever:
    """open_retriever, warmed (Retriever.warm): what a server makes live, so that no question,
    the first after start-up or after an upload that adds a language, pays for loading."""
    retriever = open_retriever(settings)
    retriever.warm()
    return retriever
