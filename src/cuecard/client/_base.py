"""What the sync and async clients share: configuration, request descriptions, decoding,
error mapping and the retry policy. Only the sending loop differs between the two."""

from __future__ import annotations

import email.utils
import os
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from cuecard import __version__
from cuecard.client._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    CuecardError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_BACKOFF = 0.5
MAX_BACKOFF = 8.0
# A Retry-After longer than this is a server asking us to come back much later: give up and let
# the caller decide, rather than block silently.
MAX_RETRY_AFTER = 60.0

_STATUS_ERRORS: dict[int, type[APIError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API request and how to read its success body.

    `idempotent` marks requests that are safe to send twice: only those are retried. Every
    write carries an `Idempotency-Key`, one per call and the same on each retry, so a server
    that honours it (Cuecard does) applies a retried write once.
    """

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    idempotent: bool = False
    idempotency_key: str | None = field(default=None)

    def __post_init__(self) -> None:
        if self.idempotency_key is None and self.method in WRITE_METHODS:
            object.__setattr__(self, "idempotency_key", uuid.uuid4().hex)

    def headers(self, base: dict[str, str]) -> dict[str, str]:
        if self.idempotency_key is None:
            return base
        return {**base, "Idempotency-Key": self.idempotency_key}


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def resolve_config(base_url: str | None, token: str | None) -> tuple[str, str]:
    base_url = base_url or os.environ.get("CUECARD_URL")
    token = token or os.environ.get("CUECARD_TOKEN")
    if not base_url:
        raise CuecardError("No server URL: pass base_url or set CUECARD_URL.")
    if not token:
        raise CuecardError("No token: pass token or set CUECARD_TOKEN.")
    return normalize_base_url(base_url), token


def normalize_base_url(url: str) -> str:
    """Accept both the server root and the documented API base (`https://host/api/v1`)."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise CuecardError(f"The server URL must start with http:// or https://, got {url!r}.")
    return url.removesuffix("/api/v1")


def default_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "User-Agent": f"cuecard-python/{__version__}",
    }


def decode_success(call: Call[T], response: httpx.Response) -> T:
    body: Any = None
    try:
        if response.content.strip():  # empty: a 204, or a 200 delete without a body
            body = response.json()
        return call.parse(body)
    except (ValueError, KeyError, TypeError) as exc:
        # The server said yes but in a shape we cannot read: a proxy's HTML page, or a server
        # that is not Talkover-compatible. Never hand back half-read data.
        raise APIError(
            response.status_code,
            "INVALID_RESPONSE",
            f"Unexpected response to {call.method} {call.path}: {str(exc)[:300]}",
            body=body,
            request_id=response.headers.get("x-request-id"),
        ) from exc


def error_from_response(response: httpx.Response) -> APIError:
    """Map an error response to the exception tree.

    Talkover-compatible servers word errors several ways (`{"message", "code", "errors"}`,
    `{"error": {"code", "message"}}`, `{"error": "CODE", "message"}`, or plain text); all of them
    land in the same fields.
    """
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text or None
    message, code, errors = _error_fields(body)
    if not message:
        message = response.reason_phrase or f"HTTP {status}"
    cls = _STATUS_ERRORS.get(status, ServerError if status >= 500 else APIError)
    request_id = response.headers.get("x-request-id")
    if cls is RateLimitError:
        return RateLimitError(
            status,
            code,
            message,
            errors,
            body=body,
            request_id=request_id,
            retry_after=retry_after(response),
        )
    return cls(status, code, message, errors, body=body, request_id=request_id)


def _error_fields(body: Any) -> tuple[str | None, str | None, dict[str, list[str]]]:
    if not isinstance(body, dict):
        text = body.strip()[:500] if isinstance(body, str) else None
        return text or None, None, {}
    message = body.get("message")
    code = body.get("code")
    nested = body.get("error")
    if isinstance(nested, dict):
        message = message or nested.get("message")
        code = code or nested.get("code")
    elif isinstance(nested, str):
        code = code or nested
    raw = body.get("errors")
    errors: dict[str, list[str]] = {}
    if isinstance(raw, dict):
        errors = {
            str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in raw.items()
        }
    elif isinstance(raw, list):
        errors = {"body": [str(m) for m in raw]}
    return (
        str(message) if message else None,
        str(code) if code else None,
        errors,
    )


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def transport_error(exc: httpx.TransportError, call: Call[Any]) -> APIConnectionError:
    what = f"{call.method} {call.path}"
    if isinstance(exc, httpx.TimeoutException):
        error: APIConnectionError = APITimeoutError(f"Timed out on {what}: {exc}")
    else:
        error = APIConnectionError(f"Could not complete {what}: {exc or type(exc).__name__}")
    error.__cause__ = exc
    return error


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_factor: float = DEFAULT_BACKOFF

    def delay(
        self, call: Call[Any], attempt: int, error: CuecardError, response: httpx.Response | None
    ) -> float | None:
        """Seconds to wait before retrying after `attempt` failed (0-based), or None to give up.

        Only requests that are safe to repeat are retried, and only for failures that may pass:
        connection errors, 429 and 5xx. A Retry-After header wins over our own backoff.
        """
        if not call.idempotent or attempt >= self.max_retries:
            return None
        in_progress = (
            isinstance(error, ConflictError) and error.code == "IDEMPOTENCY_KEY_IN_PROGRESS"
        )
        if isinstance(error, RateLimitError | ServerError) or in_progress:
            asked = retry_after(response) if response is not None else None
            if asked is not None:
                return asked if asked <= MAX_RETRY_AFTER else None
        elif not isinstance(error, APIConnectionError):
            return None
        ceiling = min(MAX_BACKOFF, self.backoff_factor * 2.0**attempt)
        # Jitter spreads out clients that failed together so they do not retry in lockstep.
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 (not cryptographic)
