"""The HTTP stack kotae serves with (service/transport.py): httptools on uvloop when installed,
h11 otherwise. Both must bound slow and oversized request headers, and keep serving pipelined
and keep-alive requests. A small app stands in for kotae's here (no model is needed); the full
app runs on the same stack in test_attacks.py and test_http.py."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI

from kotae.service import transport
from kotae_server import free_port

PROTOCOLS = {"h11": transport.HeaderTimeoutH11}
if transport.HTTP_PROTOCOL is not transport.HeaderTimeoutH11:
    PROTOCOLS["httptools"] = transport.HTTP_PROTOCOL


def test_the_fast_stack_is_the_default_when_installed():
    pytest.importorskip("httptools")
    pytest.importorskip("uvloop")
    options = transport.uvicorn_options()
    assert options["http"] is PROTOCOLS["httptools"] and options["loop"] == "uvloop"


@pytest.fixture(params=sorted(PROTOCOLS))
def server(request, monkeypatch):
    monkeypatch.setattr(transport, "HEADER_TIMEOUT", 1.0)
    app = FastAPI()

    @app.get("/ping")
    async def ping():
        return {"pong": True}

    port = free_port()
    options = {**transport.uvicorn_options(), "http": PROTOCOLS[request.param]}
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    srv.should_exit = True
    thread.join(10)


def _read_all(s: socket.socket, timeout: float = 5.0) -> bytes:
    s.settimeout(timeout)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def test_oversized_headers_are_refused_and_the_connection_closed(server):
    with socket.create_connection(("127.0.0.1", server)) as s:
        # sent in pieces, as a client trickling a huge header would: what the server buffers is bounded
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        try:
            for _ in range(2 * transport.MAX_HEADER_BYTES // 8192):
                s.sendall(b"a" * 8192)
                time.sleep(0.01)
            s.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed by the server while sending: refused
        reply = _read_all(s)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:100]
    # headers just under the limit are served
    with socket.create_connection(("127.0.0.1", server)) as s:
        fine = b"X-Fine: " + b"a" * (transport.MAX_HEADER_BYTES // 2) + b"\r\n"
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + fine + b"\r\n")
        reply = _read_all(s)
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b'{"pong":true}'), reply[:200]


def test_a_connection_trickling_its_headers_is_closed(server):
    with socket.create_connection(("127.0.0.1", server)) as s:
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        assert _read_all(s, timeout=5) == b""  # closed by the server, nothing answered
        assert time.monotonic() - started < 4


def test_an_idle_keep_alive_connection_after_a_response_is_closed_but_pipelined_requests_are_answered(server):
    request = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server)) as s:
        s.sendall(request * 3)  # pipelined: three requests in one write
        s.settimeout(5)
        data = b""
        while data.count(b'{"pong":true}') < 3:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        assert data.count(b"HTTP/1.1 200") == 3
        s.sendall(request)  # the same connection serves the next request
        data = b""
        while b'{"pong":true}' not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        # then, with no further request, the header deadline (1 s here) closes it
        assert _read_all(s, timeout=4) == b""
