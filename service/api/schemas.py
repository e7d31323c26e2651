"""Request and response bodies of the HTTP API, as pydantic models (they make /docs)."""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kotae.service.texts import MAX_QUESTION_CHARS, check_text

MAX_K = 50

PASSAGE_EXAMPLE = {
    "citation": 1,
    "doc_id": "004_80795f28c2f237e0.txt",
    "title": "Mistral AIがKoyebを買収！独自クラウド基盤の強化でOpenAIとAWSの牙城を崩すか",
    "section": "3行要約",
    "page": None,
    "char_start": 512,
    "char_end": 871,
    "text": "フランスのAI王者Mistral AIが、クラウドデプロイを簡素化するスタートアップ「Koyeb」を初の買収案件として合意しました。",
    "lang": "ja",
    "score": 0.032787,
    "scores": {"dense": 0.8731, "bm25": 12.41},
    "highlight": [0, 62],
}


def _not_blank(value: str) -> str:
    """A question or query: not blank, and nothing the tokenizer or embedder cannot take."""
    if not value.strip():
        raise ValueError("must not be empty")
    return check_text(value.strip())


# -- passages (docs/CONTRACTS.md §2) -------------------------------------------------------------

class Passage(BaseModel):
    """A retrieved passage, the shape every kotae output shares (docs/CONTRACTS.md §2)."""

    model_config = ConfigDict(json_schema_extra={"examples": [PASSAGE_EXAMPLE]})

    citation: int = Field(description="1-based number; the answer text cites it as [n]")
    doc_id: str = Field(description="document id: path relative to the corpus folder")
    title: str
    section: Optional[str] = Field(description="heading path the passage sits under, if any")
    page: Optional[int] = Field(description="1-based page for PDFs, else null")
    char_start: int = Field(description="start of the passage's source span in the document's original text "
                                        "(`text` of GET /v1/documents/{doc_id}), in code points")
    char_end: int = Field(description="end (exclusive) of the source span")
    text: str = Field(description="display text: the source span with Markdown marks, <sup> footnotes and soft line "
                                  "breaks removed; not in general equal to the source span")
    lang: str = Field(description="ISO 639-1 language code")
    score: float = Field(description="final ranking score")
    scores: dict[str, float] = Field(description="component scores that produced it (dense, bm25, ...)")
    highlight: list[int] = Field(min_length=2, max_length=2, description="[start, end] within `text` (not the source) of the answering sentence")


# -- errors ---------------------------------------------------------------------------------------

class ErrorDetail(BaseModel):
    field: Optional[str] = Field(description="the request field at fault (dotted path), or null")
    problem: str


class ErrorInfo(BaseModel):
    message: str = Field(description="what went wrong, naming the field")
    type: str = Field(description="error class (OpenAI style), e.g. invalid_request_error")
    code: str = Field(description="machine-readable code, e.g. validation_error, not_found, unauthorized")
    param: Optional[str] = Field(description="the field at fault, or null (OpenAI style)")
    field: Optional[str] = Field(description="same as param")
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"error": {
        "message": "question: must not be empty", "type": "invalid_request_error", "code": "validation_error",
        "param": "question", "field": "question", "details": [{"field": "question", "problem": "must not be empty"}]}}]})
    error: ErrorInfo


# -- health ---------------------------------------------------------------------------------------

class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    uptime_s: float


class EmbedderInfo(BaseModel):
    name: str
    dim: int
    max_tokens: Optional[int] = None


class Readiness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "status": "ready", "documents": 5, "passages": 412, "embedder": {"name": "e5-small", "dim": 384, "max_tokens": 512},
        "index_built_at": "2026-03-01T10:00:00+0000", "generation": "gen-20260301T100000-1a2b3c4d",
        "retrieval_mode": "hybrid", "generation_model": None, "ingesting": False}]})
    status: Literal["ready", "not_ready"]
    reason: Optional[str] = None
    documents: Optional[int] = None
    passages: Optional[int] = None
    embedder: Optional[EmbedderInfo] = None
    index_built_at: Optional[str] = None
    generation: Optional[str] = None
    retrieval_mode: Optional[str] = None
    generation_model: Optional[str] = None
    ingesting: bool = False
    drift: int = Field(0, description="documents whose corpus file and index disagree (after a crash); re-indexed in the background")
    drift_error: Optional[str] = Field(None, description="why the corpus could not be reconciled with the index, if it could not")
    reindexing: bool = Field(False, description="the start-up reconciliation is re-indexing")
    upload_jobs: int = Field(0, description="large uploads queued or being indexed")


