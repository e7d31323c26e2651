"""Server log lines: one line per event whatever the message, tracebacks folded unless at
debug level, KOTAE_LOG_LEVEL validated. (`kotae serve`'s real log is checked in
tests/test_http.py::test_kotae_serve_command.)"""

from __future__ import annotations

import logging
import re
import sys

import pytest

from kotae.service.logs import OneLineFormatter, configure, level_number

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


def _record(msg: str, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise KeyError("missing\nkey")
        except KeyError:
            exc_info = sys.exc_info()
    return logging.LogRecord("kotae.service", logging.ERROR, __file__, 1, msg, None, exc_info)


def test_a_traceback_is_one_line_naming_the_exception_and_place():
    text = OneLineFormatter().format(_record("request failed", exc=True))
    assert "\n" not in text and LINE.match(text)
    assert "request failed [KeyError: 'missing\\nkey' at test_logs.py:" in text


def test_multi_line_messages_are_joined():
    text = OneLineFormatter().format(_record("first line\n    second line\n"))
    assert text.endswith("first line | second line") and "\n" not in text


def test_debug_level_keeps_the_full_traceback():
    text = OneLineFormatter(full_tracebacks=True).format(_record("request failed", exc=True))
    assert "Traceback (most recent call last)" in text and text.count("\n") > 2


def test_log_level_is_checked_and_library_chatter_is_quiet():
    with pytest.raises(ValueError, match="KOTAE_LOG_LEVEL='loud': choose one of debug, info, warning, error"):
        level_number("loud")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        config = configure("INFO")
        assert logging.getLogger("faiss.loader").getEffectiveLevel() == logging.WARNING
        assert config["loggers"]["uvicorn.access"]["level"] == logging.INFO
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
        logging.captureWarnings(False)
