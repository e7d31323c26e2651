"""How uvicorn serves kotae: the fast HTTP stack, with bounded waits for slow or idle clients.

Stack: httptools' C parser on uvloop when both are installed (they are kotae dependencies), else
h11 on asyncio. On the search path the event loop's own work per request (parsing, routing,
the JSON in and out) went from ~0.85 to ~0.55 CPU-ms with them (bench/README.md).

uvicorn closes idle keep-alive connections, but not a connection that trickles a request's
headers forever (slowloris): hundreds of those hold sockets and memory. Both protocols below
close a connection whose next request's headers are not complete HEADER_TIMEOUT seconds after it
opened or after its previous response, and refuse (400) headers over MAX_HEADER_BYTES (h11
counts them itself; httptools has no limit of its own). Slow *bodies* are bounded by the app
(app.BodyLimit: BODY_IDLE_TIMEOUT between chunks).
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0
KEEP_ALIVE_TIMEOUT = 5
MAX_HEADER_BYTES = 32 * 1024


class _HeaderDeadline:
    """The header timer shared by both protocols (mixed into a uvicorn protocol class)."""

    _header_timer: asyncio.TimerHandle | None = None
    _armed_for: Any = None

    def _arm(self) -> None:
        self._disarm()
        self._armed_for = self.cycle  # the request before the awaited one (None at first)
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        # no new request's headers since the timer was armed, and none still being answered
        idle = self.cycle is self._armed_for and (self.cycle is None or self.cycle.response_complete)
        if idle and not self.transport.is_closing():
            self.transport.close()


    # The protocol hooks both stacks share; super() reaches the uvicorn protocol mixed in after.
    def connection_made(self, transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


class HeaderTimeoutH11(_HeaderDeadline, H11Protocol):
    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._header_timer is not None and self.cycle is not self._armed_for:
            self._disarm()  # a new request's headers arrived


def _httptools_protocol() -> type | None:
    if importlib.util.find_spec("httptools") is None:
        return None
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeaderTimeoutHttpTools(_HeaderDeadline, HttpToolsProtocol):
        _header_bytes = 0

        # Parser callbacks. An exception raised in one makes httptools fail the feed, and uvicorn
        # answers 400 and closes the connection, as h11 does past h11_max_incomplete_event_size.
        def on_message_begin(self) -> None:
            self._header_bytes = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            self._header_bytes += size
            if self._header_bytes > MAX_HEADER_BYTES:
                raise ValueError(f"request headers over {MAX_HEADER_BYTES} bytes")

        def on_headers_complete(self) -> None:
            self._disarm()  # a new request's headers arrived
            super().on_headers_complete()

    return HeaderTimeoutHttpTools


HTTP_PROTOCOL: type = _httptools_protocol() or HeaderTimeoutH11
LOOP = "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for uvicorn.run / uvicorn.Config, shared by `kotae serve` and tests."""
    return {"http": HTTP_PROTOCOL, "loop": LOOP, "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES}


class CancelOnDisconnect:
    """A search, ask or chat whose client hangs up before the answer is cancelled, so its
    search is dropped from the batch queue (batch.py) instead of running for nobody: a
    wave of abandoned requests would otherwise delay everyone after it. Streams are
    cancelled by Starlette already; this covers the requests answered in one piece."""

    PATHS = frozenset({"/v1/search", "/v1/ask", "/v1/chat/completions"})

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.PATHS:
            return await self.app(scope, receive, send)
        body_read, gone = asyncio.Event(), asyncio.Event()
        answered = False

        async def app_receive():
            if body_read.is_set():  # after the body, the app only ever waits for the hang-up
                await gone.wait()
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            elif not message.get("more_body", False):
                body_read.set()
            return message

        async def app_send(message):
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, app_receive, app_send))

        async def watch():
            await body_read.wait()
            message = await receive()  # returns when the client hangs up or the response is complete
            if message["type"] == "http.disconnect" and not answered:
                gone.set()
                task.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await task
        except asyncio.CancelledError:
            if not gone.is_set():
                raise  # this request itself was cancelled (server shutdown)
        finally:
            watcher.cancel()
