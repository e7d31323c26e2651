"""Attacks on a real kotae server (uvicorn on a free port, the real model and a copy of the
corpus index), one per weakness found by the attack run of issue 13, plus what an attacker
would try next. Each test fails on the code before the fix."""

from __future__ import annotations

import asyncio
import fcntl
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kotae_server import live_server

pytestmark = pytest.mark.slow

KOYEB_DOC = "004_80795f28c2f237e0.txt"
JA_QUESTION = "Mistral AIが買収した会社はどこですか？"


def copy_corpus(src_settings, root: Path, **changes):
    shutil.copytree(src_settings.corpus_dir, root / "corpus")
    shutil.copytree(src_settings.index_dir, root / "index", ignore=shutil.ignore_patterns(".lock", ".build-*"))
    return src_settings.replace(corpus_dir=root / "corpus", index_dir=root / "index", **changes)


@pytest.fixture(scope="module")
def writable(corpus_settings, tmp_path_factory):
    """Keyless (the default), loopback, on a copy of corpus/ and its index."""
    settings = copy_corpus(corpus_settings, tmp_path_factory.mktemp("attack"), sync_upload_passages=40, upload_jobs=1)
    with live_server(settings) as s:
        s.settings = settings
        s.corpus = settings.corpus_dir
        yield s


@pytest.fixture(scope="module")
def client(writable):
    with httpx.Client(base_url=writable.url, timeout=120) as c:
        yield c


def doc_ids(client) -> set[str]:
    return {d["doc_id"] for d in client.get("/v1/documents").json()["documents"]}


# -- 1. a bad request fails only itself -----------------------------------------------------------

def raw_post(url: str, path: str, body: str) -> httpx.Response:
    """JSON written by hand: a lone surrogate escape cannot be produced by json.dumps of a str
    that is valid UTF-8, but any client can send it."""
    return httpx.post(url + path, content=body.encode(), headers={"Content-Type": "application/json"}, timeout=120)


def test_lone_surrogate_and_control_characters_are_422_naming_the_field(writable):
    r = raw_post(writable.url, "/v1/chat/completions", '{"model":"kotae","messages":[{"role":"user","content":"\\ud800 x"}]}')
    assert r.status_code == 422 and r.json()["error"]["field"] == "messages[0].content", r.text
    r = raw_post(writable.url, "/v1/search", '{"query":"Mistral \\udfff"}')
    assert r.status_code == 422 and r.json()["error"]["field"] == "query"
    r = raw_post(writable.url, "/v1/ask", '{"question":"Mistral\\u0000AI"}')
    assert r.status_code == 422 and "control character U+0000" in r.json()["error"]["message"]
    r = raw_post(writable.url, "/v1/chat/completions",
                 '{"model":"kotae","messages":[{"role":"user","content":[{"type":"text","text":"a\\ud83d"}]}]}')
    assert r.status_code == 422 and r.json()["error"]["field"] == "messages[0].content"


def test_long_history_is_trimmed_not_fatal(writable):
    long_ja = "日本語の長い前置きです。" * 6000  # 72,000 characters, ~216 KB: Sudachi's limit is ~49 KB
    messages = [{"role": "user", "content": long_ja}, {"role": "assistant", "content": "x" * 50_000},
                {"role": "user", "content": "それはいつ？"}]
    r = httpx.post(writable.url + "/v1/chat/completions", json={"model": "kotae", "messages": messages}, timeout=120)
    assert r.status_code == 200, r.text
    r = httpx.post(writable.url + "/v1/chat/completions", json={"model": "kotae", "stream": True, "messages": messages}, timeout=120)
    assert r.status_code == 200 and r.text.rstrip().endswith("data: [DONE]") and '"error"' not in r.text


