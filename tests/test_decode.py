"""Each supported encoding decodes to the same Japanese text; undecodable files are named."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from kotae.ingest.decode import DecodeError, decode_bytes
from kotae.ingest.discover import discover

TEXT = "ミストラルAIは欧州のデータ主権を掲げ、2025年9月にシリーズCで€1.7bnを調達した。\n従業員は約350人。\n"
TEXT_NO_EURO = TEXT.replace("€1.7bn", "17億ユーロ")  # Shift_JIS and EUC-JP have no euro sign


@pytest.mark.parametrize(
    "data, encoding, expected",
    [
        (TEXT.encode("utf-8"), "utf-8", TEXT),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig", TEXT),
        (TEXT.encode("utf-16"), "utf-16", TEXT),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16", TEXT),
        (TEXT_NO_EURO.encode("shift_jis"), "shift_jis", TEXT_NO_EURO),
        (TEXT_NO_EURO.encode("cp932"), "shift_jis", TEXT_NO_EURO),
        (TEXT_NO_EURO.encode("euc_jp"), "euc-jp", TEXT_NO_EURO),
    ],
)
def test_encodings(data, encoding, expected):
    decoded = decode_bytes(data)
    assert decoded.encoding == encoding
    assert decoded.text == expected


def test_binary_is_rejected_with_a_reason():
    with pytest.raises(DecodeError, match="binary"):
        decode_bytes(bytes(range(256)) * 4)


def test_a_stray_invalid_byte_is_replaced_and_reported():
    data = ("データ主権。" * 400).encode("utf-8") + b"\xff" + "終わり。".encode("utf-8")
    decoded = decode_bytes(data)
    assert decoded.text.endswith("\ufffd終わり。")
    assert "1 invalid" in decoded.warning


def test_discover_ids_are_relative_posix_paths(tmp_path: Path):
    (tmp_path / "reports" / "2026").mkdir(parents=True)
    (tmp_path / "reports" / "2026" / "q3.md").write_text("# Q3\n\n本文。")
    (tmp_path / "a.txt").write_text("本文。")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "outside").symlink_to("/etc/hostname")
    (tmp_path / "link.txt").symlink_to("/etc/hostname")
    (tmp_path / "reports" / "loop").symlink_to(tmp_path / "reports")
    found, skipped = discover(tmp_path)
    assert [f.doc_id for f in found] == ["a.txt", "reports/2026/q3.md"]
    assert [s.doc_id for s in skipped] == ["link.txt"]
    assert "outside the corpus" in skipped[0].reason
