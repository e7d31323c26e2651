"""Real kotae servers for the HTTP tests: uvicorn on a free port, in a thread of the test
process (so the embedding model loaded for the session is shared), plus a stub of an
OpenAI-compatible language model server (the real LLM cannot run here)."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, port: int):
        import uvicorn

        from kotae.service.transport import uvicorn_options

        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                                    **uvicorn_options()))
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{port}", daemon=True)

    def start(self, ready_path: str | None = "/readyz", timeout: float = 120.0) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started:
                if ready_path is None:
                    return self
                try:
                    r = httpx.get(self.url + ready_path, timeout=5)
                    if r.status_code == 200:
                        return self
                    body = r.json()
                    if body.get("reason") and "loading" not in body["reason"]:
                        raise RuntimeError(f"server not ready: {body['reason']}")
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        raise TimeoutError(f"server on {self.url} not ready after {timeout} s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def live_server(settings) -> Iterator[LiveServer]:
    from kotae.service.app import create_app

    server = LiveServer(create_app(settings), free_port()).start()
    try:
        yield server
    finally:
        server.stop()


# -- a stub OpenAI-compatible upstream -------------------------------------------------------------

STUB_ANSWER = "Mistral AI acquired Koyeb [1]. It was its first acquisition [1, 2]. A made-up claim [9]."


def stub_llm_app():
    """Answers every chat completion with STUB_ANSWER (citing one passage that does not exist),
    fails with HTTP 500 when the question contains 'UPSTREAM-FAIL', and records the requests."""
    app = FastAPI()
    app.state.requests = []

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        app.state.requests.append(body)
        prompt = body["messages"][-1]["content"]
        if "UPSTREAM-FAIL" in prompt:
            return JSONResponse({"error": {"message": "model crashed"}}, status_code=500)
        if not body.get("stream"):
            return {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": STUB_ANSWER}, "finish_reason": "stop"}]}

        async def events():
            # Split so that markers straddle chunk boundaries: "[" | "1]", "[1," | " 2]".
            for piece in ("Mistral AI acquired Koyeb [", "1]. It was its first acquisition [1,", " 2]. A made-up", " claim [9", "]."):
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app
