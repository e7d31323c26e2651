"""An ingest process for the crash trials (tests/test_crash.py): the real `ingest()` of
`kotae ingest`, with the stand-in embedder (a little slowed down, like a model) so a process
starts in half a second. It prints a marker line at each phase of the build, and can stop dead
at one of them (`--pause-at`) so the test's SIGKILL lands exactly there.

    python tests/crash_driver.py CORPUS INDEX [--pause-at MARKER]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fake_embedder import FakeEmbedder  # noqa: E402

MARKERS = [
    "reading",  # first file read
    "embedding",  # first batch embedded
    "build-dir",  # .build-* created
    "meta-written",  # vectors, keywords and SQLite written into the build dir
    "publishing",  # publish() entered: manifest next
    "synced",  # build dir fsynced, about to be renamed to gen-*
    "renamed",  # gen-* exists, CURRENT still names the old generation
    "current-replaced",  # CURRENT names the new generation, old one not yet removed
    "done",
]


class SlowFake(FakeEmbedder):
    def embed_passages(self, texts, batch_size=32, progress=None):
        out = []
        for i in range(0, len(texts), 8):
            time.sleep(0.02)
            out.append(super().embed_passages(texts[i : i + 8], batch_size, progress))
            mark("embedding")
        import numpy as np

        return np.concatenate(out)


_seen: set[str] = set()
_pause_at: str | None = None


def mark(name: str) -> None:
    if name in _seen:
        return
    _seen.add(name)
    print(name, flush=True)
    if name == _pause_at:
        time.sleep(3600)


def _after(fn, name):
    def wrapper(*a, **k):
        result = fn(*a, **k)
        mark(name)
        return result

    return wrapper


def _before(fn, name):
    def wrapper(*a, **k):
        mark(name)
        return fn(*a, **k)

    return wrapper


def main() -> int:
    global _pause_at
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    parser.add_argument("index", type=Path)
    parser.add_argument("--pause-at", choices=MARKERS)
    args = parser.parse_args()
    _pause_at = args.pause_at

    import kotae.index.backends.local as local
    import kotae.index.build as build
    import kotae.index.persist as persist
    from fake_embedder import fake_build_config

    build.read_document = _before(build.read_document, "reading")
    local.new_build_dir = _after(local.new_build_dir, "build-dir")
    local.meta.create = _after(local.meta.create, "meta-written")
    local.publish = _before(local.publish, "publishing")
    persist.fsync_tree = _after(persist.fsync_tree, "synced")
    real_rename, real_replace = os.rename, os.replace
    os.rename = lambda src, dst: (real_rename(src, dst), mark("renamed") if Path(dst).name.startswith("gen-") else None)[0]
    os.replace = lambda src, dst: (real_replace(src, dst), mark("current-replaced") if Path(dst).name == persist.CURRENT else None)[0]

    report = build.ingest(args.corpus, local.LocalBackend(args.index), SlowFake, "fake", fake_build_config(), progress=False)
    mark("done")
    print(f"{report.documents} documents, {report.passages} passages", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
