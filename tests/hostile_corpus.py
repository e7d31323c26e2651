"""A corpus of hostile and broken files, generated into a temporary folder (nothing binary is
committed). `build_hostile_corpus(root)` writes it and returns what kotae must do with each
file: `Expect(status, reason-regex, phrase-that-must-be-searchable)`.

Shared by tests/test_hostile.py (the whole ingest pipeline) and tests/test_crash.py.
"""

from __future__ import annotations

import io
import os
import random
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

FONT_CANDIDATES = [
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
]
FONT = next((p for p in FONT_CANDIDATES if p.exists()), None)


@dataclass(frozen=True)
class Expect:
    status: str  # "indexed" or "skipped"
    reason: str = ""  # regex the skip reason (or a warning, for indexed files) must match
    phrase: str | None = None  # a keyword search for this must find the file
    warning: str | None = None  # regex one of the file's warnings must match


GOOD_EN = (
    "# Turbine maintenance\n\n"
    "The zephyrine turbine needs an oil change every 400 hours of operation. "
    "Inspect the blades for cracks before each start. Record every inspection in the logbook.\n"
)
GOOD_JA = "# 保守手順\n\n水車発電機の点検は毎月一回行う。潤滑油は四百時間ごとに交換する。点検結果は記録簿に書く。\n"


# --- PDFs -------------------------------------------------------------------------------

def fpdf_pdf(pages: list[list[str]], title: str | None = None, cjk: bool = False) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if cjk:
        pdf.add_font("IPAGothic", fname=str(FONT))
        pdf.set_font("IPAGothic", size=12)
    else:
        pdf.set_font("Helvetica", size=12)
    if title:
        pdf.set_title(title)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def raw_pdf(contents: list[bytes], flate: bool = True, n_pages: int | None = None, compressed: bool = False) -> bytes:
    """A minimal hand-written PDF: one Helvetica font, one content stream per entry of
    `contents` (or `n_pages` pages all sharing the first stream)."""
    n_pages = n_pages or len(contents)
    objs: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    first_page = 4 + len(contents)
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(n_pages))
    objs.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n_pages))
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for c in contents:
        body = zlib.compress(c, 9) if flate and not compressed else c
        objs.append(b"<< /Length %d%s >>\nstream\n" % (len(body), b" /Filter /FlateDecode" if flate else b"") + body + b"\nendstream")
    for i in range(n_pages):
        stream = 4 + (i if len(contents) > 1 else 0)
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                    b"/Resources << /Font << /F1 3 0 R >> >> >>" % stream)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def _flate_bomb(chunk: bytes, repeat: int) -> bytes:
    """A FlateDecode stream of len(chunk) * repeat bytes, compressed without holding it."""
    c = zlib.compressobj(9)
    parts = [c.compress(chunk) for _ in range(repeat)]
    parts.append(c.flush())
    return b"".join(parts)


def bomb_pdf(uncompressed_mb: int = 200) -> bytes:
    """One page whose content stream inflates to `uncompressed_mb` MB of blanks."""
    return raw_pdf([_flate_bomb(b" " * 1_000_000, uncompressed_mb)], compressed=True)


def token_bomb_pdf(ops: int = 400_000) -> bytes:
    """One small page (tens of KB) whose content stream holds `ops` text operators."""
    return raw_pdf([b"BT /F1 12 Tf 72 700 Td (Lorem ipsum dolor sit amet) Tj ET\n" * ops])


def many_pages_pdf(pages: int) -> bytes:
    text = b"BT /F1 12 Tf 72 700 Td (The hydraulic press manual repeats on every page.) Tj ET"
    return raw_pdf([text], n_pages=pages)


