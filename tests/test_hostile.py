"""The hostile corpus (tests/hostile_corpus.py) through the whole ingest pipeline: ingest
finishes, every file has a clear status and reason in the report and in the manifest, the
good files stay searchable, nothing outside the corpus is read, time and memory are bounded.

The embedder is a stand-in (tests/fake_embedder.py): these tests are about files, not ranking;
keyword search finds the phrases.
"""

from __future__ import annotations

import re
import resource
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_embedder import FakeEmbedder, fake_build_config  # noqa: E402
from hostile_corpus import build_hostile_corpus  # noqa: E402

from kotae.index.build import ingest  # noqa: E402
from kotae.index.persist import current_generation, read_manifest  # noqa: E402
from kotae.index.search import RetrievalConfig, Retriever  # noqa: E402
from kotae.index.backends.local import LocalBackend  # noqa: E402
from kotae.ingest.pdf import PdfLimits  # noqa: E402
from kotae.ingest.read import ReadLimits  # noqa: E402

CFG = fake_build_config(ReadLimits(pdf=PdfLimits(max_pages=100)))
INGEST_SECONDS = 90  # about 25 s on a 2-core machine


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    expect = build_hostile_corpus(root / "corpus")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = ingest(root / "corpus", LocalBackend(root / "index"), FakeEmbedder, "fake", CFG, progress=False)
    seconds = time.perf_counter() - started
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    return root, expect, report, seconds, rss_growth_mb


def test_every_file_has_the_expected_status_and_reason(hostile):
    _, expect, report, _, _ = hostile
    got = {f.doc_id: f for f in report.files}
    problems = []
    for doc_id, exp in expect.items():
        if exp.status == "hidden":
            if doc_id in got:
                problems.append(f"{doc_id!r}: dot-files are not documents, got {got[doc_id]}")
            continue
        f = got.get(doc_id)
        if f is None:
            problems.append(f"{doc_id!r}: missing from the report")
            continue
        if f.status != exp.status:
            problems.append(f"{doc_id!r}: expected {exp.status}, got {f.status} ({f.reason})")
        if exp.status == "skipped" and not re.search(exp.reason, f.reason):
            problems.append(f"{doc_id!r}: reason {f.reason!r} does not match {exp.reason!r}")
        if exp.warning and not any(re.search(exp.warning, w) for w in f.warnings):
            problems.append(f"{doc_id!r}: no warning matching {exp.warning!r} in {f.warnings}")
    unexpected = sorted(set(got) - set(expect))
    if unexpected:
        problems.append(f"files in the report that should not be: {unexpected}")
    assert not problems, "\n".join(problems)
    assert len(expect) >= 30


def test_every_skip_has_a_reason_and_the_manifest_agrees(hostile):
    root, _, report, _, _ = hostile
    manifest = read_manifest(current_generation(root / "index"))
    for f in report.files:
        if f.status == "skipped":
            assert f.reason.strip(), f
        entry = manifest["files"][f.doc_id]
        assert entry["status"] == ("skipped" if f.status == "skipped" else "indexed")
        assert entry["reason"] == f.reason
        assert entry["warnings"] == f.warnings
    assert set(manifest["files"]) == {f.doc_id for f in report.files}


def test_good_files_are_searchable(hostile):
    root, expect, report, _, _ = hostile
    retriever = Retriever(LocalBackend(root / "index").open(), FakeEmbedder(), RetrievalConfig(mode="keyword"))
    missing = []
    for doc_id, exp in expect.items():
        if exp.phrase:
            hits = retriever.search(exp.phrase, k=5).hits
            if doc_id not in {h.doc_id for h in hits}:
                missing.append((doc_id, exp.phrase, [h.doc_id for h in hits]))
    assert not missing


def test_nothing_outside_the_corpus_is_indexed(hostile):
    root, _, _, _, _ = hostile
    index = LocalBackend(root / "index").open()
    ids = {d["doc_id"] for d in index.documents()}
    assert not any(i.startswith("escape") or "outside" in i or i.startswith("/") for i in ids)
    retriever = Retriever(index, FakeEmbedder(), RetrievalConfig(mode="keyword"))
    assert all("swordfish" not in h.text for h in retriever.search("launch code swordfish", k=10).hits)


def test_text_of_garbage_pdfs_is_not_indexed(hostile):
    root, _, _, _, _ = hostile
    index = LocalBackend(root / "index").open()
    for d in index.documents():
        doc = index.document(d["doc_id"])
        controls = sum(1 for ch in doc.text if ord(ch) < 32 and ch not in "\n\r\t\f")
        assert controls == 0, d["doc_id"]


def test_time_and_memory_are_bounded(hostile):
    _, _, _, seconds, rss_growth_mb = hostile
    assert seconds < INGEST_SECONDS
    # the 50 MB file alone would cost several times its size if it were read
    assert rss_growth_mb < 400, rss_growth_mb
