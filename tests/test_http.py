"""The HTTP service against a real running server (uvicorn on a free port) and the real index
of corpus/: search, ask, the OpenAI-compatible chat (with the official `openai` client,
streaming and not), documents, errors, API key, uploads with incremental ingest while
searches keep being served, and generation through a stub OpenAI-compatible upstream."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path

import httpx
import pytest

from kotae_server import STUB_ANSWER, LiveServer, free_port, live_server, stub_llm_app

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PASSAGE_FIELDS = {"citation", "doc_id", "title", "section", "page", "char_start", "char_end", "text", "lang", "score", "highlight"}
KOYEB_DOC = "004_80795f28c2f237e0.txt"
KEY = "s3cret-test-key"


@pytest.fixture(scope="module")
def server(corpus_settings):
    with live_server(corpus_settings) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def squeeze(s: str) -> str:
    """Without white space and Markdown markup, for comparing shown text with the original."""
    return re.sub(r"[\s*_\\|#`>~]", "", unicodedata.normalize("NFC", s))


def check_passage(p: dict, client: httpx.Client) -> None:
    assert PASSAGE_FIELDS <= set(p)
    assert p["char_start"] < p["char_end"]
    start, end = p["highlight"]
    assert 0 <= start < end <= len(p["text"])
    doc = client.get(f"/v1/documents/{p['doc_id']}").json()
    original = doc["text"][p["char_start"] : p["char_end"]]
    # The offsets point at the passage in the original text, and the highlight inside it.
    assert squeeze(p["text"][start:end]) in squeeze(original)


# -- health, search, ask -------------------------------------------------------------------------

def test_health_and_readiness(client, corpus_settings):
    assert client.get("/healthz").json()["status"] == "ok"
    r = client.get("/readyz").json()
    assert r["status"] == "ready"
    assert r["documents"] == 5 and r["passages"] > 5
    assert r["embedder"]["name"] == corpus_settings.model and r["embedder"]["dim"] > 0
    assert r["index_built_at"]


def test_the_server_warms_its_retriever_before_it_says_it_is_ready(corpus_settings, monkeypatch):
    """The dictionaries English questions over Japanese documents read on first use (~9 s) are
    loaded before /readyz says ready (Retriever.warm), not by the first user's question."""
    from kotae.index.search import Retriever

    warmed = []
    warm = Retriever.warm
    monkeypatch.setattr(Retriever, "warm", lambda self: (warmed.append(self), warm(self))[-1])
    with live_server(corpus_settings) as s:
        assert httpx.get(s.url + "/readyz", timeout=10).json()["status"] == "ready"
        assert len(warmed) == 1


def test_search_returns_contract_passages_with_timings(client):
    r = client.post("/v1/search", json={"query": "Mistral AIが買収した会社はどこですか？", "k": 4})
    assert r.status_code == 200
    body = r.json()
    assert body["lang"] == "ja" and body["found"] is True
    assert [p["citation"] for p in body["passages"]] == [1, 2, 3, 4]
    assert any(p["doc_id"] == KOYEB_DOC for p in body["passages"])
    assert "total_ms" in body["timings"] and "embed_ms" in body["timings"]
    for p in body["passages"]:
        check_passage(p, client)


def test_search_filters(client):
    en = client.post("/v1/search", json={"query": "Mistral funding", "k": 5, "filters": {"lang": "en"}}).json()
    assert en["passages"] and {p["lang"] for p in en["passages"]} == {"en"}
    one = client.post("/v1/search", json={"query": "Mistral", "k": 5, "filters": {"doc_ids": [KOYEB_DOC]}}).json()
    assert one["passages"] and {p["doc_id"] for p in one["passages"]} == {KOYEB_DOC}
    none = client.post("/v1/search", json={"query": "Mistral", "filters": {"doc_ids": ["no-such-doc.txt"]}}).json()
    assert none["passages"] == [] and none["found"] is False


def test_ask_japanese_extractive_answer_with_citations(client):
    r = client.post("/v1/ask", json={"question": "Mistral AIが買収した会社はどこですか？"})
    assert r.status_code == 200
    body = r.json()
    assert body["found"] is True and body["mode"] == "extractive" and body["lang"] == "ja"
    answer, citations = body["answer"], body["citations"]
    assert "Koyeb" in answer
    cited = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer.split("**出典**")[0])})
    assert cited == [c["citation"] for c in citations] == list(range(1, len(citations) + 1))
    assert "**出典**" in answer and f"`{citations[0]['doc_id']}`" in answer
    for c in citations:
        check_passage(c, client)


def test_ask_english(client):
    body = client.post("/v1/ask", json={"question": "Who is Mistral's CTO?", "k": 5}).json()
    assert body["found"] is True and body["lang"] == "en"
    assert "[1]" in body["answer"] and "**Sources**" in body["answer"]
    assert body["citations"][0]["citation"] == 1


