"""Server logs: one line per event (requests, ingests, errors), level from KOTAE_LOG_LEVEL.

Libraries the server loads are chatty in ways that do not belong in a service log: the
transformers weight loader and sentence-transformers draw tqdm progress bars, and faiss logs
which CPU build it loaded. Those are silenced here; the interactive CLI keeps its bars.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Any

LEVELS = ("debug", "info", "warning", "error")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# Third-party loggers whose INFO lines describe library internals, not service events.
QUIET = ("faiss", "faiss.loader", "sentence_transformers", "transformers", "httpx", "multipart", "filelock", "urllib3")


class OneLineFormatter(logging.Formatter):
    """Every record is one line: a multi-line message (a Python warning with its source line)
    is joined with " | ", and a traceback becomes its exception type, message and the place it
    was raised, except at debug level, where the full traceback is what a bug report needs."""

    def __init__(self, full_tracebacks: bool = False):
        super().__init__(FORMAT, DATE_FORMAT)
        self.full_tracebacks = full_tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.full_tracebacks:
            return super().format(record)
        exc_info, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            text = super().format(record)
        finally:
            record.exc_info = exc_info
        if exc_info and exc_info[1] is not None:
            exc_type, exc, tb = exc_info
            where = traceback.extract_tb(tb)[-1] if tb else None
            text += f" [{exc_type.__name__}: {exc}" + (f" at {os.path.basename(where.filename)}:{where.lineno}]" if where else "]")
        return " | ".join(part.strip() for part in text.splitlines() if part.strip())


def level_number(name: str) -> int:
    if name.lower() not in LEVELS:
        raise ValueError(f"KOTAE_LOG_LEVEL={name!r}: choose one of {', '.join(LEVELS)}")
    return getattr(logging, name.upper())


def configure(level_name: str) -> dict[str, Any]:
    """Set up the process's logging for `kotae serve`; returns uvicorn's `log_config`, so its
    access and error logs use the same one-line format."""
    level = level_number(level_name)
    # Read by huggingface_hub (and through it transformers) when first imported.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(full_tracebacks=level <= logging.DEBUG))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # Python warnings go through the same one-line handler
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": OneLineFormatter, "full_tracebacks": level <= logging.DEBUG}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stderr"}},
        "loggers": {name: {"handlers": ["stderr"], "level": level, "propagate": False}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
