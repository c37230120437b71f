"""The OpenAPI document as the contract it is, and /docs and /redoc served without internet.

FastAPI's generated document knows the success bodies; this adds, for every operation, the
error envelopes it can answer with (from the error classes, with examples), the bearer security
scheme, the Idempotency-Key and If-Match headers, and operation ids named after the handlers.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from cuecard.core.errors import (
    AppError,
    Conflict,
    DatabaseReadOnly,
    DatabaseUnavailable,
    Forbidden,
    HeadersTooLarge,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServerError,
    StorageFull,
    TooManyRequests,
    Unauthenticated,
    UnsupportedMediaType,
    ValidationFailed,
    error_body,
)
from cuecard.core.idempotency import IdempotencyKeyInProgress, IdempotencyKeyReused

ERROR = "ErrorEnvelope"
VALIDATION = "ValidationErrorEnvelope"
_WRITES = ("post", "put", "patch", "delete")
_RATE_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed per minute for this token.",
    "X-RateLimit-Remaining": "Requests left in the current minute.",
    "X-RateLimit-Reset": "Unix time (seconds) when the current window ends.",
}

_SCHEMAS: dict[str, Any] = {
    ERROR: {
        "type": "object",
        "required": ["success", "message"],
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "message": {"type": "string"},
            "code": {"type": "string"},
        },
    },
    VALIDATION: {
        "type": "object",
        "required": ["success", "message", "errors"],
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "message": {"type": "string"},
            "code": {"type": "string"},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}


def _examples(*errors: AppError) -> dict[str, Any]:
    return {err.code: {"value": error_body(err.message, err.code, err.errors)} for err in errors}


def _error(description: str, *errors: AppError, schema: str = ERROR) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"},
                "examples": _examples(*errors),
            }
        },
    }


_VALIDATION_EXAMPLE = ValidationFailed({"name": ["The name field is required."]})

_COMMON: dict[str, dict[str, Any]] = {
    "400": _error("The request could not be understood.", AppError()),
    "401": _error("No token, or a token that is invalid or revoked.", Unauthenticated()),
    "404": _error("No such resource in the token's environment.", NotFound()),
    "409": _error(
        "A conflict (e.g. the agent was never published), or a request with the same "
        "Idempotency-Key still running.",
        Conflict("Conflict."),
        IdempotencyKeyInProgress(),
    ),
    "422": _error(
        "Invalid input: `errors` names every invalid field (Laravel wording).",
        _VALIDATION_EXAMPLE,
        IdempotencyKeyReused(),
        schema=VALIDATION,
    ),
    "429": {
        **_error("Over the token's rate limit; see Retry-After.", TooManyRequests()),
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
            **{
                name: {"description": text, "schema": {"type": "integer"}}
                for name, text in _RATE_HEADERS.items()
            },
        },
    },
    "431": _error("The request headers are too large.", HeadersTooLarge()),
    "500": _error("An unexpected error (a bug); the request id is in X-Request-ID.", ServerError()),
    "503": {
        **_error(
            "The database is unavailable, full or read-only; nothing was written. "
            "Retry after Retry-After seconds.",
            DatabaseUnavailable(),
            StorageFull(),
            DatabaseReadOnly(),
        ),
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        },
    },
}

_WRITE_ONLY: dict[str, dict[str, Any]] = {
    "403": _error("The token may only read.", Forbidden()),
    "412": _error("If-Match does not name the resource's current ETag.", PreconditionFailed()),
    "413": _error("The body is larger than CUECARD_MAX_BODY_BYTES.", PayloadTooLarge()),
    "415": _error("A body that is not application/json.", UnsupportedMediaType()),
}

# For operations that call out to another service (an LLM): pass as `responses=` on the route.
UPSTREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    502: _error("The upstream service answered with an error.", AppError("Bad gateway.",
                code="LLM_UPSTREAM_ERROR")),
    504: _error("The upstream service did not answer in time.", AppError("Timed out.",
                code="LLM_TIMEOUT")),
}  # fmt: skip

_WRITE_HEADERS = [
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Any unique string (1-255 printable ASCII): a retry with the same key and "
        "body within 24 hours replays the first response instead of writing again.",
        "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
    },
    {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "The ETag from your last read: the write happens only if the resource "
        "has not changed since (412 otherwise).",
        "schema": {"type": "string"},
    },
]

_PUBLIC = {"/health", "/api/v1/health", "/readyz", "/livez"}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(_SCHEMAS)
    components["securitySchemes"] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An environment token (`cuecard tokens create`).",
        }
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if path in _PUBLIC:
                continue
            _document_errors(operation, method)
    app.openapi_schema = document
    return document


def _document_errors(operation: dict[str, Any], method: str) -> None:
    operation["security"] = [{"bearerAuth": []}]
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path":  # an empty segment names no resource
            parameter.setdefault("schema", {}).setdefault("minLength", 1)
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's {"detail": [...]}, which Cuecard never sends
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {}).update(
                {
                    name: {"description": text, "schema": {"type": "integer"}}
                    for name, text in _RATE_HEADERS.items()
                }
            )
    extra = {**_COMMON, **(_WRITE_ONLY if method in _WRITES else {"403": _WRITE_ONLY["403"]})}
    for status, response in extra.items():
        responses.setdefault(status, response)
    if method in _WRITES:
        operation.setdefault("parameters", []).extend(_WRITE_HEADERS)


def install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, from assets shipped in the fastapi-offline
    package (Swagger UI: Apache-2.0, ReDoc: MIT), so they work on a machine without internet."""
    assets = str(files("fastapi_offline") / "static")
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} API",
            redoc_js_url="/docs-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon.png",
            with_google_fonts=False,
        )

    app.add_api_route("/docs", swagger_ui, include_in_schema=False)
    app.add_api_route("/redoc", redoc, include_in_schema=False)