# -- OpenAI-compatible chat ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def openai_client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_openai_client_models(openai_client):
    assert [m.id for m in openai_client.models.list().data] == ["kotae"]


def test_openai_client_chat(openai_client):
    r = openai_client.chat.completions.create(model="kotae", messages=[
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Mistral AIが買収した会社はどこですか？"}])
    text = r.choices[0].message.content
    assert r.object == "chat.completion" and r.choices[0].finish_reason == "stop"
    assert "Koyeb" in text and "[1]" in text and "**出典**" in text
    extra = r.model_extra
    assert extra["found"] is True and extra["citations"][0]["citation"] == 1
    assert PASSAGE_FIELDS <= set(extra["citations"][0])


def test_openai_client_streaming(openai_client):
    stream = openai_client.chat.completions.create(model="kotae", stream=True, messages=[
        {"role": "user", "content": "Mistral AIが買収した会社はどこですか？"}])
    pieces, finals = [], []
    for chunk in stream:
        delta = chunk.choices[0].delta
        if delta.content:
            pieces.append(delta.content)
        if chunk.choices[0].finish_reason:
            finals.append(chunk)
    text = "".join(pieces)
    assert len(pieces) > 3  # really streamed, not one blob
    assert "Koyeb" in text and "[1]" in text and "**出典**" in text
    assert len(finals) == 1 and finals[0].model_extra["citations"][0]["citation"] == 1


def test_sse_wire_format_ends_with_done(client):
    with client.stream("POST", "/v1/chat/completions", json={"model": "kotae", "stream": True,
                                                             "messages": [{"role": "user", "content": "Who founded Mistral AI?"}]}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line.startswith("data:")]
    assert events[-1] == "data: [DONE]"
    assert '"role": "assistant"' in events[0]


def test_chat_follow_up_uses_earlier_turn(client):
    r = client.post("/v1/chat/completions", json={"model": "kotae", "messages": [
        {"role": "user", "content": "Mistral AIが買収した会社はどこですか？"},
        {"role": "assistant", "content": "Koyeb です。[1]"},
        {"role": "user", "content": "それはいつ？"}]}).json()
    assert r["found"] is True
    assert any(c["doc_id"] == KOYEB_DOC for c in r["citations"])


# -- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,body,field", [
    ("/v1/ask", {"question": ""}, "question"),
    ("/v1/ask", {"question": "   \n"}, "question"),
    ("/v1/ask", {"question": "あ" * 2001}, "question"),
    ("/v1/ask", {}, "question"),
    ("/v1/ask", {"question": "Mistral", "k": 0}, "k"),
    ("/v1/ask", {"question": "Mistral", "extra": 1}, "extra"),
    ("/v1/search", {"query": "Mistral", "k": 500}, "k"),
    ("/v1/search", {"query": "Mistral", "filters": {"lang": "japanese"}}, "filters.lang"),
    ("/v1/chat/completions", {"model": "kotae", "messages": []}, "messages"),
    ("/v1/chat/completions", {"model": "kotae", "messages": [{"role": "user", "content": " "}]}, "messages"),
    ("/v1/chat/completions", {"model": "kotae", "messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
])
def test_validation_errors_name_the_field(client, path, body, field):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["field"] == field and err["param"] == field
    assert err["message"].startswith(field) and err["details"][0]["problem"]


def test_invalid_json_is_422(client):
    r = client.post("/v1/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["error"]["message"]


def test_unknown_document_model_and_route_are_404(client):
    r = client.get("/v1/documents/no/such/doc.txt")
    assert r.status_code == 404 and r.json()["error"]["field"] == "doc_id"
    r = client.post("/v1/chat/completions", json={"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and "error" in r.json()


def test_documents_list_and_read(client):
    body = client.get("/v1/documents").json()
    ids = [d["doc_id"] for d in body["documents"]]
    assert len(ids) == 5 and KOYEB_DOC in ids
    assert all(d["status"] == "indexed" and d["passages"] > 0 for d in body["documents"])
    doc = client.get(f"/v1/documents/{KOYEB_DOC}").json()
    assert doc["chars"] == len(doc["text"]) and "Koyeb" in doc["title"]
    assert doc["passages"] and doc["passages"][0]["char_end"] <= doc["chars"]


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    for path in ("/healthz", "/readyz", "/v1/search", "/v1/ask", "/v1/chat/completions", "/v1/models",
                 "/v1/documents", "/v1/documents/{doc_id}"):
        assert path in spec["paths"], path
    assert "422" in spec["paths"]["/v1/ask"]["post"]["responses"]
    assert spec["components"]["schemas"]["AskRequest"].get("examples")
    assert client.get("/docs").status_code == 200


def test_chat_page_is_served(client):
    r = client.get("/")
    assert r.status_code == 200 and "app.js" in r.text
    assert client.get("/static/app.js").status_code == 200


# -- a writable server: API key, uploads, deletes, generation via a stub LLM -----------------------------

@pytest.fixture(scope="module")
def stub_llm():
    s = LiveServer(stub_llm_app(), free_port()).start(ready_path=None)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def writable(corpus_settings, stub_llm, tmp_path_factory):
    """A copy of corpus/ and of its index (so nothing is re-embedded), with an API key,
    a 50 kB upload limit and the stub language model."""
    root = tmp_path_factory.mktemp("writable")
    shutil.copytree(corpus_settings.corpus_dir, root / "corpus")
    shutil.copytree(corpus_settings.index_dir, root / "index", ignore=shutil.ignore_patterns(".lock", ".build-*"))
    settings = corpus_settings.replace(corpus_dir=root / "corpus", index_dir=root / "index", api_key=KEY,
                                       max_upload_mb=0.05, llm_base_url=stub_llm.url + "/v1", llm_model="stub-mistral")
    with live_server(settings) as s:
        s.corpus = root / "corpus"
        yield s


def auth(key: str = KEY) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_api_key_is_required_and_checked(writable):
    with httpx.Client(base_url=writable.url, timeout=60) as c:
        assert c.get("/healthz").status_code == 200  # liveness stays open
        r = c.post("/v1/search", json={"query": "Mistral"})
        assert r.status_code == 401 and r.json()["error"]["field"] == "Authorization"
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert c.post("/v1/search", json={"query": "Mistral"}, headers=auth("wrong")).status_code == 401
        assert c.post("/v1/search", json={"query": "Mistral"}, headers=auth()).status_code == 200
        r = c.post("/v1/documents", files={"file": ("a.txt", b"hello world, a document.")})
        assert r.status_code == 401
        assert c.delete(f"/v1/documents/{KOYEB_DOC}").status_code == 401


def test_upload_rejects_bad_types_sizes_and_contents(writable):
    with httpx.Client(base_url=writable.url, timeout=60, headers=auth()) as c:
        r = c.post("/v1/documents", files={"file": ("report.docx", b"PK\x03\x04 not really", "application/octet-stream")})
        assert r.status_code == 415 and r.json()["error"]["field"] == "file"
        r = c.post("/v1/documents", files={"file": ("big.txt", "あ".encode() * 30_000)})  # 90 kB > 50 kB
        assert r.status_code == 413 and r.json()["error"]["field"] == "file"
        r = c.post("/v1/documents", files={"file": ("empty.txt", b"")})
        assert r.status_code == 422 and "empty" in r.json()["error"]["message"]
        r = c.post("/v1/documents", files={"file": ("x.txt", b"some text")}, data={"doc_id": "../escape.txt"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "doc_id"
    assert sorted(p.name for p in writable.corpus.iterdir()) == sorted(p.name for p in (REPO / "corpus").iterdir())


UPLOAD = """# 社内メモ：カピバラ温泉

カピバラ温泉の営業時間は午前九時から午後五時までです。定休日は毎週水曜日で、入浴料は大人八百円です。

## English summary

The Capybara Hot Spring is open from 9 am to 5 pm and closed on Wednesdays.
"""


def test_upload_is_searchable_and_searches_continue_during_ingest(writable):
    question = {"question": "カピバラ温泉の定休日はいつですか？", "k": 3}
    with httpx.Client(base_url=writable.url, timeout=120, headers=auth()) as c:
        before = c.post("/v1/ask", json=question).json()
        assert all(x["doc_id"] != "notes/capybara.md" for x in before["citations"])

        result: dict = {}

        def upload():
            result["response"] = c.post("/v1/documents", files={"file": ("capybara.md", UPLOAD.encode(), "text/markdown")},
                                        data={"doc_id": "notes/capybara.md"})

        t = threading.Thread(target=upload)
        t.start()
        served_during_ingest = 0
        with httpx.Client(base_url=writable.url, timeout=60, headers=auth()) as other:
            while t.is_alive():
                ingesting = other.get("/readyz").json()["ingesting"]
                r = other.post("/v1/search", json={"query": "Mistral AIの本社", "k": 2})
                assert r.status_code == 200 and r.json()["passages"]
                if ingesting and t.is_alive():
                    served_during_ingest += 1
                time.sleep(0.05)
        t.join()
        r = result["response"]
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "indexed" and r.json()["index"]["documents"] == 6
        assert served_during_ingest >= 1

        after = c.post("/v1/ask", json=question).json()
        assert after["citations"][0]["doc_id"] == "notes/capybara.md"
        assert any(d["doc_id"] == "notes/capybara.md" for d in c.get("/v1/documents").json()["documents"])
        assert "カピバラ" in c.get("/v1/documents/notes/capybara.md").json()["text"]

        # Same id again: replaced (200), nothing new to embed.
        r = c.post("/v1/documents", files={"file": ("capybara.md", UPLOAD.encode())}, data={"doc_id": "notes/capybara.md"})
        assert r.status_code == 200 and r.json()["replaced"] is True

        r = c.delete("/v1/documents/notes/capybara.md")
        assert r.status_code == 200 and r.json()["index"]["documents"] == 5
        assert c.get("/v1/documents/notes/capybara.md").status_code == 404
        assert c.delete("/v1/documents/notes/capybara.md").status_code == 404
        assert not (writable.corpus / "notes" / "capybara.md").exists()


def test_llm_generation_keeps_only_valid_citations(writable, stub_llm):
    with httpx.Client(base_url=writable.url, timeout=60, headers=auth()) as c:
        body = c.post("/v1/ask", json={"question": "Mistral AIが買収した会社はどこですか？", "k": 3}).json()
    assert body["mode"] == "llm" and body["warning"] is None
    text = body["answer"]
    assert text.startswith("Mistral AI acquired Koyeb [1]. It was its first acquisition [1][2]. A made-up claim.")
    assert "[9]" not in text and "[3]" not in text
    assert [c["citation"] for c in body["citations"]] == [1, 2]
    sent = stub_llm.server.config.app.state.requests[-1]
    assert sent["model"] == "stub-mistral"
    assert "[1]" in sent["messages"][-1]["content"] and "[3]" in sent["messages"][-1]["content"]  # the numbered passages


def test_llm_streaming_through_openai_client(writable):
    from openai import OpenAI

    client = OpenAI(base_url=writable.url + "/v1", api_key=KEY, max_retries=0)
    stream = client.chat.completions.create(model="kotae", stream=True, messages=[{"role": "user", "content": "Who acquired Koyeb?"}])
    chunks = list(stream)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert text.startswith("Mistral AI acquired Koyeb [1]. It was its first acquisition [1][2]. A made-up claim.")
    assert "[9]" not in text and "**Sources**" in text
    assert [c["citation"] for c in chunks[-1].model_extra["citations"]] == [1, 2]


def test_llm_failure_falls_back_to_extractive_with_warning(writable):
    with httpx.Client(base_url=writable.url, timeout=60, headers=auth()) as c:
        body = c.post("/v1/ask", json={"question": "Mistral AIが買収した会社はどこですか？ UPSTREAM-FAIL"}).json()
        assert body["mode"] == "extractive" and body["found"] is True
        assert "HTTP 500" in body["warning"] and "extractive" in body["warning"]
        r = c.post("/v1/chat/completions", json={"model": "kotae", "stream": True, "messages": [
            {"role": "user", "content": "Mistral AIが買収した会社はどこですか？ UPSTREAM-FAIL"}]})
    finals = [line for line in r.text.splitlines() if '"finish_reason": "stop"' in line]
    assert "HTTP 500" in finals[0] and "Koyeb" in r.text


def test_unreachable_llm_falls_back(corpus_settings):
    settings = corpus_settings.replace(llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_model="nobody")
    with live_server(settings) as s:
        body = httpx.post(s.url + "/v1/ask", json={"question": "Who is Mistral's CTO?"}, timeout=60).json()
    assert body["mode"] == "extractive" and "unreachable" in body["warning"] and "[1]" in body["answer"]


# -- the command line: `kotae serve` (what `make run` starts) --------------------------------------

def test_kotae_serve_command(corpus_settings):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kotae.service.cli", "serve", "--port", str(port), "--index", str(corpus_settings.index_dir),
         "--cache-dir", str(corpus_settings.cache_dir), "--corpus", str(corpus_settings.corpus_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if status.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert status is not None and status.status_code == 200, proc.stdout.read() if proc.poll() is not None else "not ready"
        r = httpx.post(f"http://127.0.0.1:{port}/v1/search", json={"query": "Koyeb", "k": 1}, timeout=30)
        assert r.json()["passages"][0]["doc_id"] == KOYEB_DOC
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    # The server log: one timestamped line per event, the request in the access log, and no
    # progress bars or library loader chatter (tqdm bars end with \r, not \n).
    log = proc.stdout.read()
    lines = log.splitlines()
    assert any('"POST /v1/search HTTP/1.1" 200' in line for line in lines), log
    for bad in ("Loading weights", "Batches", "faiss.loader", "Loading faiss", "\r", "Traceback"):
        assert bad not in log, f"{bad!r} in the server log:\n{log}"
    stamped = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")
    assert all(stamped.match(line) for line in lines), log
