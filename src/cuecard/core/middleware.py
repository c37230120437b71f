"""The app's ASGI stack: FastAPI's layers that Cuecard uses, and one layer of its own that every
request passes first and last (`EdgeMiddleware`).

Everything here applies to every route, so endpoints added later get the same rules for free.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cuecard.core.errors import (
    AppError,
    HeadersTooLarge,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
    error_body,
)
from cuecard.core.observability import RequestObserver

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class EdgeMiddleware:
    """What happens to every request before any route sees it and to every answer on its way
    out, in one ASGI layer (one coroutine and one wrapped `send` a request, not one per rule):

    - its id: the client's X-Request-ID if sane, else a new one, echoed on the answer;
    - what no route should see is refused in the envelope (`refusal`): headers over
      `max_header_bytes` (431), control characters or invalid UTF-8 in the path (404: no
      resource has such a name) or the query string (422), which PostgreSQL would refuse to
      compare, and a declared body over `max_body_bytes` (413, and the connection is closed);
      a body streaming in past the limit is refused as it arrives;
    - the headers inner layers ask for (`add_response_headers`: rate limits, idempotent
      replays) are added to whatever answer leaves, errors included;
    - `observer` records it: the access line, metrics and span (`core.observability`).
    """

    def __init__(
        self, app: ASGIApp, *, max_header_bytes: int, max_body_bytes: int,
        observer: RequestObserver,
    ) -> None:  # fmt: skip
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        incoming = next((v for k, v in headers if k == b"x-request-id"), b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        echoed = (b"x-request-id", request_id.encode())
        watched = self.observer.start(scope, request_id)
        status = 500

        async def send_out(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra: dict[str, str] | None = state.get("response_headers")
                added = [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
                added.append(echoed)
                names = {name for name, _ in added}
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0] not in names),
                    *added,
                ]
            await send(message)

        declared = next((v for k, v in headers if k == b"content-length"), None)
        failed = True
        try:
            error = self.refusal(scope, declared)
            if error is not None:
                await send_error(scope, send_out, error, close=isinstance(error, PayloadTooLarge))
            else:
                # A declared length is checked by `refusal`, and the server never hands over
                # more than it declares: only a body of undeclared length is counted as it comes.
                limited = receive if declared is not None else self._limited(receive)
                await self.app(scope, limited, send_out)
            failed = False
        finally:
            self.observer.finish(watched, scope, 500 if failed else status, failed=failed)

    def refusal(self, scope: Scope, declared: bytes | None) -> AppError | None:
        """Why the request is refused before it reaches a route, if it is (`declared`: its
        Content-Length)."""
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
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            return PayloadTooLarge()
        return None

    def _limited(self, receive: Receive) -> Receive:
        """`receive`, refusing a body past the limit as it streams in."""
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise PayloadTooLarge()
            return message

        return limited_receive


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


def add_response_headers(scope: Scope, headers: dict[str, str]) -> None:
    scope.setdefault("state", {}).setdefault("response_headers", {}).update(headers)


class LeanFastAPI(FastAPI):
    """FastAPI with only the ASGI layers Cuecard uses: the server-error handler, the middleware
    added to the app (`EdgeMiddleware`) and the exception handlers, then the router.

    FastAPI 0.165 also wraps every request in `ExceptionTelemetryMiddleware` (its telemetry is
    off here: `core.observability` records requests), `AppBodyLimitMiddleware` (its own
    `max_body_size` is unset: the edge enforces ours) and `AsyncExitStackMiddleware`, which only
    FastAPI's own request handling reads: `core.route_index` puts it in front of the router's
    fallback, where those requests go (bench/README.md, item 18)."""

    def build_middleware_stack(self) -> ASGIApp:
        error_handler = None
        handlers: dict[Any, Any] = {}
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        app: ASGIApp = ExceptionMiddleware(self.router, handlers=handlers, debug=self.debug)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)
