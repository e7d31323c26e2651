"""Question in, ranked passages out: embed, search both sides, fuse, highlight."""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np

from kotae.index.fusion import Ranked, reciprocal_rank_fusion, weighted_score_fusion
from kotae.index.abstain import ABSENT_MIN_PASSAGES, EVIDENCE_DEPTH, Evidence, absent_share, abstain_signal, dense_floor, unknown_numbers
from kotae.index.crosslingual import MAX_SENSES, CrossLingualConfig, CrossLingualExpander, add_scaled, capitalised_words, is_katakana
from kotae.index.dedup import collapse
from kotae.index.headings import DocumentHeadings
from kotae.index.lru import LRU
from kotae.index.dictionary import load_dictionary
from kotae.index.bridge import hand_list
from kotae.index.highlight import structure_lead
from kotae.index.answer_type import expected_type
from kotae.index.rerank import NUMERIC_TYPES, Candidate, head_word, LexicalReranker, SecondStageConfig, SentenceScorer, make_reranker
from kotae.index.backends.base import Filters, Matches, SearchBackend, StoredPassage, passage_doc, passage_id
from kotae.index.keyword import K1 as _BM25_K1  # the BM25 k1 both backends score with
from kotae.index.tokenize import question_tokens, term_tokens
from kotae.ingest.lang import detect_language
from kotae.settings import Settings

MODES = ("dense", "keyword", "hybrid")


_DEFAULT = Settings()  # the one place retrieval defaults are declared (settings.py)
DENSE_NORMS = ("auto", "lang_z", "none")
# The cross-language offset reads this many times the candidates from one search, which holds
# every passage the offset can lift into the candidates unless its last cosine is still within
# the offset of the candidates' floor (then each other language is searched on its own).
_OFFSET_DEPTH = 4
# What is left of the fused score of a passage in the question's language that shares none of
# its words, when the question's names are found only in the other language (_demote_unmatched):
# 0 and 0.5 measured alike (evals/reports/retrieval-defaults.md).
UNMATCHED_OWN_LANGUAGE = 0.5
# documents whose front-matter passages are kept at hand, and the most read of one document
_FRONT_MATTER_CACHE = 4096
_MAX_FRONT_MATTER = 256


