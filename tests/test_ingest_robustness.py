"""One test per robustness fix in ingest (each fails without its fix), and the document-id
validator shared with the HTTP service."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_embedder import FakeEmbedder, fake_build_config  # noqa: E402
from hostile_corpus import FONT, bomb_pdf, fpdf_pdf, no_tounicode_pdf, token_bomb_pdf  # noqa: E402

from kotae.index.backends.local import LocalBackend  # noqa: E402
from kotae.index.build import ingest  # noqa: E402
from kotae.ingest.chunk import ChunkSettings  # noqa: E402
from kotae.ingest.decode import decode_bytes  # noqa: E402
from kotae.ingest.discover import SourceFile, discover  # noqa: E402
from kotae.ingest.docid import resolve_doc_path, validate_doc_id  # noqa: E402
from kotae.ingest.frontmatter import split_front_matter  # noqa: E402
from kotae.ingest.pdf import PdfLimits, extract_pdf  # noqa: E402
from kotae.ingest.quality import garbage_reason  # noqa: E402
from kotae.ingest.read import IngestError, ReadLimits, read_document  # noqa: E402


def _read_pdf(data: bytes, limits: ReadLimits | None = None):
    return read_document(SourceFile("x.pdf", None, "pdf"), data, ChunkSettings(), limits=limits)


# --- PDFs ---------------------------------------------------------------------------------

def test_decompression_bomb_is_a_reason_not_a_crash():
    # pypdf's LimitReachedError is not a PdfReadError: it used to escape and stop the ingest
    with pytest.raises(IngestError, match="broken PDF"):
        _read_pdf(bomb_pdf(100))


def test_content_stream_token_bomb_is_bounded():
    import time

    started = time.perf_counter()
    with pytest.raises(IngestError, match="broken PDF"):
        _read_pdf(token_bomb_pdf())
    assert time.perf_counter() - started < 15  # 2M tokens (pypdf's default) took over 20 s


@pytest.mark.skipif(FONT is None, reason="needs Debian fonts-ipafont-gothic (make system-deps)")
def test_font_without_unicode_map_is_detected_not_indexed():
    with pytest.raises(IngestError, match="unreadable.*Unicode map"):
        _read_pdf(no_tounicode_pdf())


def test_only_the_garbage_pages_are_left_out(monkeypatch):
    import pypdf

    good = fpdf_pdf([["The pangolin report, page one, is ordinary English text for reading."],
                     ["Page two is replaced by garbage below."],
                     ["Page three talks about pangolin scales and their keratin."]])
    real = pypdf.PageObject.extract_text

    def fake(self, *a, **k):
        text = real(self, *a, **k)
        return "\x01\x02\x03\ue000\ue001" * 20 if "garbage" in text else text

    monkeypatch.setattr(pypdf.PageObject, "extract_text", fake)
    pdf = extract_pdf(good)
    assert "pangolin scales" in pdf.text and "\x01" not in pdf.text
    assert pdf.text.count("\f") == 2  # page numbering kept
    assert any("page(s) 2 left out" in w for w in pdf.warnings)


def test_one_broken_page_costs_only_that_page(monkeypatch):
    import pypdf

    good = fpdf_pdf([["First page about the axolotl tank."], ["Second page breaks."], ["Third page about axolotl food."]])
    real = pypdf.PageObject.extract_text

    def fake(self, *a, **k):
        text = real(self, *a, **k)
        if "breaks" in text:
            raise RecursionError("maximum recursion depth exceeded")
        return text

    monkeypatch.setattr(pypdf.PageObject, "extract_text", fake)
    pdf = extract_pdf(good)
    assert "axolotl food" in pdf.text
    assert any("page 2 could not be read" in w for w in pdf.warnings)


def test_pdf_text_caps():
    pages = [["walrus " * 60] for _ in range(5)]
    pdf = extract_pdf(fpdf_pdf(pages), limits=PdfLimits(max_page_chars=100, max_chars=250))
    assert len(pdf.text.split("\f")) == 3
    assert all(len(t) <= 100 for t in pdf.text.split("\f"))
    assert any("text limit" in w for w in pdf.warnings) and any("cut at 100" in w for w in pdf.warnings)


def test_pdf_time_budget():
    pdf = extract_pdf(fpdf_pdf([["page of the dugong handbook"]] * 20), limits=PdfLimits(seconds=0.0))
    assert any("reading stopped after" in w for w in pdf.warnings)


@pytest.mark.parametrize("text", [
    "ordinary English text about the quarterly revenue of the cooperative, nothing unusual here at all.",
    "水車発電機の点検は毎月一回行う。潤滑油は四百時間ごとに交換する。点検結果は記録簿に書く。" * 2,
    "| 時期 | 従業員数 | 増減 |\n|-----|---------|------|\n| 2024年初期 | 35人 | - |\n| 2025年9月 | 350人 | **900%成長** |",
    "| Quarter | Revenue | Growth |\n|---|---|---|\n| Q1 | 1,200 | 3.5% |\n| Q2 | 1,350 | 12.5% |\n| Q3 | 1,410 | 4.4% |",
])
def test_real_text_is_not_garbage(text):
    assert garbage_reason(text) is None


@pytest.mark.parametrize("text", [
    "\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x03\x14\x15\x14\x16\x14\x17\x10\x06\x18\t\n\x0b\n\x19\x1a\x1b !\"#$%&'" * 2,
    "\ue000\ue001\ue002\ue003 " * 20,
    "3$45 )*+, $-# .%&/ 012 3$45 6$7 89:; <=>? @#$% ^&*( 3$45 )*+, $-#",
    "Qzx Vbnm Kqwr Xzpl Wvbn Tkxz Pqrs Brtz Cvxz Hjkl Mnbv Zxcv Lkjh Gfds",
])
def test_glyph_id_soup_is_garbage(text):
    assert garbage_reason(text)


# --- text, front matter, file names, sizes ----------------------------------------------

def test_stray_invalid_bytes_in_utf8_are_not_taken_for_shift_jis():
    # mostly ASCII plus 0xFF 0xFE 0x80 decodes "cleanly" as CP932, into private-use characters
    data = ("The narwhal observation log for the northern station. " * 100).encode() + b"\xff\xfe\x80 end."
    decoded = decode_bytes(data)
    assert decoded.encoding == "utf-8"
    assert "invalid UTF-8" in decoded.warning
    assert "\uf8f3" not in decoded.text


def test_yaml_alias_bomb_under_the_alias_count_is_not_expanded():
    fm = "---\na: &a [x,x,x,x,x,x]\n"
    for prev, name in zip("abcdefg", "bcdefgh"):
        fm += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 6) + "]\n"
    parsed = split_front_matter(fm + "---\nbody\n")
    assert parsed.metadata == {}
    assert "expands to more than" in parsed.error


def test_undecodable_and_control_character_file_names_are_reported(tmp_path: Path):
    (tmp_path / "fine.txt").write_text("fine")
    with open(bytes(tmp_path) + b"/caf\xe9.txt", "wb") as f:
        f.write(b"latin-1 name")
    (tmp_path / "tab\there.md").write_text("tab")
    found, skipped = discover(tmp_path)
    assert [f.doc_id for f in found] == ["fine.txt"]
    reasons = {s.doc_id: s.reason for s in skipped}
    assert "not valid Unicode" in reasons["caf\\xe9.txt"]
    assert "control characters" in reasons["tab\\u0009here.md"]
    for doc_id in reasons:  # printable, storable ids (a lone surrogate used to crash SQLite/JSON)
        doc_id.encode("utf-8")


def test_an_undecodable_file_name_does_not_stop_the_ingest(tmp_path: Path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("The quokka census is ordinary text.\n")
    with open(bytes(corpus) + b"/\x82\xa0.txt", "wb") as f:  # a Shift_JIS file name
        f.write(b"The quokka name is not UTF-8.\n")
    report = ingest(corpus, LocalBackend(tmp_path / "i"), FakeEmbedder, "fake", fake_build_config(), progress=False)
    assert [f.status for f in report.files] == ["skipped", "indexed"]


def test_an_unexpected_error_in_one_file_is_that_file_only(tmp_path: Path, monkeypatch):
    import kotae.index.build as build

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The first file is fine.\n")
    (corpus / "b.txt").write_text("The second file triggers a bug.\n")
    real = build.read_document

    def flaky(source, *a, **k):
        if source.doc_id == "b.txt":
            raise MemoryError("simulated")
        return real(source, *a, **k)

    monkeypatch.setattr(build, "read_document", flaky)
    report = ingest(corpus, LocalBackend(tmp_path / "i"), FakeEmbedder, "fake", fake_build_config(), progress=False)
    status = {f.doc_id: (f.status, f.reason) for f in report.files}
    assert status["a.txt"][0] == "indexed"
    assert status["b.txt"] == ("skipped", "could not be read (unexpected MemoryError: simulated)")


def test_files_above_the_size_cap_are_not_read(tmp_path: Path, monkeypatch):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "big.txt").write_bytes(b"x " * 600)
    (corpus / "small.txt").write_text("small file text.\n")
    opened = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: opened.append(self.name) or real(self))
    cfg = fake_build_config(ReadLimits(max_text_bytes=1000))
    report = ingest(corpus, LocalBackend(tmp_path / "i"), FakeEmbedder, "fake", cfg, progress=False)
    big = next(f for f in report.files if f.doc_id == "big.txt")
    assert big.status == "skipped" and "above the 0.001 MB limit" in big.reason and "KOTAE_MAX_TEXT_MB" in big.reason
    assert "big.txt" not in opened


def test_large_files_show_progress(tmp_path: Path, capsys, monkeypatch):
    import kotae.index.build as build

    monkeypatch.setattr(build, "LARGE_FILE_BYTES", 100_000)
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "large.txt").write_text("鯨の観察記録。" * 8_000)  # 168 kB of Japanese (no langdetect)
    report = ingest(corpus, LocalBackend(tmp_path / "i"), FakeEmbedder, "fake", fake_build_config(), progress=True)
    assert report.files[0].status == "indexed"
    err = capsys.readouterr().err
    assert "reading large.txt (0.2 MB)" in err and "embedding" in err


# --- document ids ---------------------------------------------------------------------------

@pytest.mark.parametrize("doc_id", [
    "a.txt", "reports/2026/q3.pdf", "name with spaces.txt", "日本語/議事録 第3回.md", "dots..in..name.txt",
])
def test_valid_doc_ids(doc_id):
    assert validate_doc_id(doc_id) == doc_id


@pytest.mark.parametrize("doc_id, message", [
    ("", "empty"),
    ("../etc/passwd", r"'\.\.'"),
    ("a/../../b.txt", r"'\.\.'"),
    ("a/./b.txt", r"'\.'"),
    ("..leading.txt", "hidden"),
    ("a/.b/c.md", "hidden"),
    ("/etc/passwd", "absolute"),
    ("C:/Windows/win.ini", "absolute"),
    ("..\\..\\secret.txt", "backslash"),
    ("a.txt\x00.pdf", "NUL"),
    ("a\nb.txt", "control"),
    ("a//b.txt", "empty path segment"),
    ("dir/", "empty path segment"),
    ("\udce9.txt", "not valid Unicode"),
    ("x" * 2000, "longer than"),
    ("a/" + "y" * 300 + ".txt", "segment longer"),
    (None, "string"),
    (42, "string"),
])
def test_unsafe_doc_ids_are_refused(doc_id, message):
    with pytest.raises(ValueError, match=message):
        validate_doc_id(doc_id)


def test_resolve_doc_path_stays_inside_the_corpus(tmp_path: Path):
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "a.txt").write_text("a")
    (tmp_path / "secret.txt").write_text("secret")
    (corpus / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert resolve_doc_path(corpus, "sub/a.txt") == (corpus / "sub" / "a.txt").resolve()
    with pytest.raises(ValueError, match="outside the corpus"):
        resolve_doc_path(corpus, "link.txt")
    with pytest.raises(ValueError):
        resolve_doc_path(corpus, "../secret.txt")
