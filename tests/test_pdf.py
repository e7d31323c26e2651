"""Japanese PDFs made here by a real tool (fpdf2 with Debian's IPA Gothic font)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kotae.ingest.chunk import ChunkSettings
from kotae.ingest.discover import SourceFile
from kotae.ingest.read import IngestError, read_document

FONT_CANDIDATES = [
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
]
FONT = next((p for p in FONT_CANDIDATES if p.exists()), None)
pytestmark = pytest.mark.skipif(FONT is None, reason="needs Debian fonts-ipafont-gothic (make system-deps)")

PAGES = [
    ["Mistral AI 調査報告書", "本報告は欧州AIの現状を整理する。"],
    ["資金調達", "2025年9月のシリーズCでは、ASMLが主導して17億ユーロを調達した。", "評価額は117億ユーロである。"],
    ["顧客総数:", "450,000社", "100社以上の", "大規模エンタープライズ", "と直接契約"],
]


def make_pdf(pages: list[list[str]]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("IPAGothic", fname=str(FONT))
    pdf.set_font("IPAGothic", size=14)
    pdf.set_title("欧州AIレポート")
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _read(data: bytes):
    return read_document(SourceFile("report.pdf", None, "pdf"), data, ChunkSettings(chunk_chars=400, min_chars=40))


def test_japanese_pdf_text_pages_and_offsets():
    read = _read(make_pdf(PAGES))
    doc = read.document
    assert doc.title == "欧州AIレポート"
    assert doc.text.count("\f") == 2
    by_fact = {p.page: p for p in read.passages}
    assert set(by_fact) == {1, 2, 3}
    funding = next(p for p in read.passages if "ASML" in p.text)
    assert funding.page == 2
    assert "シリーズCでは、ASMLが主導して17億ユーロを調達した。" in funding.text
    # offsets index the concatenated extracted text, pages joined by form feeds
    source = doc.text[funding.char_start : funding.char_end]
    assert "ASMLが主導" in source and "\f" not in source
    assert doc.text[: funding.char_start].count("\f") == 1


def test_slide_lines_from_a_pdf_are_joined():
    read = _read(make_pdf(PAGES))
    slide = next(p for p in read.passages if p.page == 3)
    assert "100社以上の大規模エンタープライズと直接契約" in slide.text


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"%PDF-1.7\n1 0 obj <<", "broken PDF|no text layer"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not a PDF"),
    ],
)
def test_malformed_pdfs_are_reported(data, reason):
    with pytest.raises(IngestError, match=reason):
        _read(data)


def test_truncated_pdf_is_reported():
    data = make_pdf(PAGES)
    with pytest.raises(IngestError, match="broken PDF|no text layer"):
        _read(data[: len(data) // 3])