@dataclass(frozen=True)
class RetrievalConfig:
    """Defaults come from :class:`kotae.settings.Settings` (evals/reports/retrieval-defaults.md)."""

    mode: str = _DEFAULT.retrieval_mode
    fusion: str = _DEFAULT.fusion  # "weighted" or "rrf"
    rrf_k: int = _DEFAULT.rrf_k
    dense_weight: float = 1.0
    keyword_weight: float = _DEFAULT.keyword_weight
    # The keyword side cannot match across languages, so its votes for passages in
    # another language than the question's are mostly noise.
    cross_lang_keyword_weight: float = _DEFAULT.cross_lang_keyword_weight
    candidates: int = _DEFAULT.candidates
    tokenizer: str = _DEFAULT.keyword_tokenizer  # used only when the index does not record its own
    # Dense scores standardised per passage language ("lang_z") so that an answer in the other
    # language is not buried under passages in the question's language; "auto" = lang_z when
    # the index holds at least two languages with lang_min_passages passages each.
    dense_norm: str = _DEFAULT.dense_norm
    lang_min_passages: int = _DEFAULT.lang_min_passages  # smaller languages use the overall statistics
    dense_cross_lang_offset: float = _DEFAULT.dense_cross_lang_offset  # see settings.py; 0 = off
    weak_keyword_ratio: float = _DEFAULT.weak_keyword_ratio  # see settings.py; 0 = off
    # A second keyword query in the other language of the index (index/crosslingual.py),
    # fused as its own side with this weight.
    cross_lang_expansion: str = _DEFAULT.cross_lang_expansion
    cross_lang_expansion_weight: float = _DEFAULT.cross_lang_expansion_weight
    cross_lang_prf_terms: int = _DEFAULT.cross_lang_prf_terms
    cross_lang_admit: int = _DEFAULT.cross_lang_admit
    # Second stage over the fused top `rerank_candidates`: "none", "sentence", or a path to a
    # sentence-transformers CrossEncoder.
    rerank: str = _DEFAULT.reranker
    rerank_candidates: int = _DEFAULT.rerank_candidates
    sentence_weight: float = _DEFAULT.sentence_weight
    context_weight: float = _DEFAULT.context_weight
    rerank_cross_lang_factor: float = _DEFAULT.rerank_cross_lang_factor
    rerank_cross_lang_units: float = _DEFAULT.rerank_cross_lang_units  # see settings.py; 0 = off
    # Near-duplicates (shingle containment >= this) move behind the rest; 0 = off.
    dedup_threshold: float = _DEFAULT.dedup_threshold
    unquotable_last: bool = _DEFAULT.unquotable_last  # see settings.py
    front_matter_fields: bool = _DEFAULT.front_matter_fields  # see settings.py
    # Abstention: found = confidence >= threshold; None = always found.
    abstain_threshold: float | None = None
    dense_floor: float | None = dense_floor(_DEFAULT.model)  # abstention's best-cosine floor (index/abstain.py); None = words only

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown retrieval mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if self.fusion not in ("rrf", "weighted"):
            raise ValueError(f"unknown fusion {self.fusion!r}; choose rrf or weighted")
        CrossLingualConfig(self.cross_lang_expansion)  # validates the name
        if self.dense_norm not in DENSE_NORMS:
            raise ValueError(f"unknown dense_norm {self.dense_norm!r}; choose one of {', '.join(DENSE_NORMS)}")


@dataclass(frozen=True)
class Hit:
    id: str  # stable passage id (index/backends/base.py)
    doc_id: str
    title: str
    section: str | None
    page: int | None
    char_start: int
    char_end: int
    text: str
    lang: str
    kind: str
    score: float
    scores: dict[str, float]
    highlight: tuple[int, int]
    # the passage's answer units scored for the question (index/rerank.py); highlight = the best
    units: tuple = field(default=(), compare=False, repr=False)


@dataclass
class SearchResult:
    """`found` is False when the best evidence scores below the calibrated abstention
    threshold: the answer is probably not in the documents. The hits are still returned
    (best first) so a user can see what came closest; callers that answer questions
    (``/v1/ask``) should say "not found" instead of answering from them."""

    query: str
    lang: str
    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)
    found: bool = True
    confidence: float | None = None  # the score the abstention threshold is applied to
    # what `confidence` was computed from (index/abstain.py), None when nothing was retrieved or
    # asked; the object the search built anyway, kept for evals/abstention_curve.py
    evidence: Evidence | None = None


