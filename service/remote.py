"""`kotae ask` through a running `kotae serve` on the same index.

The answer is the server's own (/v1/ask): scored with the index's term weights, with its
abstention decision and confidence, exactly what a script calling /v1/ask gets; the passages
shown under it come from /v1/search.

Loading the model and opening the index costs a one-shot `kotae ask` seconds (a minute on a busy
machine); a server that already has them answers in milliseconds. The CLI asks the configured
server's /readyz (a short timeout: no server means a fast fallback) and uses it only when it
serves the very index the CLI would open: the same generation (generation names are unique: a
local generation folder, or a database's index id and generation number), and the same
retrieval mode and embedder. Anything else (no server, another index, an error) falls back to the local
retriever, so the answer never depends on which path was taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kotae.index.search import Hit, SearchResult
from kotae.service.answer import Answer, sources_block
from kotae.settings import Settings

_PROBE_TIMEOUT_S = 0.5
_SEARCH_TIMEOUT_S = 60.0


def _base_url(settings: Settings) -> str:
    host = settings.host
    if host in ("0.0.0.0", "", "::"):  # listening everywhere: reach it on loopback
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _index_generation(settings: Settings) -> str | None:
    """The generation the CLI would open (local folder or database), or None."""
    from kotae.index.backends import BackendError, make_backend

    try:
        backend = make_backend(settings)
    except BackendError:
        return None
    try:
        return backend.generation()
    except Exception:  # noqa: BLE001 - no index, an unreachable database: search locally, which says why
        return None
    finally:
        backend.close()


@dataclass
class RemoteRetriever:
    """Searches through a running server's /v1/search; results shaped like a local search's."""

    url: str
    headers: dict[str, str]

    def search(self, query: str, k: int = 5) -> SearchResult:
        import httpx

        r = httpx.post(self.url + "/v1/search", json={"query": query, "k": k}, headers=self.headers, timeout=_SEARCH_TIMEOUT_S)
        r.raise_for_status()
        body = r.json()
        # the API's passages carry no stored id: doc id and span name them well enough here
        hits = [Hit(id=f"{p['doc_id']}@{p['char_start']}-{p['char_end']}", doc_id=p["doc_id"], title=p["title"], section=p.get("section"), page=p.get("page"),
                    char_start=p["char_start"], char_end=p["char_end"], text=p["text"], lang=p["lang"], kind="body",
                    score=p["score"], scores=p.get("scores", {}), highlight=tuple(p.get("highlight") or (0, 0)))
                for p in body["passages"]]
        return SearchResult(query=query, lang=body["lang"], hits=hits, timings=body.get("timings", {}),
                            found=body.get("found", True), confidence=body.get("confidence"))

    def ask(self, question: str, k: int = 5) -> Answer:
        import httpx

        r = httpx.post(self.url + "/v1/ask", json={"question": question, "k": k}, headers=self.headers, timeout=_SEARCH_TIMEOUT_S)
        r.raise_for_status()
        body = r.json()
        text, citations, lang = body["answer"], body["citations"], body["lang"]
        sources = sources_block(citations, lang)  # the CLI shows the sources itself (Answer.text)
        if sources and text.endswith(sources):
            text = text[: -len(sources)].rstrip()
        return Answer(text, citations, body["found"], lang, body.get("mode", "extractive"), body.get("warning"),
                      body.get("timings", {}), body.get("confidence"))


def find_server(settings: Settings, mode: str | None = None) -> RemoteRetriever | None:
    """A retriever backed by a running server on the same index, or None (then search locally)."""
    import httpx

    generation = _index_generation(settings)
    if generation is None:
        return None
    url = _base_url(settings)
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    try:
        r = httpx.get(url + "/readyz", headers=headers, timeout=_PROBE_TIMEOUT_S)
        status = r.json() if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(status, dict) or status.get("generation") != generation:
        return None
    if status.get("retrieval_mode") != (mode or settings.retrieval_mode):
        return None
    if (status.get("embedder") or {}).get("name") != settings.model:
        return None  # the local path reports the mismatch in its own words
    return RemoteRetriever(url, headers)


class _ServerFirst:
    """The server while it answers; the local retriever (opened then) if it stops answering."""

    def __init__(self, remote: RemoteRetriever, open_local):
        self._remote: RemoteRetriever | None = remote
        self._open_local = open_local
        self._local = None

    def search(self, query: str, k: int = 5) -> SearchResult:
        import httpx

        if self._remote is not None:
            try:
                return self._remote.search(query, k)
            except (httpx.HTTPError, ValueError, KeyError):
                self._remote = None
        if self._local is None:
            self._local = self._open_local()
        return self._local.search(query, k=k)

    def ask(self, question: str, k: int = 5) -> Answer | None:
        """The server's answer, or None when it stopped answering (then the caller answers locally)."""
        import httpx

        if self._remote is not None:
            try:
                return self._remote.ask(question, k)
            except (httpx.HTTPError, ValueError, KeyError):
                self._remote = None
        return None


def ask_retriever(settings: Settings, mode: str | None = None, use_server: bool = True):
    """What `kotae ask` searches with: a running server on the same index if there is one, else
    the local index (opened only when needed)."""
    from kotae.index.engine import open_retriever

    remote = find_server(settings, mode) if use_server else None
    if remote is None:
        return open_retriever(settings)
    return _ServerFirst(remote, lambda: open_retriever(settings))