def test_bad_requests_never_fail_concurrent_innocent_ones(writable):
    """The attack run's scenario: bad chats fired together with innocent searches and asks,
    so they share batches. Before: innocent requests got 500 (5/5 asks, 9/10 searches)."""
    bad_bodies = ['{"model":"kotae","messages":[{"role":"user","content":"\\ud800 x"}]}',
                  json.dumps({"model": "kotae", "messages": [{"role": "user", "content": "東京の天気。" * 9000},
                                                             {"role": "user", "content": "それは？"}]})]

    def innocent(i: int) -> int:
        if i % 2:
            return httpx.post(writable.url + "/v1/search", json={"query": f"Mistral AI 本社 {i}", "k": 3}, timeout=120).status_code
        return httpx.post(writable.url + "/v1/ask", json={"question": f"Who founded Mistral AI? {i}"}, timeout=120).status_code

    def bad(i: int) -> int:
        return raw_post(writable.url, "/v1/chat/completions", bad_bodies[i % 2]).status_code

    with ThreadPoolExecutor(16) as pool:
        goods = [pool.submit(innocent, i) for i in range(20)]
        bads = [pool.submit(bad, i) for i in range(10)]
        good_codes = [f.result() for f in goods]
        bad_codes = [f.result() for f in bads]
    assert good_codes == [200] * 20
    assert all(c in (200, 422) for c in bad_codes) and 500 not in bad_codes, bad_codes


def test_batch_failure_is_retried_one_by_one():
    """Unit: a batch whose encoder pass fails hands the error only to the request that fails alone."""
    from kotae.service.batch import QueryBatcher

    class Picky:
        def search_batch(self, work):
            if any(q == "BOOM" for q, _, _ in work):
                raise RuntimeError("one bad query poisons the batch")
            return [f"ok:{q}" for q, _, _ in work]

        def search(self, q, k, f):
            if q == "BOOM":
                raise RuntimeError("bad alone too")
            return f"ok:{q}"

    async def main():
        pool = ThreadPoolExecutor(1)
        gate = threading.Event()
        pool.submit(gate.wait)  # hold the reader so all four requests queue into one batch
        batcher = QueryBatcher(pool)
        retriever = Picky()
        tasks = [asyncio.ensure_future(batcher.search(retriever, q, 1)) for q in ("a", "BOOM", "b", "c")]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    a, boom, b, c = asyncio.run(main())
    assert (a, b, c) == ("ok:a", "ok:b", "ok:c") and isinstance(boom, RuntimeError)


def test_abandoned_requests_are_dropped_before_they_cost_anything():
    """Unit: a search whose caller went away (a closed chat stream cancels it) is not run."""
    from kotae.service.batch import QueryBatcher

    ran: list[str] = []

    class Recording:
        def search_batch(self, work):
            ran.extend(q for q, _, _ in work)
            return [q for q, _, _ in work]

        def search(self, q, k, f):
            ran.append(q)
            return q

    async def main():
        pool = ThreadPoolExecutor(1)
        gate = threading.Event()
        pool.submit(gate.wait)
        batcher = QueryBatcher(pool)
        first = asyncio.ensure_future(batcher.search(Recording(), "first", 1))
        await asyncio.sleep(0.01)
        gone = [asyncio.ensure_future(batcher.search(Recording(), f"gone{i}", 1)) for i in range(20)]
        kept = asyncio.ensure_future(batcher.search(Recording(), "kept", 1))
        await asyncio.sleep(0.01)
        for t in gone:
            t.cancel()
        gate.set()
        return await first, await kept

    assert asyncio.run(main()) == ("first", "kept")
    assert ran == ["first", "kept"]


def _abandon(c: httpx.Client, kind: str, i: int) -> None:
    question = f"abandoned question number {i} about Mistral"
    if kind == "stream":
        with c.stream("POST", "/v1/chat/completions", json={"model": "kotae", "stream": True, "messages": [
                {"role": "user", "content": question}]}) as r:
            next(r.iter_lines())  # the first event arrives, then the client hangs up
        return
    body = {"question": question} if kind == "ask" else {"query": question}
    with pytest.raises(httpx.ReadTimeout):  # the client gives up waiting and hangs up
        c.post(f"/v1/{kind}", json=body, timeout=0.3)


