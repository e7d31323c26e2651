"""Crash safety: SIGKILL an ingest at every phase and at random moments. The previous index
always loads and answers (or the new one, complete, once CURRENT names it); the next ingest
leaves no `.build-*` directory and no stale generation; a second concurrent ingest is refused
by the lock with a one-line error and a non-zero exit.

Most trials run tests/crash_driver.py (the real `ingest()` with a stand-in embedder, so a
process starts in half a second); two trials SIGKILL the real `kotae ingest` CLI with the
real model while it embeds.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from crash_driver import MARKERS  # noqa: E402
from fake_embedder import FakeEmbedder, fake_build_config  # noqa: E402
from hostile_corpus import GOOD_EN, GOOD_JA  # noqa: E402

from kotae.index.build import ingest  # noqa: E402
from kotae.index.persist import current_generation, read_manifest  # noqa: E402
from kotae.index.search import RetrievalConfig, Retriever  # noqa: E402
from kotae.index.backends.local import LocalBackend  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DRIVER = Path(__file__).parent / "crash_driver.py"
STABLE_PHRASE = "zephyrine turbine"
WORDS = ["aardvark", "bison", "caracal", "dingo", "eland", "fossa", "gharial", "hyrax", "ibex", "jerboa",
         "kinkajou", "lynx", "margay", "numbat", "ocelot", "pika", "quoll", "rhea", "serval", "tarsier"]


def _fresh_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    (corpus / "turbine.md").write_text(GOOD_EN, encoding="utf-8")
    (corpus / "保守.txt").write_text(GOOD_JA, encoding="utf-8")
    return corpus


def _change(corpus: Path, trial: int) -> str:
    """A new file and a changed file, so the ingest has something to embed and publish."""
    for old in corpus.glob("trial-*.md"):
        old.unlink()
    word = WORDS[trial % len(WORDS)] + str(trial)
    (corpus / f"trial-{trial}.md").write_text(f"# Trial {trial}\n\nThe {word} appears only in trial {trial}.\n", encoding="utf-8")
    with open(corpus / "保守.txt", "a", encoding="utf-8") as f:
        f.write(f"\n第{trial}回の追記。\n")
    return word


def _retriever(index_dir: Path, mode: str = "keyword") -> Retriever:
    return Retriever(LocalBackend(index_dir).open(), FakeEmbedder(), RetrievalConfig(mode=mode))


def _assert_index_answers(index_dir: Path) -> dict:
    """The live generation is complete: it opens, its counts agree, and it answers."""
    gen = current_generation(index_dir)
    assert gen is not None, "no live generation"
    manifest = read_manifest(gen)
    index = LocalBackend(index_dir).open()
    assert len(index.documents()) == manifest["counts"]["documents"]
    for mode in ("keyword", "hybrid"):
        hits = _retriever(index_dir, mode).search(STABLE_PHRASE, k=5).hits
        assert "turbine.md" in {h.doc_id for h in hits}, mode
    return manifest


def _run_driver(corpus: Path, index_dir: Path, pause_at: str | None = None, rebuild: bool = False) -> subprocess.Popen:
    cmd = [sys.executable, str(DRIVER), str(corpus), str(index_dir)]
    if pause_at:
        cmd += ["--pause-at", pause_at]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 60) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"driver ended before {marker!r}: {seen} {proc.stderr.read()[-2000:]}")
        seen.append(line.strip())
        if line.strip() == marker:
            return seen
    raise AssertionError(f"no {marker!r} within {timeout} s: {seen}")


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def _recover_and_check(corpus: Path, index_dir: Path, word: str) -> None:
    """The next ingest cleans up after the killed one and publishes the new corpus."""
    ingest(corpus, LocalBackend(index_dir), FakeEmbedder, "fake", fake_build_config(), progress=False)
    entries = sorted(p.name for p in index_dir.iterdir())
    assert not [e for e in entries if e.startswith(".build-")], entries
    assert len([e for e in entries if e.startswith("gen-")]) == 1, entries
    _assert_index_answers(index_dir)
    assert any(word in h.text for h in _retriever(index_dir).search(word, k=3).hits)


@pytest.fixture()
def indexed_corpus(tmp_path: Path):
    corpus = _fresh_corpus(tmp_path)
    index_dir = tmp_path / "index"
    ingest(corpus, LocalBackend(index_dir), FakeEmbedder, "fake", fake_build_config(), progress=False)
    _assert_index_answers(index_dir)
    return corpus, index_dir


def test_sigkill_at_every_phase_and_at_random_moments(indexed_corpus):
    corpus, index_dir = indexed_corpus
    rng = random.Random(20260)
    trials = [("pause", m) for m in MARKERS if m != "done"]  # 8 exact phases
    # A full run, unkilled, to time the random kills.
    _change(corpus, 100)
    started = time.monotonic()
    proc = _run_driver(corpus, index_dir)
    out, err = proc.communicate(timeout=120)
    full_run = time.monotonic() - started
    assert proc.returncode == 0, err
    trials += [("random", rng.uniform(0.2, full_run)) for _ in range(6)]
    log = []
    for n, (kind, where) in enumerate(trials):
        before = current_generation(index_dir).name
        word = _change(corpus, n)
        proc = _run_driver(corpus, index_dir, pause_at=where if kind == "pause" else None)
        if kind == "pause":
            seen = _wait_for(proc, where)
        else:
            time.sleep(where)
            seen = []
        finished = proc.poll() is not None
        _kill(proc)
        after = current_generation(index_dir)
        manifest = _assert_index_answers(index_dir)
        published = f"trial-{n}.md" in manifest["files"]
        # CURRENT switches only once the new generation is complete, and only at that step
        assert published == (after.name != before)
        if kind == "pause":
            assert published == (MARKERS.index(where) >= MARKERS.index("current-replaced")), (where, seen)
        found = any(word in h.text for h in _retriever(index_dir).search(word, k=3).hits)
        assert found == published
        log.append(f"{kind}:{where if kind == 'pause' else f'{where:.2f}s'} -> {'new' if published else 'old'} index"
                   + (" (had already finished)" if finished else ""))
        _recover_and_check(corpus, index_dir, word)
    print("\n".join(log))
    assert len(trials) >= 10


def test_a_second_concurrent_ingest_is_refused(indexed_corpus, model_cache):
    corpus, index_dir = indexed_corpus
    _change(corpus, 1)
    first = _run_driver(corpus, index_dir, pause_at="embedding")
    try:
        _wait_for(first, "embedding")
        env = {**os.environ, "KOTAE_CACHE_DIR": str(model_cache)}
        second = subprocess.run([str(Path(sys.executable).parent / "kotae"), "ingest", str(corpus), "--index", str(index_dir), "--quiet"],
                                capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    finally:
        _kill(first)
    assert second.returncode != 0
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert "another ingest is writing" in lines[0] and lines[0].startswith("kotae: error:")
    assert "Traceback" not in second.stderr
    _recover_and_check(corpus, index_dir, WORDS[1] + "1")


@pytest.mark.slow
def test_sigkill_real_cli_while_embedding(tmp_path: Path, model_cache: Path):
    """The real `kotae ingest` with the real model, killed while it embeds or writes."""
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    pytest.importorskip("kotae.index.embedders").load_embedder  # noqa: B018
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "turbine.md").write_text(GOOD_EN, encoding="utf-8")
    (corpus / "保守.txt").write_text(GOOD_JA, encoding="utf-8")
    index_dir = tmp_path / "index"
    env = {**os.environ, "KOTAE_CACHE_DIR": str(model_cache)}
    kotae = str(Path(sys.executable).parent / "kotae")
    settings = load_settings(corpus_dir=corpus, index_dir=index_dir, cache_dir=model_cache)
    run_ingest(settings, progress=False)  # in-process: the model is loaded once per test session
    rng = random.Random(5)
    for trial in range(2):
        # enough new text that embedding takes a few seconds; gone again after the trial
        big = corpus / f"big-{trial}.md"
        big.write_text("\n\n".join(
            f"Paragraph {i} of trial {trial}: the {rng.choice(WORDS)} was observed near station {i}." for i in range(400)), encoding="utf-8")
        before = current_generation(index_dir).name
        proc = subprocess.Popen([kotae, "ingest", str(corpus), "--index", str(index_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        # the progress bar on stderr says when embedding has started (model loaded)
        buf = b""
        deadline = time.monotonic() + 240
        while b"embedding" not in buf and time.monotonic() < deadline and proc.poll() is None:
            buf += os.read(proc.stderr.fileno(), 4096)
        time.sleep(rng.uniform(0.0, 1.0))
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
        live = current_generation(index_dir)
        if live.name != before:  # the kill came after CURRENT was replaced: the new index is complete
            assert f"big-{trial}.md" in read_manifest(live)["files"]
        hits = open_retriever(settings).search("How often does the zephyrine turbine need an oil change?", k=3).hits
        assert hits and hits[0].doc_id == "turbine.md"
        big.unlink()
    # nothing left to embed: this run loads no model, it only cleans up
    ok = subprocess.run([kotae, "ingest", str(corpus), "--index", str(index_dir), "--quiet"], capture_output=True, text=True, timeout=600, env=env)
    assert ok.returncode == 0, ok.stderr
    assert not list(index_dir.glob(".build-*")) and len(list(index_dir.glob("gen-*"))) == 1
