"""
Our exception hierarchy:

* CuecardError                  anything this client raises on purpose
  x APIConnectionError          the server could not be reached, or the connection broke
    + APITimeoutError           no answer in time (also a builtin `TimeoutError`)
  x APIError                    the server answered with an error status
    + AuthenticationError       401: the token is missing, wrong or revoked
    + PermissionDeniedError     403: a valid token that may not do this (e.g. read-only)
    + NotFoundError             404: no such agent or training in the token's environment
    + ConflictError             409: e.g. deleting a published agent
    + ValidationError           422: `errors` maps each field to its messages
    + RateLimitError            429: `retry_after` says how long the server asked to wait
    + ServerError               5xx

`APIConnectionError` is also a builtin `ConnectionError` and `APITimeoutError` a builtin
`TimeoutError`, so code that already handles those keeps working. Any other error status (400,
405, 413...) raises `APIError` itself. Every `APIError` carries the HTTP `status`, the server's
machine-readable `code` when it sent one, its `message`, `errors` for validation failures, the
decoded `body` and the `request_id` to quote in a bug report.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ConflictError",
    "CuecardError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "ValidationError",
]


class CuecardError(Exception):
    """Base class of every error this client raises on purpose."""


class APIConnectionError(CuecardError, builtins.ConnectionError):
    """The request got no HTTP response: connection refused, reset, DNS failure..."""


class APITimeoutError(APIConnectionError, builtins.TimeoutError):
    """The server did not answer within the client's timeout."""


class APIError(CuecardError):
    """The server answered with an error status."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        errors: Mapping[str, list[str]] | None = None,
        *,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.errors: dict[str, list[str]] = dict(errors or {})
        self.body = body
        self.request_id = request_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        label = f"{self.status} {self.code}" if self.code else str(self.status)
        head = f"{label}: {self.message}"
        details = "; ".join(message for messages in self.errors.values() for message in messages)
        return f"{head} ({details})" if details else head


class AuthenticationError(APIError):
    """401."""


class PermissionDeniedError(APIError):
    """403."""


class NotFoundError(APIError):
    """404."""


class ConflictError(APIError):
    """409."""


class ValidationError(APIError):
    """422."""


class RateLimitError(APIError):
    """429."""

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        errors: Mapping[str, list[str]] | None = None,
        *,
        body: Any = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(status, code, message, errors, body=body, request_id=request_id)


class ServerError(APIError):
    """5xx."""
