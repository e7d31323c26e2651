"""A minimal client for an OpenAI-compatible chat server (vLLM, llama.cpp server, Ollama, ...).

Only what answer generation needs: one chat completion, whole or streamed. Any failure —
connection refused, timeout, HTTP error, malformed body — is raised as :class:`LLMError`
so that the caller can fall back to the extractive answer.
"""

from __future__ import annotations

import json
from typing import AsyncIterator

import httpx


class LLMError(RuntimeError):
    pass


class LLMClient:
    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=httpx.Timeout(timeout, connect=5.0))

    async def aclose(self) -> None:
        await self._client.aclose()

    def _body(self, messages: list[dict[str, str]], stream: bool) -> dict:
        return {"model": self.model, "messages": messages, "stream": stream, "temperature": 0.1}

    async def complete(self, messages: list[dict[str, str]]) -> str:
        try:
            r = await self._client.post("/chat/completions", json=self._body(messages, False))
        except httpx.HTTPError as exc:
            raise LLMError(f"language model at {self.base_url} unreachable: {type(exc).__name__}") from exc
        if r.status_code != 200:
            raise LLMError(f"language model at {self.base_url} answered HTTP {r.status_code}")
        try:
            content = r.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"language model at {self.base_url} sent a malformed response") from exc
        if not isinstance(content, str) or not content.strip():
            raise LLMError(f"language model at {self.base_url} sent an empty answer")
        return content

    async def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        try:
            async with self._client.stream("POST", "/chat/completions", json=self._body(messages, True)) as r:
                if r.status_code != 200:
                    raise LLMError(f"language model at {self.base_url} answered HTTP {r.status_code}")
                async for line in r.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    try:
                        delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
                    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                        raise LLMError(f"language model at {self.base_url} sent a malformed stream") from exc
                    if delta:
                        yield delta
        except httpx.HTTPError as exc:
            raise LLMError(f"language model at {self.base_url} unreachable: {type(exc).__name__}") from exc
