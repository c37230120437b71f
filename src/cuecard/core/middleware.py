"""Pure ASGI middleware: request ids, the body-size limit and the request guard, plus headers
that inner layers ask to add to the response (cheaper than BaseHTTPMiddleware).

Everything here applies to every route, so endpoints added later get the same rules for free.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cuecard.core.errors import (
    AppError,
    HeadersTooLarge,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
    error_body,
)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RequestIdMiddleware:
    """Gives every request an id (the client's X-Request-ID if sane) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode(
            "latin-1"
        )
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message["headers"] = [*headers, header]
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes`: from Content-Length without reading when it is declared,
    otherwise while the body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _send_too_large(scope, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge()
            return message

        await self.app(scope, limited_receive, send)


async def _send_too_large(scope: Scope, send: Send) -> None:
    await send_error(scope, send, PayloadTooLarge(), close=True)


async def send_error(scope: Scope, send: Send, err: AppError, *, close: bool = False) -> None:
    """Answer with `err` in the envelope from middleware, before any route runs."""
    body = json.dumps(error_body(err.message, err.code, err.errors)).encode()
    request_id = scope.get("state", {}).get("request_id", "")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        *((k.lower().encode(), v.encode()) for k, v in (err.headers or {}).items()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": err.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_JSON_TYPES = (b"application/json", b"application/problem+json")
_BAD_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RequestGuardMiddleware:
    """Refuses what no route should see, each in the envelope:

    - headers larger than `max_header_bytes` in total (431);
    - control characters (NUL and the like) or invalid UTF-8 in the path (404: no resource has
      such a name) or the query string (422), which PostgreSQL would refuse to compare.
    """

    def __init__(self, app: ASGIApp, max_header_bytes: int) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = self._check(scope)
        if error is not None:
            await send_error(scope, send, error)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> AppError | None:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if sum(len(k) + len(v) for k, v in headers) > self.max_header_bytes:
            return HeadersTooLarge()
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if not _clean_text(unquote_to_bytes(raw_path)):
            return NotFound("The route could not be found.")
        query: bytes = scope.get("query_string", b"")
        if query and not _clean_text(unquote_to_bytes(query.replace(b"+", b" "))):
            return ValidationFailed(
                {
                    "query": [
                        "The query string must not contain control characters or invalid UTF-8."
                    ]
                }
            )
        return None


def _clean_text(value: bytes) -> bool:
    if _BAD_BYTES.search(value):
        return False
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def is_json(content_type: bytes) -> bool:
    """`application/json` or `application/*+json`, in UTF-8 if a charset is given."""
    media, _, params = content_type.lower().partition(b";")
    media = media.strip()
    if media not in _JSON_TYPES and not (
        media.startswith(b"application/") and media.endswith(b"+json")
    ):
        return False
    for param in params.split(b";"):
        name, _, value = param.strip().partition(b"=")
        if name == b"charset" and value.strip(b'" ') not in (b"utf-8", b"utf8"):
            return False
    return True


class ResponseHeadersMiddleware:
    """Adds the headers inner layers put in `scope["state"]["response_headers"]` (rate limits,
    idempotent replays) to whatever response leaves, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra: dict[str, str] | None = state.get("response_headers")
                if extra:
                    names = {k.lower().encode() for k in extra}
                    kept = [h for h in message.get("headers", []) if h[0] not in names]
                    message["headers"] = [
                        *kept,
                        *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_response_headers(scope: Scope, headers: dict[str, str]) -> None:
    scope.setdefault("state", {}).setdefault("response_headers", {}).update(headers)
