"""Errors the service raises for the HTTP layer to turn into JSON (status, field, code)."""

from __future__ import annotations


class ServiceError(Exception):
    """An error with an HTTP status, the request field it concerns, and a message."""

    def __init__(self, status: int, message: str, field: str | None = None, code: str = "invalid_request",
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.field, self.code, self.headers = status, message, field, code, headers


class NotReady(ServiceError):
    def __init__(self, message: str):
        super().__init__(503, message, None, "not_ready", {"Retry-After": "5"})


class CorpusUnavailable(ServiceError):
    """The corpus folder is missing or unreadable: writing now could lose documents."""

    def __init__(self, message: str):
        super().__init__(503, message, None, "corpus_unavailable", {"Retry-After": "30"})
