"""Request plumbing: the transaction a request owns, and its JSON body.

Every route of the API uses `UnitOfWorkRoute`: the request gets one `UnitOfWork`, services write
through it (they never commit), and the route commits once the endpoint has returned and before the
response leaves; any exception rolls everything back. A client therefore never sees a success for a
write that was not committed, and a rejected request changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from cuecard.core.db import UnitOfWork
from cuecard.core.errors import ValidationFailed
from cuecard.core.validation import parse_json, validate

M = TypeVar("M", bound=BaseModel)


class UnitOfWorkRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_unit_of_work(request: Request) -> Response:
            uow = request.app.state.db.unit_of_work()
            request.state.uow = uow
            try:
                response = await handler(request)
                await uow.commit()
                return response
            finally:
                await uow.close()

        return run_in_unit_of_work


async def _uow(request: Request) -> UnitOfWork:
    # async on purpose, like every cheap dependency: FastAPI runs a plain `def` dependency in a
    # worker thread, a hop that cost about a third of a list request (see bench/README.md).
    uow: UnitOfWork = request.state.uow
    return uow


Uow = Annotated[UnitOfWork, Depends(_uow)]


def json_body(model: type[M]) -> Any:
    """A dependency that reads and validates the body as `model`.

    Declared after the auth and agent dependencies, so 401/403/404 are decided before the body
    is even parsed. FastAPI's own body handling would validate first.
    """

    async def read(request: Request) -> M:
        raw = await request.body()
        return validate(model, parse_json(raw), context={"settings": request.app.state.settings})

    return Depends(read)


def json_object() -> Any:
    """A dependency that reads the body as a JSON object, for services whose rules cross fields
    and must report them together with the field errors (`validate_with`)."""

    async def read(request: Request) -> dict[str, Any]:
        data = parse_json(await request.body())
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