# -- search and ask -------------------------------------------------------------------------------

class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lang: Optional[str] = Field(None, pattern=r"^[a-z]{2}$", description="only passages in this language (ISO 639-1)", examples=["ja"])
    doc_ids: Optional[list[str]] = Field(None, min_length=1, max_length=1000, description="only passages of these documents")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"query": "Mistral AIの創業者は誰ですか？", "k": 5},
        {"query": "Which company did Mistral AI acquire?", "k": 3, "filters": {"lang": "en"}},
    ]})
    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="the question or keywords, Japanese or English")
    k: Optional[int] = Field(None, ge=1, le=MAX_K, description="number of passages (default KOTAE_TOP_K, 5)")
    filters: Optional[SearchFilters] = None

    @field_validator("query")
    @classmethod
    def _query(cls, v: str) -> str:
        return _not_blank(v)


class SearchResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "query": "Mistral AIの創業者は誰ですか？", "lang": "ja", "passages": [PASSAGE_EXAMPLE],
        "timings": {"embed_ms": 11.2, "dense_ms": 0.3, "keyword_ms": 1.1, "fusion_ms": 0.1, "passages_ms": 0.4, "total_ms": 13.5}}]})
    query: str
    lang: str = Field(description="detected language of the query")
    found: bool = Field(description="false when retrieval found nothing relevant")
    confidence: Optional[float] = Field(None, description="the evidence score `found` was decided on (index/abstain.py); null when the retriever has none")
    passages: list[Passage]
    timings: dict[str, float] = Field(description="milliseconds per stage")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "Mistral AIが買収した会社はどこですか？", "k": 5},
        {"question": "Who founded Mistral AI?"},
    ]})
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="the question, Japanese or English")
    k: Optional[int] = Field(None, ge=1, le=MAX_K, description="passages to answer from (default KOTAE_TOP_K, 5)")

    @field_validator("question")
    @classmethod
    def _question(cls, v: str) -> str:
        return _not_blank(v)


class AskResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "answer": "フランスのAI王者Mistral AIが、クラウドデプロイを簡素化するスタートアップ「Koyeb」を初の買収案件として合意しました。[1]\n\n"
                  "**出典**\n- [1] Mistral AIがKoyebを買収！… › 3行要約 — `004_80795f28c2f237e0.txt`",
        "found": True, "lang": "ja", "mode": "extractive", "citations": [PASSAGE_EXAMPLE], "warning": None,
        "timings": {"total_ms": 14.0}}]})
    answer: str = Field(description="answer text with [n] markers, then the numbered sources")
    found: bool = Field(description="false when retrieval found nothing that answers the question")
    confidence: Optional[float] = Field(None, description="the evidence score `found` was decided on (index/abstain.py); null when the retriever has none")
    lang: str
    mode: Literal["extractive", "llm"]
    citations: list[Passage] = Field(description="the passages the answer cites, numbered as in the text")
    warning: Optional[str] = Field(None, description="set when the language model failed and the extractive answer is shown")
    timings: dict[str, float]


# -- documents ------------------------------------------------------------------------------------

class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    kind: str = Field(description="text, markdown or pdf")
    encoding: str
    content_hash: str
    metadata: dict[str, Any] = Field(description="front matter / PDF metadata")
    warnings: list[str]
    chars: int
    passages: int
    status: Literal["indexed"] = "indexed"


class SkippedFile(BaseModel):
    doc_id: str
    status: str = Field(description="skipped")
    reason: str


class DriftEntry(BaseModel):
    doc_id: str
    problem: str = Field(description="how the corpus file and the index disagree")


class DocumentList(BaseModel):
    documents: list[DocumentInfo]
    skipped: list[SkippedFile] = Field(description="files of the corpus folder that could not be indexed, and why")
    drift: list[DriftEntry] = Field(default_factory=list, description="documents whose file and index disagree (after a crash)")
    reindexing: bool = Field(False, description="the drift is being re-indexed")