@pytest.mark.parametrize("kind", ["stream", "ask", "search"])
def test_abandoned_requests_do_not_run_their_searches(writable, kind):
    """30 chat streams (or asks, or searches) sent while the reader is busy, then abandoned by
    their clients: none of their searches runs (before, all of them did, and later searches
    waited behind them)."""
    service = writable.server.config.app.state.kotae
    retriever = service.generations.retriever
    seen: list[str] = []
    original_batch, original_one = retriever.search_batch, retriever.search

    def counting_batch(work):
        seen.extend(q for q, _, _ in work)
        return original_batch(work)

    def counting_one(q, *args, **kwargs):
        seen.append(q)
        return original_one(q, *args, **kwargs)

    retriever.search_batch, retriever.search = counting_batch, counting_one
    gate = threading.Event()
    service._reader.submit(gate.wait, 60)  # the reader is busy: the searches queue
    try:
        with httpx.Client(base_url=writable.url, timeout=30) as c:
            for i in range(30):
                _abandon(c, kind, i)
        time.sleep(1.0)
    finally:
        gate.set()
    r = httpx.post(writable.url + "/v1/search", json={"query": "probe after the wave"}, timeout=60)
    retriever.search_batch, retriever.search = original_batch, original_one
    assert r.status_code == 200
    assert not [q for q in seen if q.startswith("abandoned")], seen


def test_stream_failure_ends_with_an_error_event_and_done(writable):
    """A failure after the stream started: the client gets an error event and [DONE], not a
    cut connection (the openai client raises it as an APIError)."""
    from openai import APIError, OpenAI

    service = writable.server.config.app.state.kotae
    original = service.answering.ask_stream

    async def failing(*args, **kwargs):
        yield "partial "
        raise RuntimeError("simulated failure in the middle of an answer")

    service.answering.ask_stream = failing
    try:
        r = httpx.post(writable.url + "/v1/chat/completions", timeout=60,
                       json={"model": "kotae", "stream": True, "messages": [{"role": "user", "content": "Who founded Mistral AI?"}]})
        events = [e for e in r.text.split("\n\n") if e.strip()]
        assert events[-1] == "data: [DONE]"
        error = json.loads(events[-2][len("data: "):])["error"]
        assert error["code"] == "internal_error" and "RuntimeError" in error["message"]
        client = OpenAI(base_url=writable.url + "/v1", api_key="x", max_retries=0)
        with pytest.raises(APIError):
            list(client.chat.completions.create(model="kotae", stream=True, messages=[{"role": "user", "content": "Who?"}]))
    finally:
        service.answering.ask_stream = original


# -- 2. an index swap never breaks a search ---------------------------------------------------------

def test_generation_is_closed_only_when_no_search_holds_it():
    """Unit: a retired generation stays open while leased, and closes at the last release."""
    from kotae.service.generations import Generations

    closed = []
    gens = Generations(close=closed.append)
    gens.swap("gen1")
    with gens.lease() as held:
        gens.swap("gen2")
        assert held == "gen1" and closed == []  # still in use
    assert closed == ["gen1"]
    gens.swap("gen3")
    assert closed == ["gen1", "gen2"]  # unused: closed at once


def test_thread_work_keeps_its_generation_open_after_its_caller_is_cancelled():
    """Unit: a search already running on the reader thread when its client hangs up keeps its
    generation open until the thread is done, even if an upload swaps the index meanwhile."""
    from kotae.service.generations import Generations

    closed: list[str] = []
    gens = Generations(close=closed.append)
    gens.swap("gen1")
    pool = ThreadPoolExecutor(1)
    started, gate = threading.Event(), threading.Event()

    def work():
        started.set()
        gate.wait(5)
        return "done"

    async def main():
        task = asyncio.ensure_future(gens.run(pool, "gen1", work))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        task.cancel()
        gens.swap("gen2")
        await asyncio.sleep(0.05)
        during = list(closed)
        gate.set()
        await asyncio.sleep(0.3)
        return during, list(closed)

    assert asyncio.run(main()) == ([], ["gen1"])