class Retriever:
    def __init__(self, backend: SearchBackend, embedder, config: RetrievalConfig = RetrievalConfig(), cache_size: int = 1024):
        self.backend = backend
        self.embedder = embedder
        self.config = config
        self._cache = LRU(cache_size)
        self.stats = backend.stats()
        # Query tokens must come from the same tokenizer as the index's passages.
        self.tokenizer = self.stats.config.tokenizer
        self._reranker = make_reranker(
            config.rerank, SecondStageConfig(config.sentence_weight, config.context_weight, config.rerank_cross_lang_factor,
                                           config.rerank_cross_lang_units)
        )
        self._sentences = SentenceScorer(self.tokenizer, self._idf)
        self._front_matters = LRU(_FRONT_MATTER_CACHE)  # doc id -> its front-matter passages
        self._leads = LRU(_FRONT_MATTER_CACHE * 4)  # passage -> the lines of front matter it continues
        self._headings = DocumentHeadings(backend)  # a sub-heading inside a passage is no answer alone
        xcfg = CrossLingualConfig(config.cross_lang_expansion, prf_terms=config.cross_lang_prf_terms)
        self._expander = None if not xcfg.parts else CrossLingualExpander(backend, self.tokenizer, xcfg, config.lang_min_passages,
                                                                                   config.cross_lang_admit)

    def _idf(self, tokens: list[str]) -> np.ndarray:
        return self.backend.keyword_idf(tokens)

    def embed_queries(self, queries: Sequence[str]) -> list[np.ndarray]:
        """Query vectors, the uncached ones encoded together in one forward pass."""
        # NFKC like the keyword side: ＡＳＭＬ and ｻｰﾊﾞｰﾚｽ embed as ASML and サーバーレス
        keys = [unicodedata.normalize("NFKC", q) for q in queries]
        vectors = [self._cache.get(key) for key in keys]
        missing = sorted({key for key, v in zip(keys, vectors) if v is None})
        if missing:
            fresh = dict(zip(missing, self.embedder.embed_queries(missing)))
            for key, vector in fresh.items():
                self._cache.put(key, vector)
            vectors = [fresh[key] if v is None else v for key, v in zip(keys, vectors)]
        return vectors

    def embed_query(self, query: str) -> np.ndarray:
        return self.embed_queries([query])[0]

    def search_batch(self, requests: Sequence[tuple[str, int, Filters | None]]) -> list[SearchResult]:
        """Several searches at once: one encoder pass for all their questions costs much less
        than one pass each, which is what a busy server needs."""
        if self.config.mode == "keyword" or len(requests) == 1:
            return [self.search(q, k, f) for q, k, f in requests]
        t = time.perf_counter()
        vectors = self.embed_queries([q for q, _, _ in requests])
        embed_ms = (time.perf_counter() - t) * 1000
        results = []
        for (query, k, filters), vector in zip(requests, vectors):
            result = self.search(query, k, filters, query_vector=vector)
            result.timings["embed_ms"] = embed_ms
            result.timings["batch"] = float(len(requests))
            result.timings["total_ms"] += embed_ms
            results.append(result)
        return results

    def warm(self) -> None:
        """Pay for lazy initialisation before the first question (the service calls this before
        it says it is ready): the tokenizer and kernels, through a search, and the dictionaries
        the cross-language query reads (CrossLingualExpander.warm)."""
        self.search("warm up", k=1)
        if self._expander is not None:
            self._expander.warm(self.stats.passages_by_doc_lang)

    def search(self, query: str, k: int = 5, filters: Filters | None = None, query_vector: np.ndarray | None = None) -> SearchResult:
        cfg = self.config
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        lang = detect_language(query)
        tokens = list(question_tokens(query, self.tokenizer))
        n = max(cfg.candidates, k)
        lists: dict[str, Ranked] = {}
        doc_langs: dict[str, str] = {}  # passage id -> main language of its document
        raw_dense: dict[str, float] = {}
        if cfg.mode in ("keyword", "hybrid"):
            t = time.perf_counter()
            found = self.backend.keyword(tokens, n, filters)
            doc_langs.update(zip(found.ids, found.doc_langs))
            lists["bm25"] = Ranked(found.ids, found.scores)
            timings["keyword_ms"] = (time.perf_counter() - t) * 1000
        # how well the keyword side found the question's words: read in two-language indexes only
        match = self._match_strength(tokens, lists.get("bm25")) if len(self.stats.passages_by_lang) > 1 else 1.0
        if cfg.mode in ("dense", "hybrid"):
            t = time.perf_counter()
            qvec = self.embed_query(query) if query_vector is None else query_vector
            timings["embed_ms"] = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            lists["dense"], raw_dense = self._dense(qvec, n, filters, doc_langs, lang, match)
            timings["dense_ms"] = (time.perf_counter() - t) * 1000
        xlang: Ranked | None = None
        other = self._expander.target(lang, self.stats.passages_by_doc_lang, filters) if self._expander else None
        if other is not None and "dense" in lists:
            t = time.perf_counter()
            xlang = self._expander.search(query, other, lists["dense"], doc_langs, filters)
            timings["xlang_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        fused = self._fuse(lists, lang, doc_langs, self._keyword_strength(match))
        if xlang is not None:
            add_scaled(fused, xlang, cfg.cross_lang_expansion_weight)
            lists["xlang"] = xlang  # reported among the components
            if self._expander.names_only_there(query, lang, other):
                self._demote_unmatched(fused, lists.get("bm25"), doc_langs, lang)
        ranked = sorted(fused, key=lambda r: (-fused[r], r))
        timings["fusion_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        depth = max(k, cfg.rerank_candidates) if (self._reranker is not None or cfg.dedup_threshold > 0) else k
        head = ranked[:depth]
        stored = {s.id: s for s in self.backend.passages(head)}
        head = [r for r in head if r in stored]
        # first-stage scores min-max normalised over the candidates, so that the second
        # stage's weights mean the same whatever the fusion method's scale
        hi = max((fused[r] for r in head), default=1.0)
        lo = min((fused[r] for r in head), default=0.0)
        span = (hi - lo) or 1.0
        candidates = [
            Candidate(r, stored[r].passage.text, stored[r].passage.context, stored[r].doc_lang, (fused[r] - lo) / span,
                      headings=self._headings.of(stored[r].passage))
            for r in head
        ]
        self._read_with_leads(candidates, stored)
        # only a field holding the number asked is ever kept (rerank.LexicalReranker._asked_fields_added)
        if cfg.front_matter_fields and isinstance(self._reranker, LexicalReranker) and (
                expected_type(query) in NUMERIC_TYPES or head_word(query, self.tokenizer)):
            candidates += self._front_matter_added(candidates, stored, filters)
        self._sentences.score(self._sentences.query_weights(query), candidates, query)
        final = {c.id: fused.get(c.id, 0.0) for c in candidates}
        if self._reranker is not None and candidates:
            scores = self._reranker.rerank(query, lang, candidates)
            final = {c.id: float(s) for c, s in zip(candidates, scores)}
            candidates = [c for c in candidates if final[c.id] > -np.inf]
            candidates.sort(key=lambda c: (-final[c.id], c.id))
        if cfg.unquotable_last:
            candidates.sort(key=lambda c: not c.units)  # stable: the others keep their order
        timings["rerank_ms"] = (time.perf_counter() - t) * 1000
        if cfg.dedup_threshold > 0 and candidates:
            order, _ = collapse([c.text for c in candidates], cfg.dedup_threshold)
            candidates = [candidates[i] for i in order]
        components = {name: dict(zip(r.ids, r.scores.tolist())) for name, r in lists.items()}
        if raw_dense:
            components["dense"] = raw_dense  # report cosine, not the standardised value
        # abstention looks at the same top passages whatever k the caller asked for
        top = candidates[:EVIDENCE_DEPTH]
        confidence, evidence = self._confidence(query, lang, top, components.get("dense"), {c.id: stored[c.id].passage.lang for c in top},
                                      tokens)
        candidates = candidates[:k]

        hits = []
        for c in candidates:
            p = stored[c.id].passage
            scores = {name: float(comp[c.id]) for name, comp in components.items() if c.id in comp}
            if len(lists) > 1:
                scores["fused"] = float(fused.get(c.id, 0.0))
            scores["sentence"] = float(c.sentence)
            if c.own_score is not None:
                scores["passage"] = c.own_score  # its own score, before its document's reordering
            if c.added:
                scores["field"] = 1.0  # added for its field (rerank.LexicalReranker._asked_fields_added)
            hits.append(
                Hit(
                    id=c.id, doc_id=p.doc_id, title=stored[c.id].title, section=p.section, page=p.page,
                    char_start=p.char_start, char_end=p.char_end, text=p.text, lang=p.lang, kind=p.kind,
                    score=float(final[c.id]), scores=scores, highlight=c.highlight, units=c.units,
                )
            )
        found = bool(hits) and (cfg.abstain_threshold is None or (confidence is not None and confidence >= cfg.abstain_threshold))
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return SearchResult(query, lang, hits, timings, found=found, confidence=confidence, evidence=evidence)

    def _front_matter(self, doc_id: str) -> tuple[StoredPassage, ...]:
        """A document's front-matter passages, in order (the chunker numbers them first), cached."""
        got = self._front_matters.get(doc_id)
        if got is None:
            found: list[StoredPassage] = []
            ordinals = [0]
            while ordinals:
                batch = [s for s in self.backend.passages([passage_id(doc_id, i) for i in ordinals]) if s.passage.kind == "front_matter"]
                found += batch
                n = ordinals[-1] + 1
                ordinals = list(range(n, min(n + 2 * n + 4, _MAX_FRONT_MATTER))) if len(batch) == len(ordinals) else []
            got = self._front_matters.put(doc_id, tuple(found))
        return got

    def _read_with_leads(self, candidates: list[Candidate], stored: dict[str, StoredPassage]) -> None:
        """Front-matter passages cut inside a mapping or a list item are read with the lines that
        open it (highlight.structure_lead): ``role: "CTO & Co-founder"`` with ``founders_team:``
        and its item's ``- name: "Timothée Lacroix"``."""
        for c in candidates:
            p = stored[c.id].passage
            if p.kind == "front_matter" and p.ordinal > 0 and not c.lead:
                lead = self._lead(stored[c.id])
                if lead:
                    c.text, c.lead = lead + "\n" + c.text, len(lead) + 1

    def _lead(self, s: StoredPassage) -> str:
        key = f"{s.id}\0{s.passage.char_start}"
        got = self._leads.get(key)
        if got is None:
            before = [b.passage.text for b in self._front_matter(s.passage.doc_id) if b.passage.ordinal < s.passage.ordinal]
            got = self._leads.put(key, structure_lead("\n".join(before), s.passage.text.split("\n", 1)[0]))
        return got

    def _front_matter_added(self, candidates: list[Candidate], stored: dict[str, StoredPassage],
                            filters: Filters | None) -> list[Candidate]:
        """The front-matter passages of the candidates' documents that are not candidates
        themselves, as candidates ``added`` for their fields (rerank.LexicalReranker keeps one
        per document only if a field of it answers)."""
        have = {c.id for c in candidates}
        out = []
        for doc in dict.fromkeys(passage_doc(c.id) for c in candidates):
            for s in self._front_matter(doc):
                p = s.passage
                if s.id in have or (filters is not None and (filters.lang not in (None, p.lang) or filters.doc_lang not in (None, s.doc_lang))):
                    continue
                stored[s.id] = s
                c = Candidate(s.id, p.text, p.context, s.doc_lang, 0.0, added=True)
                out.append(c)
        self._read_with_leads(out, stored)
        return out

    def _confidence(self, query: str, lang: str, top: list[Candidate], dense: dict[str, float] | None,
                    passage_langs: dict[str, str], tokens: list[str]) -> tuple[float | None, Evidence | None]:
        """Evidence strength used for abstention (index/abstain.py), and the evidence it read."""
        if not top:
            return None, None
        if not any(ch.isalnum() for ch in query):
            # only punctuation or symbols ("?", "…"): nothing is asked, though the dense side
            # always finds a nearest passage (a bare "?" was answered at confidence 0.69)
            return 0.0, None
        evidence = self._sentences.evidence(query, lang, top, dense, passage_langs)
        absent = 0.0
        if self.stats.passages >= ABSENT_MIN_PASSAGES:
            absent = absent_share(self._sentences.content_tokens(query), self._idf, self._known_otherwise(query, lang))
        evidence = replace(evidence, unknown_number=bool(unknown_numbers(tokens, self._idf)), absent=absent)
        floor = self.config.dense_floor
        if floor is not None and evidence.dense is not None and evidence.dense < floor:
            # only what the floor would refuse needs it (JMdict look-ups: ~0.1 ms a question)
            evidence = replace(evidence, bridged=self._sentences.bridged_count(query, lang, top, passage_langs))
        return abstain_signal(evidence, self.config.mode, self.config.dense_floor), evidence

    def _known_otherwise(self, query: str, lang: str) -> Callable[[str], bool]:
        """Whether a question word that the index does not know may still be there in another
        form: one of its JMdict translations (index/dictionary.py) is in the index, or, when
        the index holds passages in another language than the question's (English front matter
        of Japanese reports counts), it is a name or loanword that may be transliterated there
        (Asimov -> アシモフ; the reverse for a katakana word), a capitalised word of an English
        question or a katakana word of a Japanese one."""
        bilingual = any(n > 0 for other, n in self.stats.passages_by_lang.items() if other != lang)
        names = capitalised_words(query)

        def known(word: str) -> bool:
            if bilingual and (word in names or is_katakana(word)):
                return True
            dictionary = load_dictionary()
            translations = (dictionary.japanese(word) if word.isascii() else dictionary.english(word))[:MAX_SENSES]
            if word.isascii():
                # the question vocabulary of index/bridge.py: "headquartered" (本社), which JMdict lacks
                translations += tuple(ja for pattern, jas in hand_list() if pattern.search(word) for ja in jas)
            tokens = [sorted(set(term_tokens(t, self.tokenizer))) for t in translations]
            flat = sorted({t for toks in tokens for t in toks})
            idf = dict(zip(flat, self._idf(flat).tolist())) if flat else {}
            return any(toks and all(idf[t] > 0 for t in toks) for toks in tokens)

        return known

    def _language_groups(self) -> list[tuple[str, bool]]:
        """(language, has enough passages for its own statistics) for each passage language.
        Passage, not document, language: the English front matter and reference lists of a
        Japanese report attract English questions just as English documents do."""
        return [(lang, count >= self.config.lang_min_passages) for lang, count in self.stats.passages_by_lang.items()]

    @property
    def lang_z_active(self) -> bool:
        """Whether dense scores are standardised per language: always for "lang_z", for
        "auto" when the index holds two languages of lang_min_passages passages or more."""
        norm = self.config.dense_norm
        return norm == "lang_z" or (norm == "auto" and sum(big for _, big in self._language_groups()) >= 2)

    def _dense(self, qvec: np.ndarray, n: int, filters: Filters | None, doc_langs: dict[str, str],
               lang: str, match: float) -> tuple[Ranked, dict[str, float]]:
        lifted = self._lifted_languages(lang)
        offset = self._cross_lang_offset(lifted, match, filters)
        if offset > 0:
            return self._offset_other_languages(qvec, n, filters, doc_langs, lifted, offset)
        found = self.backend.dense(qvec, n, filters)
        doc_langs.update(zip(found.ids, found.doc_langs))
        scores = found.scores
        if not self.lang_z_active or (filters is not None and filters.lang):
            return Ranked(found.ids, scores), {}
        # z-scores per passage language, each language searched on its own (MODELS.md):
        # a multilingual embedder rates any passage in the question's language above a
        # relevant one in another language; standardising per language removes that bias.
        overall = (float(scores.mean()), float(scores.std()) or 1.0) if len(scores) else (0.0, 1.0)
        merged: dict[str, float] = {}
        raw: dict[str, float] = {}
        for lang, big in self._language_groups():
            group: Matches = self.backend.dense(qvec, n, Filters(lang=lang, doc_ids=filters.doc_ids if filters is not None else None))
            doc_langs.update(zip(group.ids, group.doc_langs))
            s = group.scores
            if len(s) == 0:
                continue
            mean, std = (float(s.mean()), float(s.std()) or 1.0) if big and len(s) >= 5 else overall
            for pid, score in zip(group.ids, s.tolist()):
                merged[pid] = (score - mean) / std
                raw[pid] = score
        order = sorted(merged, key=lambda r: (-merged[r], r))[:n]
        return Ranked(tuple(order), np.array([merged[r] for r in order], dtype=np.float32)), {r: raw[r] for r in order}

    def _lifted_languages(self, lang: str) -> list[str]:
        """The languages whose passages the cross-language offset lifts for a question in `lang`:
        those of lang_min_passages passages of documents or more (the cross-language keyword
        query's targets), in an index that also holds passages in the question's language. Not
        the English front matter inside Japanese reports for a Japanese question: a few fields
        are no half of the corpus the embedder under-rates, and lifting them above the reports'
        text hid from abstention that the question's words are nowhere (its word evidence is
        relaxed when the first passage is in another language)."""
        if self.stats.passages_by_lang.get(lang, 0) == 0:
            return []
        return sorted(o for o, count in self.stats.passages_by_doc_lang.items()
                      if o != lang and count >= self.config.lang_min_passages and self.stats.passages_by_lang.get(o, 0) > 0)

    def _cross_lang_offset(self, lifted: list[str], match: float, filters: Filters | None) -> float:
        """What the dense side adds to the cosine of a passage in a `lifted` language (above):
        dense_cross_lang_offset x (1 - `match`, how well the keyword side found the question's
        words); 0 under per-language z-scores (which remove the same bias) or a language filter."""
        if not lifted or self.lang_z_active or (filters is not None and filters.lang):
            return 0.0
        # A question whose words the index holds (an English question about an English
        # front-matter field, a Japanese one about a Japanese article) is answered where they
        # are: only their absence says the answer may be in the other language, which the
        # embedder under-rates.
        return self.config.dense_cross_lang_offset * (1.0 - match)

    def _offset_other_languages(self, qvec: np.ndarray, n: int, filters: Filters | None, doc_langs: dict[str, str],
                                lifted: list[str], offset: float) -> tuple[Ranked, dict[str, float]]:
        """The top n cosines, and the passages in a lifted language whose cosine + offset reaches
        the last of them, shifted by the offset: the question's language cannot crowd them out,
        and the list's floor, which weighted fusion normalises from, stays where it was, so the
        other candidates' fused scores do not move. Returns the shifted list and the raw
        cosines (abstention reads cosines)."""
        depth = n * _OFFSET_DEPTH
        found = self.backend.dense(qvec, depth, filters)
        if not len(found.ids):
            return Ranked(found.ids, found.scores), {}
        floor = float(found.scores[:n].min())
        ids, scores, langs, doc_lang_of = list(found.ids), found.scores, list(found.langs), list(found.doc_langs)
        # The deeper list holds every passage that could join unless its last cosine is still
        # within the offset of the floor, or the backend does not say passage languages: then
        # the top n stay and each lifted language is searched on its own (its top n holds any
        # of its passages among the top n).
        if not found.langs or (len(ids) == depth and float(scores[-1]) + offset >= floor):
            # a top-n passage in a lifted language is relabelled by that language's own search
            # (it is in its top n); the rest are only "not lifted"
            pool = {pid: (score, "", dlang) for pid, score, dlang in zip(ids[:n], scores[:n].tolist(), doc_lang_of[:n])}
            for other in lifted:
                group = self.backend.dense(qvec, n, Filters(lang=other, doc_lang=filters.doc_lang if filters else None,
                                                            doc_ids=filters.doc_ids if filters else None))
                pool.update((pid, (score, other, dlang)) for pid, score, dlang in zip(group.ids, group.scores.tolist(), group.doc_langs))
            ids = sorted(pool, key=lambda pid: -pool[pid][0])
            scores = np.array([pool[pid][0] for pid in ids], dtype=np.float32)
            langs, doc_lang_of = [pool[pid][1] for pid in ids], [pool[pid][2] for pid in ids]
        plangs = np.array(langs, dtype=object)
        other = np.isin(plangs, lifted)
        shifted = scores + offset * other
        top = set(found.ids[:n])
        # the top n, and the lifted languages' passages that reach the last of them
        keep = np.array([pid in top for pid in ids]) | (other & (shifted >= floor))
        for each in set(plangs[other].tolist()):  # at most n of each, as its own search gives
            mine = plangs == each
            keep &= ~mine | (np.cumsum(mine) <= n)
        chosen = np.flatnonzero(keep)
        for i in chosen.tolist():
            doc_langs[ids[i]] = doc_lang_of[i]
        order = sorted(chosen.tolist(), key=lambda i: (-float(shifted[i]), ids[i]))
        return (Ranked(tuple(ids[i] for i in order), shifted[order].astype(np.float32)),
                {ids[i]: float(scores[i]) for i in order})

    @staticmethod
    def _demote_unmatched(fused: dict[str, float], bm25: Ranked | None, doc_langs: dict[str, str], lang: str) -> None:
        """Passages in the question's language that the keyword side did not match keep
        UNMATCHED_OWN_LANGUAGE of their fused score (their dense vote), when the question's names
        are found only in the other language: "Which disease caused the gangrene in Manet's left
        leg?" ranked four Debian pages sharing none of its words above Manet's article."""
        matched = set(bm25.ids) if bm25 is not None else set()
        for pid in fused:
            if doc_langs.get(pid) == lang and pid not in matched:
                fused[pid] *= UNMATCHED_OWN_LANGUAGE

    def _bilingual_documents(self) -> bool:
        """Documents of two languages, lang_min_passages passages each (English front matter
        inside Japanese reports does not count: passages take their document's language)."""
        return sum(count >= self.config.lang_min_passages for count in self.stats.passages_by_doc_lang.values()) >= 2

    def _keyword_strength(self, match: float) -> float:
        """1, or in a two-language index `match`: the keyword side's best score as a share of
        weak_keyword_ratio x the question's ideal score. Min-max fusion would otherwise give the
        best of weak, same-language word matches full weight against an answer that exists only
        in the other language."""
        return match if self.config.weak_keyword_ratio > 0 and self._bilingual_documents() else 1.0

    def _match_strength(self, tokens: list[str], bm25: Ranked | None) -> float:
        """The keyword side's best score as a share of weak_keyword_ratio x the question's ideal
        score (every term matched at saturation), capped at 1; 0 when nothing matched, no term
        is known or the ratio is 0 (off)."""
        ratio = self.config.weak_keyword_ratio
        if ratio <= 0 or bm25 is None or not len(bm25.scores):
            return 0.0
        ideal = float(self._idf(sorted(set(tokens))).sum()) * (_BM25_K1 + 1.0)
        return min(1.0, float(bm25.scores.max()) / (ratio * ideal)) if ideal > 0 else 0.0

    def _fuse(self, lists: dict[str, Ranked], lang: str, doc_langs: dict[str, str], keyword_strength: float = 1.0) -> dict[str, float]:
        cfg = self.config
        if len(lists) == 1:
            (only,) = lists.values()
            return dict(zip(only.ids, only.scores.tolist()))
        same, cross = cfg.keyword_weight, cfg.keyword_weight * cfg.cross_lang_keyword_weight
        keyword_weight = {pid: keyword_strength * (same if dl == lang else cross) for pid, dl in doc_langs.items()}
        weights = {"dense": cfg.dense_weight, "bm25": keyword_weight}
        if cfg.fusion == "weighted":
            return weighted_score_fusion(lists, weights)
        return reciprocal_rank_fusion(lists, weights, cfg.rrf_k)
