"""Request plumbing: the transaction a request owns, and its JSON body.

Every route of the API uses `UnitOfWorkRoute`: the request gets one `UnitOfWork`, services write
through it (they never commit), and the route commits once the endpoint has returned and before the
response leaves; any exception rolls everything back. A client therefore never sees a success for a
write that was not committed, and a rejected request changes nothing.

Writes sent with an `Idempotency-Key` are claimed, run and remembered here too (see
`cuecard.core.idempotency`), so every route of the API gets replays without code of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from cuecard.core import idempotency
from cuecard.core.config import Settings
from cuecard.core.db import UnitOfWork
from cuecard.core.errors import (
    AppError,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
    error_response,
)
from cuecard.core.middleware import is_json
from cuecard.core.validation import parse_json, validate

M = TypeVar("M", bound=BaseModel)


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_unit_of_work(request: Request) -> Response:
            key = request.headers.get(idempotency.HEADER)
            if key is not None and request.method in idempotency.METHODS:
                return await run_once(request, key)
            uow = request.app.state.db.unit_of_work()
            request.state.uow = uow
            try:
                response = await handler(request)
                await uow.commit()
                return response
            finally:
                await uow.close()

        async def run_once(request: Request, key: str) -> Response:
            # Authenticate (and count against the rate limit) before anything is replayed: a
            # revoked token must not read its old answers back, nor a replay skip the limit.
            authenticate = getattr(request.app.state, "authenticate", None)
            if authenticate is not None:
                await authenticate(request)
            db = request.app.state.db
            claim = await idempotency.begin(db, request, key, request.app.state.secret_key)
            if isinstance(claim, Response):
                return claim  # a replay
            uow = db.unit_of_work()
            request.state.uow = uow
            remembered = False
            try:
                try:
                    response = await handler(request)
                except AppError as exc:
                    if not idempotency.remembered(exc.status_code):
                        raise
                    # A refusal is an answer too: a retry with the same key gets it again.
                    await uow.rollback()
                    response = error_response(exc, request.scope.get("state", {}).get("request_id"))
                if idempotency.remembered(response.status_code):
                    await idempotency.record(uow, claim, response)
                await uow.commit()
                remembered = idempotency.remembered(response.status_code)
                return response
            finally:
                await uow.close()
                if not remembered:
                    await _release(db, claim)

        return run_in_unit_of_work


async def _release(db: Any, claim: idempotency.Claim) -> None:
    with contextlib.suppress(ServiceUnavailable):  # else the claim's lease runs out instead
        await idempotency.release(db, claim)


async def _uow(request: Request) -> UnitOfWork:
    # async on purpose, like every cheap dependency: FastAPI runs a plain `def` dependency in a
    # worker thread, a hop that cost about a third of a list request (see bench/README.md).
    uow: UnitOfWork = request.state.uow
    return uow


Uow = Annotated[UnitOfWork, Depends(_uow)]


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# The app's settings, for a route that needs one (an outbound target check, the LLM).
AppSettings = Annotated[Settings, Depends(_settings)]


def json_body(model: type[M]) -> Any:
    """A dependency that reads and validates the body as `model`.

    Declared after the auth and agent dependencies, so 401/403/404 are decided before the body
    is even parsed. FastAPI's own body handling would validate first.
    """

    async def read(request: Request) -> M:
        data = await _json(request)
        return validate(model, data, context={"settings": request.app.state.settings})

    return Depends(read)


async def _json(request: Request) -> Any:
    raw = await request.body()
    # 415 here rather than in middleware: like the body, it is judged after 401/403/404.
    # No body at all is the 422 "must be a JSON object", whatever the Content-Type.
    content_type = request.headers.get("content-type", "").encode("latin-1")
    if raw and not is_json(content_type):
        raise UnsupportedMediaType()
    return parse_json(raw, request.app.state.settings.max_json_depth)


def json_object() -> Any:
    """A dependency that reads the body as a JSON object, for services whose rules cross fields
    and must report them together with the field errors (`validate_with`)."""

    async def read(request: Request) -> dict[str, Any]:
        data = await _json(request)
        if not isinstance(data, dict):
            raise ValidationFailed({"body": ["The request body must be a JSON object."]})
        return data

    return Depends(read)


def query_params(model: type[M]) -> Any:
    """A dependency that validates the query string as `model`, with the same 422 wording."""

    async def read(request: Request) -> M:  # async: a `def` dependency costs a thread hop
        return validate(model, dict(request.query_params))

    return Depends(read)


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a body read by `json_body` (FastAPI cannot see it)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(model)}},
        }
    }


def query_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a query string read by `query_params`."""
    schema = _inline_schema(model)
    required = set(schema.get("required", ()))
    return {
        "parameters": [
            {"name": name, "in": "query", "required": name in required, "schema": field}
            for name, field in schema["properties"].items()
        ]
    }


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its `$defs` inlined: OpenAPI resolves `$ref`s from the root
    of the whole document, where a model's own `#/$defs/...` do not exist."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
