"""Request plumbing: the transaction a request owns, and its JSON body.

Every route of the API uses `UnitOfWorkRoute`: the request gets one `UnitOfWork`, services write
through it (they never commit), and the route commits once the endpoint has returned and before the
response leaves; any exception rolls everything back. A client therefore never sees a success for a
write that was not committed, and a rejected request changes nothing.

Writes sent with an `Idempotency-Key` are claimed, run and remembered here too (see
`cuecard.core.idempotency`), so every route of the API gets replays without code of its own.

The route also runs its own endpoint. FastAPI still reads each endpoint's signature once, at
start-up (its dependencies, path parameters, response model: the OpenAPI comes from there), but a
request no longer goes through FastAPI's general dependency solver, which cost about a third of a
cached runtime-config request (bench/README.md, item 11): `_Plan` resolves the few kinds of
parameter our endpoints declare (async dependencies, cached per request like FastAPI's, `str` path
parameters, the `Request` and the `Response` whose headers join the answer) with a plain loop, and
refuses, at start-up, a route that declares anything else. The answer is serialised by FastAPI's own
`serialize_response`, so the bytes on the wire are FastAPI's.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

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
from cuecard.core.validation import Query, parse_json, validate

M = TypeVar("M", bound=BaseModel)
Q = TypeVar("Q", bound=Query)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one endpoint or dependency gets its arguments, worked out once per route."""

    call: Callable[..., Coroutine[Any, Any, Any]]
    dependencies: tuple[tuple[str | None, _Plan], ...]
    path_params: tuple[str, ...]
    request: str | None
    response: str | None

    @classmethod
    def of(cls, dependant: Dependant) -> _Plan:
        call = dependant.call
        where = getattr(call, "__qualname__", repr(call))
        others = (
            dependant.query_params or dependant.header_params or dependant.cookie_params
            or dependant.body_params or dependant.background_tasks_param_name
            or dependant.security_scopes_param_name or dependant.websocket_param_name
            or dependant.http_connection_param_name or dependant.own_oauth_scopes
        )  # fmt: skip
        if others or not dependant.use_cache:
            raise TypeError(
                f"{where}: a route of the API takes dependencies, str path parameters, the "
                "Request and the Response only (read a body with json_body, a query with "
                "query_params)"
            )
        if call is None or not inspect.iscoroutinefunction(call):
            raise TypeError(f"{where}: endpoints and their dependencies are `async def`")
        for field in dependant.path_params:
            if field.field_info.annotation is not str or field.alias != field.name:
                raise TypeError(f"{where}: path parameter {field.name} must be a plain str")
        return cls(
            call=call,
            dependencies=tuple((d.name, cls.of(d)) for d in dependant.dependencies),
            path_params=tuple(field.name for field in dependant.path_params),
            request=dependant.request_param_name,
            response=dependant.response_param_name,
        )

    def uses_response(self) -> bool:
        return self.response is not None or any(d.uses_response() for _, d in self.dependencies)

    async def arguments(
        self, request: Request, response: Response | None, solved: dict[Any, Any]
    ) -> dict[str, Any]:
        """Dependencies first, in their declared order (so 401/403/404 come before a 422 of the
        body), each run once per request however many parameters share it."""
        values: dict[str, Any] = {}
        for name, dependency in self.dependencies:
            if dependency.call in solved:
                value = solved[dependency.call]
            else:
                value = await dependency.call(
                    **await dependency.arguments(request, response, solved)
                )
                solved[dependency.call] = value
            if name is not None:
                values[name] = value
        if self.path_params:
            path = request.path_params
            for name in self.path_params:
                values[name] = path[name]
        if self.request is not None:
            values[self.request] = request
        if self.response is not None:
            values[self.response] = response
        return values


class UnitOfWorkRoute(APIRoute):
    _run: Callable[[Request], Coroutine[Any, Any, Response]]  # set by get_route_handler

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request, once `cuecard.core.route_index` has matched it to this route: what
        FastAPI's `request_response` does, without the exit stacks that only dependencies with
        `yield` use (`_Plan` refuses them) and without a second exception wrapper (errors reach
        the app's handlers in FastAPI's ExceptionMiddleware, around the router)."""
        request = Request(scope, receive, send)
        response = await self._run(request)
        await response(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = self._endpoint_handler()

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

        self._run = run_in_unit_of_work
        return run_in_unit_of_work

    def _endpoint_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint, its arguments and its answer: what FastAPI's request handler does for
        our endpoints, without its general dependency solver (see the module docstring)."""
        plan = _Plan.of(self.dependant)
        uses_response = plan.uses_response()
        field = self.response_field
        response_class: type[Response] = (
            self.response_class.value
            if isinstance(self.response_class, DefaultPlaceholder)
            else self.response_class
        )
        dump_json = field is not None and isinstance(self.response_class, DefaultPlaceholder)

        async def run_endpoint(request: Request) -> Response:
            sub_response: Response | None = None
            if uses_response:  # as FastAPI makes it: no length, no status until one is set
                sub_response = Response()
                del sub_response.headers["content-length"]
                sub_response.status_code = None  # type: ignore[assignment]
            raw = await plan.call(**await plan.arguments(request, sub_response, {}))
            if isinstance(raw, Response):
                return raw
            status = self.status_code
            if sub_response is not None and sub_response.status_code:
                status = sub_response.status_code
            content = await serialize_response(
                field=field,
                response_content=raw,
                include=self.response_model_include,
                exclude=self.response_model_exclude,
                by_alias=self.response_model_by_alias,
                exclude_unset=self.response_model_exclude_unset,
                exclude_defaults=self.response_model_exclude_defaults,
                exclude_none=self.response_model_exclude_none,
                dump_json=dump_json,
            )
            if dump_json:
                response = Response(content, status or 200, media_type="application/json")
            elif status is None:
                response = response_class(content)
            else:
                response = response_class(content, status)
            if not is_body_allowed_for_status_code(response.status_code):
                response.body = b""
            if sub_response is not None:
                response.headers.raw.extend(sub_response.headers.raw)
            return response

        return run_endpoint


async def _release(db: Any, claim: idempotency.Claim) -> None:
    with contextlib.suppress(ServiceUnavailable):  # else the claim's lease runs out instead
        await idempotency.release(db, claim)


async def _uow(request: Request) -> UnitOfWork:
    # async, like every dependency: a plain `def` would need a worker thread per request (a hop
    # that cost about a third of a list request, bench/README.md), and `_Plan` refuses it.
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


def query_params(model: type[Q]) -> Any:
    """A dependency that validates the query string as `model`, with the same 422 wording.
    Without a query string every request gets the same instance (the model is frozen), built
    once: validating nothing cost a cached runtime-config request about a tenth of its time."""
    empty: list[Q] = []

    async def read(request: Request) -> Q:
        if request.scope.get("query_string"):
            return validate(model, dict(request.query_params))
        if not empty:
            empty.append(validate(model, {}))  # a required parameter's 422 is raised each time
        return empty[0]

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
