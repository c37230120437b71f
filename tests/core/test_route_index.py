"""The route index (`cuecard.core.route_index`) sends every request where FastAPI's routers
would: the route FastAPI's own router picks for every path of the app, the first declared of
overlapping routes, and FastAPI's answers where no route of ours fully matches (405,
trailing-slash redirect, 404)."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from starlette.routing import BaseRoute

from cuecard.core import route_index
from cuecard.core.route_index import RouteIndex, flat_routes
from cuecard.core.routing import UnitOfWorkRoute


async def _fastapi_choice(
    app: Any, routes: list[BaseRoute], method: str, path: str
) -> BaseRoute | None:
    """The route FastAPI's own router fully matches, found by letting it handle the request
    (no token: our routes stop at 401 before any work), or None (no route, or only a 405)."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"host", b"testserver")], "app": app, "state": {},
        "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    with contextlib.suppress(Exception):
        await app.router.middleware_stack.fallback(scope, receive, send)
    route = scope.get("route")  # set for FastAPI's routes; Starlette's leave their endpoint
    if route is None and "endpoint" in scope:
        route = next(r for r in routes if getattr(r, "endpoint", None) is scope["endpoint"]
                     or getattr(r, "app", None) is scope["endpoint"])  # fmt: skip
    methods = getattr(route, "methods", None)
    return None if route is None or (methods and method not in methods) else route


def _sample(path: str, value: str) -> str:
    return re.sub(r"\{[^}:]+:path\}", "a/b", re.sub(r"\{[^}:]+\}", value, path))


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


class TestTheIndexAgreesWithFastAPI:
    async def test_every_route_of_the_app_and_near_misses_find_fastapis_route(
        self, app: Any
    ) -> None:
        index = app.router.middleware_stack
        assert isinstance(index, RouteIndex)
        routes = list(flat_routes(app.router.routes))
        assert len(routes) > 60
        checked = 0
        for route in routes:
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                for value in ("x-1", "special", "trainings"):
                    path = _sample(route.path, value)  # type: ignore[attr-defined]
                    for probe in (path, path + "/", path + "/extra", path.replace("/", "//", 1)):
                        for verb in (method, "PATCH"):
                            found = index.match(_scope(verb, probe))
                            expected = await _fastapi_choice(app, routes, verb, probe)
                            assert (found[0] if found else None) is expected, (verb, probe)
                            checked += 1
        assert checked > 1000

    def test_an_unknown_path_matches_nothing(self, app: Any) -> None:
        index = app.router.middleware_stack
        for path in ("/api", "/api/v1/nothing-here", "/api/v1/agents/a/b/c/d/e/f/g"):
            assert index.match(_scope("GET", path)) is None


class TestWhatAClientSees:
    @pytest.fixture
    async def overlapping(self, app: Any) -> None:
        router = APIRouter(route_class=UnitOfWorkRoute)

        @router.get("/test-index/{thing}")
        async def any_thing(request: Request, thing: str) -> dict[str, str]:
            return {"route": "any", "thing": thing}

        @router.get("/test-index/special")
        async def special() -> dict[str, str]:  # never reached: declared after the above
            return {"route": "special"}

        @router.post("/test-index/special/deeper")
        async def deeper() -> dict[str, str]:
            return {"route": "deeper"}

        app.include_router(router)
        route_index.install(app)

    async def test_the_first_declared_of_overlapping_routes_answers(
        self, overlapping: None, client: httpx.AsyncClient
    ) -> None:
        answer = await client.get("/test-index/special")
        encoded = await client.get("/test-index/a%20b")

        assert answer.status_code == 200
        assert answer.json() == {"route": "any", "thing": "special"}
        assert encoded.json() == {"route": "any", "thing": "a b"}

    async def test_a_wrong_method_is_fastapis_405_with_allow(
        self, overlapping: None, client: httpx.AsyncClient
    ) -> None:
        answer = await client.get("/test-index/special/deeper")

        assert answer.status_code == 405
        assert answer.headers["allow"] == "POST"

    async def test_a_trailing_slash_is_redirected_and_no_route_is_the_404_envelope(
        self, overlapping: None, client: httpx.AsyncClient
    ) -> None:
        slashed = await client.get("/test-index/special/")
        missing = await client.get("/test-index")
        empty = await client.get("/test-index//")

        assert slashed.status_code == 307
        assert slashed.headers["location"].endswith("/test-index/special")
        assert missing.status_code == 404
        assert missing.json()["success"] is False
        assert empty.status_code in (307, 404)
