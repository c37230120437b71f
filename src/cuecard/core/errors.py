"""The one place that owns the error wire format.

Every error, ours or the framework's, leaves as
`{"success": false, "message": ..., "code": ...}`, plus `errors: {field: [messages]}` on 422.
Services raise `AppError` subclasses; they never build HTTP responses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from cuecard.core.messages import laravel_errors

log = logging.getLogger("cuecard.errors")


class AppError(Exception):
    status_code = 400
    code = "BAD_REQUEST"
    message = "Bad request."
    # Sent as Retry-After unless the error's own headers say otherwise.
    retry_after_seconds: int | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.errors = errors
        self.headers = headers
        self.extra = extra
        super().__init__(self.message)


class Unauthenticated(AppError):
    status_code = 401
    code = "INVALID_TOKEN"
    message = "Unauthenticated."

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status_code = 403
    code = "UNAUTHORIZED"
    message = "You are not authorized to perform this action."


class NotFound(AppError):
    status_code = 404
    code = "NOT_FOUND"
    message = "Not found."


class MethodNotAllowed(AppError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"


class Conflict(AppError):
    status_code = 409
    code = "CONFLICT"


class ValidationFailed(AppError):
    status_code = 422
    code = "VALIDATION_ERROR"
    message = "The given data was invalid."

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        super().__init__(message, errors=errors)


class PayloadTooLarge(AppError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body is too large."


class ServerError(AppError):
    status_code = 500
    code = "SERVER_ERROR"
    message = "Internal server error."


class ServiceUnavailable(AppError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    message = "Service unavailable."
    retry_after_seconds: int | None = 5


class DatabaseUnavailable(ServiceUnavailable):
    code = "DATABASE_UNAVAILABLE"
    message = "The database is not answering. Please retry shortly."


class StorageFull(ServiceUnavailable):
    code = "STORAGE_FULL"
    message = "The database's storage is full; nothing was written. Please retry later."
    retry_after_seconds = 30


class DatabaseReadOnly(ServiceUnavailable):
    code = "DATABASE_READ_ONLY"
    message = "The database is read-only at the moment; nothing was written. Please retry later."
    retry_after_seconds = 30


class PreconditionFailed(AppError):
    status_code = 412
    code = "PRECONDITION_FAILED"
    message = "The resource has changed since you read it (If-Match does not match its ETag)."


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    message = "The request body must be sent as application/json."


class HeadersTooLarge(AppError):
    status_code = 431
    code = "HEADERS_TOO_LARGE"
    message = "The request headers are too large."


class TooManyRequests(AppError):
    status_code = 429
    code = "RATE_LIMIT_EXCEEDED"
    message = "Too many requests. Please try again later."


def error_body(
    message: str,
    code: str,
    errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def error_response(exc: AppError, request_id: str | None = None) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.retry_after_seconds is not None:
        headers.setdefault("Retry-After", str(exc.retry_after_seconds))
    if request_id:
        headers["X-Request-ID"] = request_id
    return JSONResponse(
        error_body(exc.message, exc.code, exc.errors, exc.extra),
        status_code=exc.status_code,
        headers=headers,
    )


def _request_id(request: Request) -> str | None:
    request_id: str | None = request.scope.get("state", {}).get("request_id")
    return request_id


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc, _request_id(request))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        path = request.url.path.strip("/")
        err: AppError = NotFound(f"The route {path} could not be found.")
    elif exc.status_code == 405:
        methods = _allowed_methods(request)
        err = MethodNotAllowed(
            f"The {request.method} method is not supported for this route. "
            f"Supported methods: {', '.join(methods)}.",
            headers={"Allow": ", ".join(methods)},
        )
    else:
        err = AppError(str(exc.detail), code="HTTP_ERROR", headers=dict(exc.headers or {}))
        err.status_code = exc.status_code
    return error_response(err, _request_id(request))


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path (Starlette reports only the first route's)."""
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(ValidationFailed(laravel_errors(exc.errors())), _request_id(request))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = _request_id(request)
    log.error(
        "unhandled error in %s %s (request %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    return error_response(ServerError(), request_id)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(Exception, _unexpected)