def search_loop(url: str, stop: threading.Event, counts: dict, lock: threading.Lock) -> None:
    queries = ["Mistral AIの本社", "Who founded Mistral AI?", "Koyeb の買収", "Vibe Pro price", "データ主権"]
    i = 0
    with httpx.Client(base_url=url, timeout=120) as c:
        while not stop.is_set():
            try:
                r = c.post("/v1/search", json={"query": queries[i % len(queries)], "k": 3})
                good = r.status_code == 200 and r.json()["passages"]
                with lock:
                    counts["ok" if good else "bad"] += 1
                    if not good:
                        counts.setdefault("errors", []).append(f"{r.status_code} {r.text[:200]}")
            except httpx.TransportError as exc:
                with lock:
                    counts["bad"] += 1
                    counts.setdefault("errors", []).append(repr(exc))
            i += 1


def test_load_1000_searches_during_100_uploads_and_deletes(writable, client):
    """The issue's load test, on loopback and bounded: searches from 4 loops while uploads and
    deletes each swap the index generation, until there were at least 1,000 searches and 100
    writes: 0 errors, 0 dropped connections, and the retired generations were closed."""
    counts, lock, stop = {"ok": 0, "bad": 0}, threading.Lock(), threading.Event()
    loops = [threading.Thread(target=search_loop, args=(writable.url, stop, counts, lock)) for _ in range(4)]
    for t in loops:
        t.start()
    service = writable.server.config.app.state.kotae
    closed_before = service.generations.closed
    writes, i = 0, 0
    started = time.monotonic()
    try:
        while (writes < 100 or counts["ok"] + counts["bad"] < 1000) and time.monotonic() - started < 300:
            r = client.post("/v1/documents", files={"file": (f"load{i}.md", f"# 負荷試験 {i}\n\n負荷試験の文書 {i} です。Load test document {i}.".encode())},
                            data={"doc_id": f"load/load{i % 5}.md"})
            assert r.status_code in (200, 201), r.text
            r = client.delete(f"/v1/documents/load/load{i % 5}.md")
            assert r.status_code == 200, r.text
            writes, i = writes + 2, i + 1
    finally:
        stop.set()
        for t in loops:
            t.join(timeout=120)
    assert writes >= 100 and counts["ok"] + counts["bad"] >= 1000, (writes, counts["ok"], counts["bad"])
    assert counts["bad"] == 0, counts.get("errors", [])[:5]
    assert service.generations.closed - closed_before >= writes - 2  # old generations closed, not leaked
    assert not (writable.corpus / "load").exists()  # deletes removed the emptied folder


# -- 3. web pages cannot write; the Host is checked; the page has security headers -------------------