class PassageSpan(BaseModel):
    char_start: int
    char_end: int
    section: Optional[str]
    page: Optional[int]
    lang: str


class DocumentDetail(BaseModel):
    doc_id: str
    title: str
    kind: str
    encoding: str
    content_hash: str
    metadata: dict[str, Any]
    page_starts: list[int] = Field(description="for PDFs: offset in `text` where each page starts")
    warnings: list[str]
    chars: int
    text: str = Field(description="the original decoded text; passages' char_start/char_end index into it")
    passages: list[PassageSpan]


class IndexSummary(BaseModel):
    documents: int
    passages: int
    embedded: Optional[int] = None
    seconds: float


class UploadResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "doc_id": "notes/meeting.md", "replaced": False, "status": "indexed", "passages": 4, "warnings": [],
        "index": {"documents": 6, "passages": 416, "embedded": 4, "seconds": 1.9}}]})
    doc_id: str
    replaced: bool = Field(description="true when a document with this id existed and was replaced")
    status: str = Field(description="indexed or unchanged")
    passages: int
    warnings: list[str]
    index: IndexSummary


class JobError(BaseModel):
    message: str
    field: Optional[str] = None
    code: str


class JobInfo(BaseModel):
    """A large upload being indexed in the background (202 from POST /v1/documents)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5f0c8e2a9b7d4c1e8f3a6b2d9c0e1f47", "doc_id": "reports/annual.pdf", "status": "embedding", "passages": 1400,
        "embedded": 320, "progress": 0.229, "created_at": 1767225600.0, "finished_at": None, "result": None, "error": None}]})
    id: str
    doc_id: str
    status: Literal["queued", "embedding", "indexing", "done", "failed"]
    passages: int = Field(description="passages to embed")
    embedded: int = Field(description="passages embedded so far")
    progress: float = Field(description="embedded / passages")
    created_at: float
    finished_at: Optional[float] = None
    result: Optional[UploadResponse] = Field(None, description="when done: what a synchronous upload returns")
    error: Optional[JobError] = Field(None, description="when failed: why")


class DeleteResponse(BaseModel):
    doc_id: str
    deleted: bool
    index: IndexSummary


# -- OpenAI-compatible chat -------------------------------------------------------------------------

class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: Optional[str] = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "function", "developer"]
    content: Union[str, list[ContentPart], None] = None

    @field_validator("content")
    @classmethod
    def _content(cls, v):
        # Checked here, after the str-or-parts union is resolved, so the error names
        # `messages[i].content` rather than one of the union's branches.
        for text in [v] if isinstance(v, str) else [p.text for p in v or [] if p.text]:
            check_text(text)
        return v

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text or "" for p in self.content if p.type == "text")


class ChatRequest(BaseModel):
    """The OpenAI Chat Completions request; sampling fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"model": "kotae", "messages": [{"role": "user", "content": "Mistral AIの本社はどこですか？"}]},
        {"model": "kotae", "stream": True, "messages": [{"role": "user", "content": "Who founded Mistral AI?"}]},
    ]})
    model: str = Field("kotae", description="must be `kotae` (see GET /v1/models)")
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    k: Optional[int] = Field(None, ge=1, le=MAX_K, description="kotae extension: passages to answer from (default KOTAE_TOP_K, 5)")
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    user: Optional[str] = None


class ChatResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatResponseMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "chatcmpl-3f2a9c", "object": "chat.completion", "created": 1767225600, "model": "kotae",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "… [1]\n\n**Sources**\n- [1] … — `004_80795f28c2f237e0.txt`"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 80, "total_tokens": 92},
        "citations": [PASSAGE_EXAMPLE], "found": True, "warning": None}]})
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    citations: list[Passage] = Field(description="kotae extension (ignored by OpenAI clients): the cited passages")
    found: bool = Field(description="kotae extension: false when retrieval found nothing relevant")
    warning: Optional[str] = Field(None, description="kotae extension: set when generation fell back to the extractive answer")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "kotae"


class ModelList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"object": "list", "data": [
        {"id": "kotae", "object": "model", "created": 1767225600, "owned_by": "kotae"}]}]})
    object: Literal["list"] = "list"
    data: list[ModelCard]
