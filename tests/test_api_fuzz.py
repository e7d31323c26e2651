"""Schemathesis against the live OpenAPI schema of a real kotae server (uvicorn, real model,
copy of corpus/ and its index, an API key, the stub language model): no 5xx, every response
conforms to the schema (status code, content type, body, headers).

Generated cases include uploads and deletes, so the server works on a copy of the corpus.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from kotae_server import LiveServer, free_port, live_server, stub_llm_app  # noqa: E402

KEY = "fuzz-key-0123456789"
MAX_EXAMPLES = int(os.environ.get("KOTAE_FUZZ_EXAMPLES", "12"))  # per operation; ~40 s in total here


@pytest.fixture(scope="module")
def fuzz_server(corpus_settings, tmp_path_factory):
    llm = LiveServer(stub_llm_app(), free_port()).start(ready_path=None)
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(corpus_settings.corpus_dir, root / "corpus")
    shutil.copytree(corpus_settings.index_dir, root / "index", ignore=shutil.ignore_patterns(".lock", ".build-*"))
    cfg = corpus_settings.replace(corpus_dir=root / "corpus", index_dir=root / "index", api_key=KEY,
                                  max_upload_mb=0.05, llm_base_url=llm.url + "/v1", llm_model="stub")
    try:
        with live_server(cfg) as server:
            yield server
    finally:
        llm.stop()


def test_api_conforms_to_its_schema_and_never_fails(fuzz_server):
    """Every operation of the live schema, fuzzed; failures are collected, then reported."""
    from hypothesis import given
    from schemathesis import checks

    # the bar: no 5xx, no response outside the schema. (positive_data_acceptance is
    # left out: a 422 for a semantic rule the schema cannot express, e.g. an empty last chat
    # message, is correct behaviour.)
    wanted = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
              checks.response_schema_conformance, checks.response_headers_conformance]

    api = schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")
    failures, operations = [], []
    for result in api.get_all_operations():
        operation = result.ok()
        operations.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
        def fuzz(case):
            headers = {"Authorization": f"Bearer {KEY}"}
            response = case.call_and_validate(headers=headers, checks=wanted, timeout=60)
            if isinstance(case.body, dict) and case.body.get("stream") is True and response.status_code == 200:
                # An SSE stream has no JSON schema to declare; its events are checked here instead.
                _check_sse(response.text)

        try:
            fuzz()
        except BaseException as exc:  # noqa: BLE001 - schemathesis' FailureGroup is a BaseExceptionGroup
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {exc}")
    assert len(operations) >= 8, operations
    assert not failures, "\n\n".join(failures)


def _check_sse(body: str) -> None:
    """Every event of a chat stream is `data: <chat.completion.chunk JSON>`, ending with [DONE]."""
    import json

    events = [e for e in body.split("\n\n") if e.strip()]
    assert events and events[-1].strip() == "data: [DONE]", events[-1:]
    for event in events[:-1]:
        assert event.startswith("data: "), event[:200]
        chunk = json.loads(event[len("data: "):])
        assert chunk["object"] == "chat.completion.chunk" and isinstance(chunk["choices"], list), chunk