def test_cross_site_writes_are_refused_and_clients_without_origin_work(writable, client):
    files = {"file": ("evil.txt", b"The CEO of Mistral AI is Mallory Attacker.")}
    r = client.post("/v1/documents", files=files, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["field"] == "Origin"
    r = client.post("/v1/documents", files=files, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    r = client.post("/v1/documents", files=files, headers={"Origin": "null"})
    assert r.status_code == 403
    assert client.delete(f"/v1/documents/{KOYEB_DOC}", headers={"Origin": "http://evil.example"}).status_code == 403
    assert not (writable.corpus / "evil.txt").exists()
    # the chat page's own origin, and clients that send no Origin (curl, openai, Open WebUI's backend)
    own = writable.url
    r = client.post("/v1/search", json={"query": "Mistral"}, headers={"Origin": own, "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200
    r = client.post("/v1/documents", files={"file": ("fine.txt", b"A fine document about otters and rivers.")})
    assert r.status_code == 201, r.text
    assert client.delete("/v1/documents/fine.txt").status_code == 200


def test_unknown_host_is_refused_dns_rebinding(writable):
    port = writable.port
    with httpx.Client(timeout=30) as c:
        r = c.get(writable.url + "/v1/documents", headers={"Host": f"attacker.example:{port}"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "Host"
        assert c.get(writable.url + "/readyz", headers={"Host": f"localhost:{port}"}).status_code == 200


def test_allowed_hosts_setting(corpus_settings):
    from kotae.service.security import allowed_hosts, startup_warnings

    assert allowed_hosts(corpus_settings.replace(host="127.0.0.1")) == {"localhost", "127.0.0.1", "::1"}
    assert allowed_hosts(corpus_settings.replace(host="0.0.0.0")) is None
    assert allowed_hosts(corpus_settings.replace(host="0.0.0.0", allowed_hosts="kotae.lan, [::1]")) == {"kotae.lan", "::1"}
    assert allowed_hosts(corpus_settings.replace(allowed_hosts="*")) is None
    assert startup_warnings(corpus_settings.replace(host="0.0.0.0", api_key=""))
    assert not startup_warnings(corpus_settings.replace(host="0.0.0.0", api_key="k"))
    assert not startup_warnings(corpus_settings.replace(host="127.0.0.1", api_key=""))


def test_page_has_security_headers(client):
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/v1/models").headers["x-content-type-options"] == "nosniff"


# -- 4. writes never lose documents --------------------------------------------------------------

def test_missing_corpus_folder_refuses_writes_and_keeps_the_index(writable, client):
    before = doc_ids(client)
    moved = writable.corpus.with_name("corpus-away")
    writable.corpus.rename(moved)
    try:
        r = client.post("/v1/documents", files={"file": ("new.txt", b"A new document about herons.")})
        assert r.status_code == 503 and r.json()["error"]["code"] == "corpus_unavailable", r.text
        assert not writable.corpus.exists()  # not recreated holding one file
        r = client.delete(f"/v1/documents/{KOYEB_DOC}")
        assert r.status_code == 503
        assert doc_ids(client) == before
    finally:
        moved.rename(writable.corpus)
    assert doc_ids(client) == before


def test_kotae_ingest_refuses_a_missing_or_emptied_corpus(corpus_settings, tmp_path):
    settings = copy_corpus(corpus_settings, tmp_path)
    base = [sys.executable, "-m", "kotae.service.cli", "ingest", "--index", str(settings.index_dir),
            "--cache-dir", str(settings.cache_dir)]
    r = subprocess.run(base + [str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "does not exist" in r.stderr and "Traceback" not in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = subprocess.run(base + [str(empty)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "holds no documents" in r.stderr and "Traceback" not in r.stderr
    from kotae.index.store import open_index

    assert open_index(settings.index_dir).manifest["counts"]["documents"] == 5


def test_failed_index_write_leaves_the_file_and_the_document(writable, client):
    """A DELETE whose index update fails (another process holds the index lock) keeps the file
    and the document; before, the file was gone while the document stayed searchable."""
    with open(writable.settings.index_dir / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            r = client.delete(f"/v1/documents/{KOYEB_DOC}")
            assert r.status_code == 409, r.text
            r = client.post("/v1/documents", files={"file": ("held.txt", b"Written while the index is locked.")})
            assert r.status_code == 409
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
    assert (writable.corpus / KOYEB_DOC).is_file() and not (writable.corpus / "held.txt").exists()
    assert KOYEB_DOC in doc_ids(client)
    assert not [p for p in writable.corpus.rglob(".*") if p.is_file()]  # no set-aside copies left


def test_doc_id_conflicts_are_4xx_files_are_0644_and_folders_are_cleaned(writable, client):
    r = client.post("/v1/documents", files={"file": ("x.md", b"Notes about kingfishers and their nests.")}, data={"doc_id": "d.md/x.md"})
    assert r.status_code == 201, r.text
    assert (writable.corpus / "d.md" / "x.md").stat().st_mode & 0o777 == 0o644 & ~_umask()
    r = client.post("/v1/documents", files={"file": ("d.md", b"A document named like the folder.")}, data={"doc_id": "d.md"})
    assert r.status_code == 409 and r.json()["error"]["field"] == "doc_id"
    r = client.post("/v1/documents", files={"file": ("y.md", b"Under a file.")}, data={"doc_id": f"{KOYEB_DOC}/y.md"})
    assert r.status_code == 409 and r.json()["error"]["field"] == "doc_id"
    assert client.delete("/v1/documents/d.md").status_code == 409
    assert client.delete("/v1/documents/d.md/x.md").status_code == 200
    assert not (writable.corpus / "d.md").exists()


def _umask() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    return 0o022


def test_nfc_and_nfd_names_are_one_document(writable, client):
    nfc = "メモ/ガイド.md"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    r = client.post("/v1/documents", files={"file": ("g.md", "ガイドの初版。カワセミの観察記録。".encode())}, data={"doc_id": nfd})
    assert r.status_code == 201, r.text
    r = client.post("/v1/documents", files={"file": ("g.md", "ガイドの第二版。カワセミの観察記録。".encode())}, data={"doc_id": nfc})
    assert r.status_code == 200 and r.json()["replaced"] is True, r.text
    ids = [d for d in doc_ids(client) if unicodedata.normalize("NFC", d) == nfc]
    assert len(ids) == 1
    assert "第二版" in client.get(f"/v1/documents/{nfd}").json()["text"]
    assert client.delete(f"/v1/documents/{nfd}").status_code == 200
    assert not (writable.corpus / "メモ").exists()


def test_upload_limit_counts_megabytes_like_ingest(corpus_settings):
    from kotae.index.engine import build_config
    from kotae.service.app import BodyLimit

    s = corpus_settings.replace(max_upload_mb=1.0, max_text_mb=1.0)
    assert BodyLimit(None, s).upload_limit - 256 * 1024 == 1_000_000 == build_config(s).limits.max_text_bytes


def test_start_up_reconciles_corpus_and_index(corpus_settings, tmp_path):
    """After a crash: a file written but never indexed, and a delete that stopped after setting
    the file aside. Start-up reports the drift, restores the file and re-indexes."""
    settings = copy_corpus(corpus_settings, tmp_path)
    corpus = settings.corpus_dir
    (corpus / "crashed.md").write_text("# 未登録\n\nクラッシュ前に書かれたオオワシの観察記録です。", encoding="utf-8")
    (corpus / KOYEB_DOC).rename(corpus / f".kotae-deleting-0123abcd-{KOYEB_DOC}")
    with live_server(settings) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready = c.get("/readyz").json()
            if not ready["reindexing"] and ready["drift"] == 0 and ready["documents"] == 6:
                break
            time.sleep(0.5)
        assert ready["documents"] == 6 and ready["drift"] == 0 and ready["drift_error"] is None, ready
        listing = c.get("/v1/documents").json()
        assert {"crashed.md", KOYEB_DOC} <= {d["doc_id"] for d in listing["documents"]} and listing["drift"] == []
        assert (corpus / KOYEB_DOC).is_file()


def test_an_emptied_corpus_is_reported_not_indexed(corpus_settings, tmp_path):
    settings = copy_corpus(corpus_settings, tmp_path)
    for p in settings.corpus_dir.iterdir():
        p.unlink()
    with live_server(settings) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and c.get("/readyz").json()["drift_error"] is None:
            time.sleep(0.3)
        ready = c.get("/readyz").json()
        # refused (this copy's index also records another corpus folder, which is refused first)
        assert ready["documents"] == 5 and ready["drift"] == 5 and ready["drift_error"], ready
        assert "/tmp" not in ready["drift_error"]  # no server paths to unauthenticated clients
        assert len(c.get("/v1/documents").json()["drift"]) == 5


# -- 5. large uploads are jobs -------------------------------------------------------------------

def big_text(n: int) -> bytes:
    return "\n\n".join(f"## 第{i}節\n\n第{i}節の記録。観測所{i}で記録されたアオサギの数は{i * 7}羽で、前年より{i % 5}羽多かった。"
                       f" Station {i} counted {i * 7} grey herons." for i in range(n)).encode()


def test_large_upload_is_a_job_and_never_blocks_small_ones(writable, client):
    r = client.post("/v1/documents", files={"file": ("herons.md", big_text(200))}, data={"doc_id": "big/herons.md"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}" and job["passages"] > 40
    # the queue holds one job here (upload_jobs=1): the next large upload is refused, not queued forever
    r = client.post("/v1/documents", files={"file": ("more.md", big_text(150))}, data={"doc_id": "big/more.md"})
    assert r.status_code == 429 and r.headers["retry-after"]
    # a small upload goes through while the large one is still being embedded
    r = client.post("/v1/documents", files={"file": ("small.md", b"# Small\n\nA small note about egrets.")}, data={"doc_id": "small.md"})
    assert r.status_code == 201, r.text
    during = client.get(f"/v1/jobs/{job['id']}").json()
    assert during["status"] != "done", "the large upload finished before the small one: the test proves nothing"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = client.get(f"/v1/jobs/{job['id']}").json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert state["status"] == "done" and state["embedded"] == state["passages"] and state["progress"] == 1.0, state
    assert state["result"]["status"] == "indexed"
    assert {"big/herons.md", "small.md"} <= doc_ids(client)
    assert client.get("/v1/jobs/nope").status_code == 404
    for d in ("big/herons.md", "small.md"):
        assert client.delete(f"/v1/documents/{d}").status_code == 200


# -- 6. slow clients, huge bodies, bad JSON, the deep link ------------------------------------------

def test_slow_header_connections_are_closed(writable, monkeypatch):
    from kotae.service import transport

    monkeypatch.setattr(transport, "HEADER_TIMEOUT", 1.0)
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", writable.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(s)
    time.sleep(2.5)
    closed = 0
    for s in socks:
        s.settimeout(2)
        try:
            closed += s.recv(100) == b""
        except ConnectionResetError:
            closed += 1
        except socket.timeout:  # still open
            pass
        s.close()
    assert closed == 20
    assert httpx.get(writable.url + "/healthz").status_code == 200


def test_stalled_request_body_is_answered_408(writable, monkeypatch):
    from kotae.service import app as app_module

    monkeypatch.setattr(app_module, "BODY_IDLE_TIMEOUT", 1.0)
    with socket.create_connection(("127.0.0.1", writable.port)) as s:
        s.sendall(b"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"query\": ")
        s.settimeout(10)
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


def test_uploads_in_flight_are_bounded(writable, client):
    """Each upload holds its file in memory: past MAX_UPLOADS_IN_FLIGHT slow uploads, the next
    one is refused at once (429) instead of adding to the pile."""
    from kotae.service.app import MAX_UPLOADS_IN_FLIGHT

    slow = []
    for _ in range(MAX_UPLOADS_IN_FLIGHT):
        s = socket.create_connection(("127.0.0.1", writable.port))
        s.sendall(b"POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 40000\r\n"
                  b"Content-Type: multipart/form-data; boundary=xx\r\n\r\n--xx\r\n")
        slow.append(s)
    time.sleep(0.5)
    try:
        r = client.post("/v1/documents", files={"file": ("one-more.txt", b"One upload too many.")})
        assert r.status_code == 429 and r.headers["retry-after"], r.text
    finally:
        for s in slow:
            s.close()
    time.sleep(0.5)
    r = client.post("/v1/documents", files={"file": ("after.txt", b"After the slow uploads gave up: accepted.")})
    assert r.status_code == 201, r.text
    assert client.delete("/v1/documents/after.txt").status_code == 200


def test_huge_json_body_is_refused_before_parsing(writable):
    body = json.dumps({"query": "x" * 3_900_000})
    started = time.perf_counter()
    r = httpx.post(writable.url + "/v1/search", content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["field"] == "body"
    assert time.perf_counter() - started < 5


def test_malformed_json_names_the_body(writable):
    r = raw_post(writable.url, "/v1/search", '{"query": "Mistral",}')
    err = r.json()["error"]
    assert r.status_code == 422 and err["field"] == "body" and "is not valid JSON" in err["message"]
    assert err["message"].startswith("body: ")
