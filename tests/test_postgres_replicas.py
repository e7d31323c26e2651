"""Two real `kotae serve` processes on one PostgreSQL database (and one corpus folder), as behind a
load balancer: what is uploaded or deleted through one is seen through the other within its
refresh interval (KOTAE_REFRESH_SECONDS), the document counts and list included; and a short
concurrent mix of uploads, deletes and searches through both gets no error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from kotae_server import free_port  # noqa: E402

pytestmark = pytest.mark.slow  # the real embedding model, in three processes

REFRESH = 0.5
CAPYBARA = "カピバラ温泉の定休日は毎週水曜日です。入浴料は大人八百円です。\n"


def _start(settings, url: str, corpus: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "KOTAE_BACKEND": "postgres", "KOTAE_DATABASE_URL": url, "KOTAE_REFRESH_SECONDS": str(REFRESH),
           "KOTAE_CACHE_DIR": str(settings.cache_dir), "KOTAE_CORPUS_DIR": str(corpus), "KOTAE_LOG_LEVEL": "warning"}
    return subprocess.Popen([sys.executable, "-m", "kotae.service.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _ready(proc: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + 300  # two model loads at once on a busy 2-core machine
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    if proc.poll() is None:
        proc.terminate()
    raise AssertionError(f"{base} not ready: {proc.communicate(timeout=30)[0]}")


def _eventually(check, seconds: float = 10 * REFRESH + 5):
    """`check()`'s value once it is truthy; fails after `seconds` (the refresh rule plus slack)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, "not seen in time"
            return value
        time.sleep(0.1)


def _doc_ids(c: httpx.Client) -> set[str]:
    r = c.get("/v1/documents")
    assert r.status_code == 200, r.text
    return {d["doc_id"] for d in r.json()["documents"]}


def _found(c: httpx.Client, query: str) -> list[str]:
    r = c.post("/v1/search", json={"query": query, "k": 3})
    assert r.status_code == 200, r.text
    return [p["doc_id"] for p in r.json()["passages"]]


def test_two_serve_processes_share_one_database(corpus_settings, pg_url, tmp_path):
    from kotae.index.engine import run_ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "turbine.md").write_text("# Turbine\n\nThe turbine blades are inspected every spring by the crew.\n", encoding="utf-8")
    (corpus / "保守.txt").write_text("ナセル内のベアリングは五年ごとに交換します。点検結果は台帳に記録します。\n", encoding="utf-8")
    run_ingest(corpus_settings.replace(backend="postgres", database_url=pg_url, corpus_dir=corpus), progress=False)
    ports = free_port(), free_port()
    procs = [_start(corpus_settings, pg_url, corpus, p) for p in ports]
    try:
        a, b = (httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=120) for p in ports)
        for proc, c in zip(procs, (a, b)):
            _ready(proc, str(c.base_url))

        # `kotae ask` on the same database uses a running server (same generation), not one on another database
        from kotae.service.remote import find_server

        same = corpus_settings.replace(backend="postgres", database_url=pg_url, corpus_dir=corpus, port=ports[0])
        assert find_server(same) is not None
        assert find_server(same.replace(database_url=pg_url + "_other")) is None

        r = a.post("/v1/documents", files={"file": ("capybara.txt", CAPYBARA.encode())})
        assert r.status_code == 201, r.text
        # seen through the other process: its searches, its document list and its counts
        _eventually(lambda: "capybara.txt" in _found(b, "カピバラ温泉の定休日"))
        _eventually(lambda: b.get("/readyz").json()["documents"] == 3)
        assert _doc_ids(b) == {"turbine.md", "保守.txt", "capybara.txt"}
        assert b.get("/v1/documents/capybara.txt").json()["text"] == CAPYBARA

        r = b.delete("/v1/documents/turbine.md")
        assert r.status_code == 200, r.text
        _eventually(lambda: a.get("/readyz").json()["documents"] == 2)
        assert "turbine.md" not in _doc_ids(a)
        assert "turbine.md" not in _found(a, "turbine blades inspected")

        # a short concurrent mix through both: uploads, deletes and searches, no errors
        def upload(i: int) -> int:
            c = (a, b)[i % 2]
            return c.post("/v1/documents", files={"file": (f"mix-{i}.txt", f"点検記録 {i} 番：発電機 {i} 号の軸受を交換した。\n".encode())}).status_code

        def search(i: int) -> int:
            return (a, b)[i % 2].post("/v1/search", json={"query": "軸受の交換", "k": 3}).status_code

        with ThreadPoolExecutor(6) as pool:
            writes = [pool.submit(upload, i) for i in range(6)]
            reads = [pool.submit(search, i) for i in range(24)]
            deletes = [pool.submit(lambda: b.delete("/v1/documents/保守.txt").status_code)]
            statuses = [f.result() for f in writes + reads + deletes]
        assert all(200 <= s < 300 for s in statuses), statuses
        expected = {"capybara.txt"} | {f"mix-{i}.txt" for i in range(6)}
        for c in (a, b):
            _eventually(lambda: _doc_ids(c) == expected)
            _eventually(lambda: c.get("/readyz").json()["documents"] == len(expected))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    for proc in procs:
        log = proc.stdout.read()
        assert "Traceback" not in log and "ERROR" not in log, log