def encrypted_pdf(user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(fpdf_pdf([["The quarterly bulletin of the xylophone guild."]]))))
    # RC4 needs no optional crypto dependency
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scanned_pdf() -> bytes:
    """A page that is only an image, like a scan without OCR."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (400, 200), "white")
    ImageDraw.Draw(img).text((10, 80), "SCANNED PAGE", fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buf.getvalue()), x=10, y=10, w=180)
    return bytes(pdf.output())


def no_tounicode_pdf() -> bytes:
    """An embedded CID font without its /ToUnicode map: extraction yields glyph ids."""
    data = fpdf_pdf([["これはテスト文書です。東京タワーの高さは三百三十三メートルです。",
                      "The quick brown fox jumps over the lazy dog again and again."]], cjk=True)
    stripped, n = re.subn(rb"/ToUnicode \d+ 0 R", lambda m: b" " * len(m.group()), data)
    assert n >= 1
    return stripped


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buf, format="PNG")
    return buf.getvalue()


# --- the corpus -------------------------------------------------------------------------

BIG_FILE_BYTES = 50_000_000


def build_hostile_corpus(root: Path, big_file: bool = True) -> dict[str, Expect]:
    """Write the hostile corpus under `root` (created) and return doc_id -> Expect.
    `root/../outside/` receives the target of the escaping symlink."""
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    expect: dict[str, Expect] = {}

    def put(doc_id: str, data: bytes | str, exp: Expect) -> None:
        path = root / doc_id
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        expect[doc_id] = exp

    # good files, which must stay searchable whatever happens around them
    put("good/turbine.md", GOOD_EN, Expect("indexed", phrase="zephyrine turbine"))
    put("good/保守.txt", GOOD_JA, Expect("indexed", phrase="水車発電機"))
    put("good/manual.pdf", fpdf_pdf([["Hydrogen valve manual"], ["Close the quokka valve before refuelling the tank."]], title="Valve manual"),
        Expect("indexed", phrase="quokka valve"))

    # 1-3: nothing or not text
    put("empty.txt", b"", Expect("skipped", r"is empty"))
    put("whitespace.md", " \n\t\r\n\u3000\n".encode("utf-8") + b"   \n", Expect("skipped", r"white space|is empty"))
    put("binary.txt", bytes(rng.getrandbits(8) for _ in range(4096)), Expect("skipped", r"binary|not valid"))
    # 4-10: PDFs
    put("image.pdf", png_bytes(), Expect("skipped", r"not a PDF"))
    good_pdf = fpdf_pdf([["A report on the walrus census."], ["Second page about walrus counts."]])
    put("truncated.pdf", good_pdf[: len(good_pdf) // 2], Expect("skipped", r"broken PDF|no text layer"))
    put("encrypted-empty-password.pdf", encrypted_pdf(""), Expect("indexed", phrase="xylophone guild"))
    put("encrypted-password.pdf", encrypted_pdf("s3cret"), Expect("skipped", r"encrypted PDF that needs a password"))
    put("scanned.pdf", scanned_pdf(), Expect("skipped", r"no text layer"))
    if FONT is not None:
        put("no-tounicode.pdf", no_tounicode_pdf(), Expect("skipped", r"unreadable .*Unicode map"))
    put("many-pages.pdf", many_pages_pdf(3000), Expect("indexed", phrase="hydraulic press", warning=r"only the first 100 of 3000 pages"))
    put("zip-bomb.pdf", bomb_pdf(100), Expect("skipped", r"broken PDF|no text layer"))
    put("token-bomb.pdf", token_bomb_pdf(), Expect("skipped", r"broken PDF|no text layer"))
    # 11-14: encodings
    put("legacy/shift_jis.txt", "# 取扱説明\n\n蒸気機関車の運転台では安全確認を行う。\n".encode("cp932"), Expect("indexed", phrase="蒸気機関車"))
    put("legacy/euc-jp.txt", "# 議事録\n\n図書館の開館時間は午前九時からです。\n".encode("euc_jp"), Expect("indexed", phrase="図書館"))
    put("legacy/utf16.txt", "# Memo\n\nThe albatross migration report is due on Friday.\n".encode("utf-16"), Expect("indexed", phrase="albatross"))
    invalid = ("The narwhal observation log for the northern station. " * 100).encode() + b"\xff\xfe\x80" + b" More narwhal notes.\n"
    put("invalid-utf8.txt", invalid, Expect("indexed", phrase="narwhal observation", warning=r"invalid UTF-8"))
    # 15-16: sizes and shapes
    if big_file:
        path = root / "huge.txt"
        line = b"A line of the gigantic server log with nothing interesting in it at all.\n"
        with open(path, "wb") as f:
            f.truncate(0)
            block = line * (1_000_000 // len(line) + 1)
            written = 0
            while written < BIG_FILE_BYTES:
                f.write(block)
                written += len(block)
        expect["huge.txt"] = Expect("skipped", r"above the 20 MB limit .*KOTAE_MAX_TEXT_MB")
    words = "the of and to in is that it was for on are with as his they at be this from have or by one had not but what all were when we there can an your which their said if do will each about how up out them then she many some so these would other into has more her two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know get through back much before go good new write our used me man too any day same right look think also around another came come work three word must because does part even place well such here take why things help put years different away again off went old number".split()
    long_line = " ".join(rng.choice(words) for _ in range(20_000)) + " capybara " + " ".join(rng.choice(words) for _ in range(4000))  # ~120 KB, no sentence end, no newline
    put("long-line.txt", long_line, Expect("indexed", phrase="capybara"))
    put("long-line-ja.txt", "鯨" + "の観察記録と海洋調査" * 20_000, Expect("indexed", phrase="海洋調査"))
    # 17-18: front matter
    put("frontmatter-malformed.md", "---\ntitle: [unclosed\nauthor: 'Kim\n  : - bad\n---\n# Heron study\n\nThe grey heron nests near the river.\n",
        Expect("indexed", phrase="grey heron", warning=r"malformed YAML"))
    bomb = "---\n" + "a: &a [" + ",".join(["lol"] * 9) + "]\n"
    for i, name in enumerate("bcdefghi"):
        prev = "a" if i == 0 else "bcdefghi"[i - 1]
        bomb += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    bomb += "---\n# Pelican notes\n\nThe pelican colony grew this year.\n"
    put("yaml-bomb.md", bomb, Expect("indexed", phrase="pelican colony", warning=r"aliases"))
    # under the alias-count guard, yet 6^8 nodes once expanded
    narrow = "---\n" + "a: &a [x,x,x,x,x,x]\n"
    for prev, name in zip("abcdefg", "bcdefgh"):
        narrow += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 6) + "]\n"
    narrow += "---\n# Egret notes\n\nThe egret colony moved upstream.\n"
    put("yaml-bomb-narrow.md", narrow, Expect("indexed", phrase="egret colony", warning=r"expands to more than"))
    put("frontmatter-huge.md", "---\n" + "k: " + "x" * 100_000 + "\n---\nThe ibis report.\n" * 3, Expect("indexed", phrase="ibis report", warning=r"64 KiB"))
    # 19-20: links
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_text("The launch code of the outside world is swordfish.\n")
    os.symlink(outside / "secret.txt", root / "escape.txt")
    expect["escape.txt"] = Expect("skipped", r"outside the corpus")
    os.symlink(outside, root / "escape-dir")  # a directory link out: not walked at all
    (root / "loop").mkdir()
    os.symlink("..", root / "loop" / "parent")  # a loop back to the corpus root
    os.symlink("self.txt", root / "loop" / "self.txt")  # a link to itself
    expect["loop/self.txt"] = Expect("skipped", r"broken or looping")
    os.symlink("nowhere.md", root / "dangling.md")
    expect["dangling.md"] = Expect("skipped", r"broken or looping")
    os.symlink("good/turbine.md", root / "inside-link.md")  # stays inside: followed
    expect["inside-link.md"] = Expect("indexed", phrase="zephyrine turbine")
    # 21-23: names
    put("name with spaces.txt", "The okapi enclosure opens at noon.\n", Expect("indexed", phrase="okapi enclosure"))
    put("日本語の名前/議事録 第3回.md", "# 第3回\n\n竹林の整備について話し合った。\n", Expect("indexed", phrase="竹林の整備"))
    put("dots..in..name.txt", "The tapir feeding schedule changed.\n", Expect("indexed", phrase="tapir feeding"))
    put("..double-dot-start.txt", "Hidden by its leading dot.\n", Expect("hidden"))
    bad_name = root.as_posix().encode() + b"/latin1-\xe9t\xe9.txt"  # not UTF-8: e.g. from an old zip
    with open(bad_name, "wb") as f:
        f.write(b"The marmot survey.\n")
    expect["latin1-\\xe9t\\xe9.txt"] = Expect("skipped", r"not valid Unicode")
    put("new\nline.txt", "The lemur notes.\n", Expect("skipped", r"control characters"))
    expect["new\\u000aline.txt"] = expect.pop("new\nline.txt")
    # 24-26: more oddities
    (root / "folder.txt").mkdir()  # a directory with a document suffix: not a document
    os.mkfifo(root / "fifo.txt")  # reading would block forever: not a regular file, never opened
    put("nul-in-text.md", b"Some text\x00with NUL bytes\x00inside.", Expect("skipped", r"binary"))
    put("controls.txt", ("ok " + "\x01\x02\x03\x04" * 200).encode(), Expect("skipped", r"binary"))
    put("UPPER.PDF", fpdf_pdf([["The Upper case suffix of the marzipan PDF."]]), Expect("indexed", phrase="marzipan"))
    return expect
