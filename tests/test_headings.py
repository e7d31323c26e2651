"""A heading is never quoted alone (issue 11): not a Markdown sub-heading inside a passage, not a
line bold as a whole, not the short line a PDF shows over its text. "What is X?" / 「Xとは？」 is
answered by what heading X introduces, and /v1/search's highlight is the span /v1/ask quotes.
Small corpora made here; the end-to-end tests use the real default model."""

from __future__ import annotations

import asyncio
import re
import unicodedata

import pytest

from kotae.index.headings import DocumentHeadings, passage_headings, structure_headings
from kotae.index.highlight import answer_units, clean_sentence
from kotae.ingest.chunk import ChunkSettings
from kotae.ingest.discover import SourceFile
from kotae.ingest.read import read_document

# A slide deck in Markdown: a section whose sub-headings ("## Step 1: …") end up inside one
# passage, where they read like a "key: value" line (corpus/001_56ffd51338effe2f.txt).
FORGE = """# 「モデルの完全所有」への転換：Hayabusa Forge

## Step 1: Proprietary Data

企業独自のデータ  
機密情報と性能要件の準備

## Step 2: Deep Training

Hayabusaの基盤からの  
深層訓練またはゼロからの構築

## Step 3: Transfer of Weights

重みと所有権の完全移転  
恒久的なライセンスが顧客へ譲渡される
"""

TEAM = """# Kestrel Labs の経営陣

Kestrel Labs は 2021 年に大阪で設立された。

**Aiko Tanaka（CTO・共同創業者）**
- 元Osaka AI Lab研究者
- 分散学習の専門家

**Ren Sato（CEO・共同創業者）**
- 元商社勤務
- 事業開発を担当
"""

HEADINGS = {"Step 1: Proprietary Data", "Step 2: Deep Training", "Step 3: Transfer of Weights",
            "Aiko Tanaka（CTO・共同創業者）", "Ren Sato（CEO・共同創業者）", "料金体系"}


def _read(name: str, text: str, kind: str = "markdown"):
    return read_document(SourceFile(name, None, kind), text.encode(), ChunkSettings())


class _Backend:
    def __init__(self, *docs):
        self.docs = {d.doc_id: d for d in docs}
        self.reads = 0

    def document(self, doc_id):
        self.reads += 1
        return self.docs.get(doc_id)


def test_sub_headings_inside_a_passage_are_found_in_the_stored_document():
    read = _read("forge.md", FORGE)
    backend = _Backend(read.document)
    headings = DocumentHeadings(backend)
    found = set().union(*(headings.of(p) for p in read.passages))
    assert {"Step 1: Proprietary Data", "Step 2: Deep Training", "Step 3: Transfer of Weights"} <= found
    # once per document and passage: asked again, nothing is read
    reads = backend.reads
    for p in read.passages:
        headings.of(p)
    assert backend.reads == reads


def test_bold_lines_plain_text_headings_and_not_front_matter_comments():
    md = _read("team.md", "---\ntitle: Team\n# a YAML comment\n---\n" + TEAM)
    found = set().union(*(DocumentHeadings(_Backend(md.document)).of(p) for p in md.passages))
    assert {"Aiko Tanaka（CTO・共同創業者）", "Ren Sato（CEO・共同創業者）"} <= found
    assert "a YAML comment" not in found
    plain = _read("notes.txt", "Overview\n\nThe service sorts parcels in warehouses.\n\nPricing\n\nLicences are sold per site.\n", "text")
    assert structure_headings(plain.document)[2] == ["Overview", "Pricing"]


def test_a_short_line_a_pdf_shows_over_its_sentence_is_a_heading():
    # text as pypdf extracts it: no blank lines, pages joined by form feeds
    text = "Kumo Engine は勤務表を作るシステムで、看護師の希望から自動で割り当てる。\f料金体系\nライセンスは病棟ごとに年単位で販売されており、契約は毎年四月に更新される。"
    from kotae.ingest.document import Document

    doc = Document("kumo.pdf", text, "kumo", "pdf", "pdf", "x", page_starts=(0, text.index("\f") + 1))
    start = text.index("料金体系")
    assert passage_headings(doc, start, len(text), structure_headings(doc)) == {"料金体系"}


def test_a_heading_reads_with_the_first_unit_under_it_and_never_alone():
    text = "Overview: pricing\nLicences are sold per ward and per year.\nKumo Engine\nKumo Engine is a scheduling system.\nRoadmap"
    units = answer_units(text, "Doc", frozenset({"Overview: pricing", "Kumo Engine", "Roadmap"}))
    shown = [u.text for u in units]
    # a heading that looks like a "key: value" line is no field, and reads with what it heads
    assert "overview: pricing" not in shown and "Overview: pricing" not in shown
    assert "Overview: pricing — Licences are sold per ward and per year." in shown
    # the unit under "Kumo Engine" names it already; "Roadmap" heads nothing in this passage
    assert "Kumo Engine" not in shown and "Roadmap" not in shown
    joined = next(u for u in units if u.text.startswith("Overview"))
    assert text[joined.start:joined.end] == "Overview: pricing\nLicences are sold per ward and per year."
    assert joined.own == "Overview: pricing"  # scored on its own words, as the label it was


