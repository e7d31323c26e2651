"""Pack sentences into passages: Japanese-aware, offset-exact, within character and token limits."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Callable, Sequence

from kotae.ingest.clean import clean_text
from kotae.ingest.document import Document, Passage
from kotae.ingest.frontmatter import FrontMatter
from kotae.ingest.lang import DocumentLanguages
from kotae.ingest.sentences import split_long
from kotae.ingest.structure import Segment, starts_list_item

TokenCounter = Callable[[Sequence[str]], list[int]]
SECTION_SEPARATOR = " › "


CHUNK_MODES = ("paragraph", "size")


@dataclass(frozen=True)
class ChunkSettings:
    chunk_chars: int = 400
    min_chars: int = 80
    overlap_sentences: int = 1
    max_tokens: int = 512
    # "paragraph": a paragraph (with the list that follows it) is a passage of its own, cut into
    # even parts when longer than paragraph_chars, never merged with a neighbour just to reach a
    # size; "size": sentences are packed up to chunk_chars across paragraph breaks. Tables and
    # front matter are packed up to chunk_chars in both modes.
    mode: str = "size"
    paragraph_chars: int = 800

    def __post_init__(self):
        if self.mode not in CHUNK_MODES:
            raise ValueError(f"unknown chunk mode {self.mode!r}; choose one of {', '.join(CHUNK_MODES)}")


@dataclass
class _Chunk:
    segments: list[Segment]
    lead: int | None = None  # start of headings that introduce this chunk

    @property
    def start(self) -> int:
        return self.segments[0].start if self.lead is None else self.lead

    @property
    def end(self) -> int:
        return self.segments[-1].end

    @property
    def size(self) -> int:
        return self.end - self.start


def _groups(segments: Sequence[Segment]) -> list[_Chunk]:
    """Runs of segments that may share a passage: same section, page and kind.
    Headings do not become passages of their own; they lead the next group."""
    groups: list[_Chunk] = []
    pending: list[Segment] = []  # headings waiting for the content they introduce
    for seg in segments:
        if seg.kind == "heading":
            pending.append(seg)
            continue
        last = groups[-1].segments[-1] if groups else None
        same = (
            last is not None
            and not pending
            and last.section == seg.section
            and last.page == seg.page
            and last.kind == seg.kind
            and not (seg.kind == "table" and seg.new_block)
        )
        if same:
            groups[-1].segments.append(seg)
        else:
            groups.append(_Chunk([seg], pending[0].start if pending else None))
            pending = []
    if pending:  # trailing headings with nothing under them
        groups.append(_Chunk(pending))
    return groups


def _split_oversized(segments: Sequence[Segment], limit: int, text: str) -> list[Segment]:
    out = []
    for seg in segments:
        if seg.end - seg.start <= limit:
            out.append(seg)
            continue
        for i, (s, e) in enumerate(split_long(text, seg.start, seg.end, limit)):
            out.append(Segment(s, e, seg.kind, seg.section, seg.page, seg.new_block and i == 0, seg.table_header))
    return out


def _block_starts(segments: Sequence[Segment], text: str) -> list[bool]:
    """Where a paragraph begins. List items belong to the paragraph that introduces them
    ("The round's terms:" then "- lead investor: ..."): an item alone answers little."""
    return [i == 0 or (s.new_block and not starts_list_item(text, s.start)) for i, s in enumerate(segments)]


def _even_targets(segments: Sequence[Segment], starts: Sequence[bool], limit: int) -> list[float]:
    """Per segment, the size its paragraph's parts aim at: a paragraph over `limit` is cut
    into equal parts rather than full parts and a scrap."""
    targets: list[float] = []
    i = 0
    while i < len(segments):
        j = i + 1
        while j < len(segments) and not starts[j]:
            j += 1
        size = segments[j - 1].end - segments[i].start
        targets.extend([size / -(-size // limit)] * (j - i))
        i = j
    return targets


def _pack(group: _Chunk, limit: int, overlap: int, text: str, by_paragraph: bool = False) -> list[_Chunk]:
    segments = _split_oversized(group.segments, limit, text)
    starts = _block_starts(segments, text) if by_paragraph else []
    targets = _even_targets(segments, starts, limit) if by_paragraph else []
    chunks: list[_Chunk] = []
    current = _Chunk([], group.lead)
    carried = 0  # overlap segments repeated from the previous chunk
    for i, seg in enumerate(segments):
        if current.segments:
            too_big = seg.end - current.start > limit
            if by_paragraph:
                new_paragraph = starts[i]
                fresh = current.end - current.segments[min(carried, len(current.segments) - 1)].start
                cut = new_paragraph or too_big or fresh >= targets[i]
            else:
                # A paragraph break is a better place to cut than mid-paragraph.
                new_paragraph = False
                cut = too_big or (seg.new_block and current.size > limit * 0.6)
            if cut:
                chunks.append(current)
                tail = current.segments[-overlap:] if overlap and len(current.segments) > overlap and not new_paragraph else []
                if tail and (tail[-1].end - tail[0].start > limit // 3 or seg.end - tail[0].start > limit):
                    tail = []
                current = _Chunk(list(tail))
                carried = len(tail)
        current.segments.append(seg)
    if current.segments:
        chunks.append(current)
    return chunks


def _merge_small(chunks: list[_Chunk], cfg: ChunkSettings) -> list[_Chunk]:
    """Slide decks and short sections leave passages of a few words; neighbours under the
    same top-level heading are joined so each passage carries enough to be found."""
    merged: list[_Chunk] = []
    for chunk in chunks:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and (prev.size < cfg.min_chars or chunk.size < cfg.min_chars)
            and prev.end <= chunk.start
            and chunk.end - prev.start <= cfg.chunk_chars
            and prev.segments[0].kind == chunk.segments[0].kind == "body"
            and prev.segments[0].page == chunk.segments[0].page
            and prev.segments[0].section[:1] == chunk.segments[0].section[:1]
        ):
            prev.segments.extend(chunk.segments)
        else:
            merged.append(_Chunk(list(chunk.segments), chunk.lead))
    return merged


def _common_section(chunk: _Chunk) -> tuple[str, ...]:
    paths = [s.section for s in chunk.segments]
    common = paths[0]
    for p in paths[1:]:
        n = 0
        while n < min(len(common), len(p)) and common[n] == p[n]:
            n += 1
        common = common[:n]
    return common


# Display text of a span, by (start, end): token fitting and the final passages clean the same
# spans, and cleaning was the largest cost of reading English text after language detection.
_Cleaned = dict[tuple[int, int], str]


def _to_passage(doc: Document, chunk: _Chunk, ordinal: int, langs: DocumentLanguages | None, cleaned: _Cleaned) -> Passage:
    """``langs`` None: the language is not needed (token counting) and left empty."""
    section_path = _common_section(chunk)
    section = SECTION_SEPARATOR.join(section_path) or None
    context = SECTION_SEPARATOR.join([doc.title, *section_path])
    first = chunk.segments[0]
    header = first.table_header if first.kind == "table" else None
    if header:
        context = f"{context}\n{header}"
    text = cleaned.get((chunk.start, chunk.end))
    if text is None:
        text = cleaned[chunk.start, chunk.end] = clean_text(doc.text[chunk.start : chunk.end])
    return Passage(
        doc_id=doc.doc_id,
        ordinal=ordinal,
        char_start=chunk.start,
        char_end=chunk.end,
        text=text,
        section=section,
        page=doc.page_at(chunk.start),
        lang=langs.tag(text) if langs is not None else "",
        kind="table" if first.kind == "table" else "body",
        context=context,
    )


def _front_matter_chunks(doc: Document, fm: FrontMatter, limit: int, langs: DocumentLanguages) -> list[Passage]:
    """Front matter stays searchable: facts live there (employee counts, dates)."""
    lines = []
    pos = fm.start
    for line in doc.text[fm.start : fm.end].split("\n"):
        if line.strip():
            lines.append((pos, pos + len(line.rstrip())))
        pos += len(line) + 1
    passages: list[Passage] = []
    group: list[tuple[int, int]] = []
    for span in lines + [None]:
        if group and (span is None or span[1] - group[0][0] > limit):
            start, end = group[0][0], group[-1][1]
            text = doc.text[start:end]
            passages.append(
                Passage(doc.doc_id, 0, start, end, text, None, doc.page_at(start), langs.tag(text), "front_matter", f"{doc.title}{SECTION_SEPARATOR}metadata")
            )
            group = []
        if span is not None:
            group.extend(split_long(doc.text, span[0], span[1], limit) if span[1] - span[0] > limit else [span])
    return passages


def chunk_document(
    doc: Document,
    segments: Sequence[Segment],
    cfg: ChunkSettings,
    front_matter: FrontMatter | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[Passage]:
    chunks: list[_Chunk] = []
    for group in _groups(segments):
        by_paragraph = cfg.mode == "paragraph" and group.segments[0].kind == "body"
        limit = cfg.paragraph_chars if by_paragraph else cfg.chunk_chars
        chunks.extend(_pack(group, limit, cfg.overlap_sentences, doc.text, by_paragraph))
    chunks = _merge_small(chunks, cfg)
    cleaned: _Cleaned = {}
    if count_tokens is not None:
        chunks = _fit_tokens(doc, chunks, cfg, count_tokens, cleaned)
    langs = DocumentLanguages(doc.text)
    passages = _front_matter_chunks(doc, front_matter, cfg.chunk_chars, langs) if front_matter else []
    passages += [_to_passage(doc, c, 0, langs, cleaned) for c in chunks]
    return [_renumber(p, i) for i, p in enumerate(passages)]


def _renumber(p: Passage, ordinal: int) -> Passage:
    return Passage(p.doc_id, ordinal, p.char_start, p.char_end, p.text, p.section, p.page, p.lang, p.kind, p.context)


# A subword tokenizer gives at most one token per character of its (NFKC-normalised) input, plus
# a word-start marker and the special tokens; this margin also covers a model's passage prefix.
_TOKEN_MARGIN = 32


def _may_exceed(text: str, max_tokens: int) -> bool:
    """False when ``text`` certainly fits in ``max_tokens``: tokenizing it would be wasted work
    (it was the largest cost of reading English text)."""
    return len(text) * 3 + _TOKEN_MARGIN > max_tokens and len(unicodedata.normalize("NFKC", text)) + _TOKEN_MARGIN > max_tokens


def _fit_tokens(doc: Document, chunks: list[_Chunk], cfg: ChunkSettings, count_tokens: TokenCounter, cleaned: _Cleaned) -> list[_Chunk]:
    """Character limits are a proxy; the embedder's token limit is the rule. A passage over
    it would be truncated silently by the model, so it is re-packed smaller until it fits.
    Only passages long enough to possibly exceed it are tokenized."""
    limit = cfg.paragraph_chars if cfg.mode == "paragraph" else cfg.chunk_chars
    while True:
        texts = [_to_passage(doc, c, 0, None, cleaned).embed_text for c in chunks]
        check = [i for i, t in enumerate(texts) if _may_exceed(t, cfg.max_tokens)]
        counts = count_tokens([texts[i] for i in check]) if check else []
        over = [i for i, n in zip(check, counts) if n > cfg.max_tokens]
        if not over:
            return chunks
        limit = max(16, int(limit * 0.7))
        refit: list[_Chunk] = []
        for i, c in enumerate(chunks):
            refit.extend(_pack(c, limit, 0, doc.text) if i in over else [c])
        chunks = refit
        if limit == 16:
            return chunks