# -- end to end ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, model_cache):
    from tests.conftest import small_corpus_retriever

    files: dict[str, str | bytes] = {"forge.md": FORGE, "team.md": TEAM}
    pdf = _pricing_pdf()
    if pdf is not None:
        files["pricing.pdf"] = pdf
    return small_corpus_retriever(tmp_path_factory.mktemp("headings"), files, model_cache)


def _pricing_pdf() -> bytes | None:
    """A two-page PDF made by a real tool (fpdf2 with Debian's IPA Gothic font), or None without the font."""
    from tests.test_pdf import FONT

    if FONT is None:
        return None
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("IPAGothic", fname=str(FONT))
    pdf.set_font("IPAGothic", size=12)
    pdf.add_page()
    pdf.cell(0, 8, "Kumo Engine は勤務表を作るシステムで、看護師の希望から自動で割り当てる。", new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    for line in ("料金体系", "ライセンスは病棟ごとに年単位で販売されており、契約は毎年四月に更新される。"):
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def ask(retriever, question: str):
    from kotae.service.answer import answer_question

    result = retriever.search(question, k=5)
    return result, asyncio.run(answer_question(question, result))


def quotes(body: str) -> list[str]:
    return [q.strip() for q in re.split(r"\[\d+\]", body) if q.strip()]


def _squash(text: str) -> str:
    return re.sub(r"[\s—]+", "", unicodedata.normalize("NFKC", text))


QUESTIONS = ("Hayabusa Forgeとは何ですか？", "What is Hayabusa Forge?", "Kestrel LabsのCTOは誰？", "Who is the CEO of Kestrel Labs?", "料金体系とは？")


@pytest.mark.parametrize("question", QUESTIONS)
def test_no_heading_is_quoted_alone_nor_highlighted_alone(retriever, question):
    result, a = ask(retriever, question)
    assert a.found and a.citations, a.text
    assert not set(quotes(a.body)) & HEADINGS, a.body
    for hit in result.hits:
        assert clean_sentence(hit.text[slice(*hit.highlight)]) not in HEADINGS, (question, hit.text)


def test_what_is_x_quotes_what_heading_x_introduces(retriever):
    _, a = ask(retriever, "料金体系とは？")
    if not any(c["doc_id"] == "pricing.pdf" for c in a.citations):
        pytest.skip("needs Debian fonts-ipafont-gothic to make the PDF")
    assert quotes(a.body)[0] == "料金体系 — ライセンスは病棟ごとに年単位で販売されており、契約は毎年四月に更新される。", a.body


def test_a_heading_that_holds_the_answer_is_quoted_with_what_it_heads(retriever):
    _, a = ask(retriever, "Kestrel LabsのCTOは誰？")
    assert quotes(a.body)[0] == "Aiko Tanaka（CTO・共同創業者） — 元Osaka AI Lab研究者", a.body


@pytest.mark.parametrize("question", QUESTIONS)
def test_search_highlight_is_the_span_the_answer_quotes(retriever, question):
    result, a = ask(retriever, question)
    by_row = {(h.doc_id, h.char_start): h for h in result.hits}
    for c in a.citations:
        hit = by_row[(c["doc_id"], c["char_start"])]
        assert tuple(c["highlight"]) == hit.highlight, question
    first = a.citations[0]
    hit = by_row[(first["doc_id"], first["char_start"])]
    assert _squash(quotes(a.body)[0]) == _squash(clean_sentence(hit.text[slice(*hit.highlight)], None)), a.body


@pytest.mark.parametrize("first, kept", [
    ("サクラロボティクスは2019年に京都で設立された。", True),
    ("Sakura Robotics was founded in 2019 in Kyoto by Aiko Tanaka.", True),
    ("Chapter 8. Basic Configuration: Network, Accounts, Printing.", False),
    ("2.4. Why the Debian Distribution?", False),
])
def test_a_first_line_taken_as_the_title_is_quoted_when_it_states_something(first, kept):
    """A note without a heading gets its first line as its title; when that line is a sentence
    (the issue's uploaded note: 「サクラロボティクスは2019年に京都で設立された。」) it is still a unit,
    or "When was Sakura Robotics founded?" was answered with the note's second sentence."""
    doc = _read("note.md", f"{first}\n\nIts first product is a warehouse robot.\n").document
    assert doc.title == first
    units = answer_units(f"{first}\nIts first product is a warehouse robot.", f"{doc.title} › {doc.title}")
    assert (first in [u.text for u in units]) == kept
