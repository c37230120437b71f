"""Which route a request goes to, found by its path's segments, and our routes served directly.

FastAPI (0.165) finds a request's route by asking every route in turn, through one layer per
included router: 36-56 us of a hot request on this machine and 234 us for the calls router's
last routes (bench/README.md, item 13), where the work itself is a few hundred. `RouteIndex`
gives the same answer from a tree of the routes' path segments: a request's segments lead to
the few routes whose literal segments they match, and of those the first declared whose own
path pattern (Starlette's regex, unchanged) and method match wins, as in FastAPI's loop.

A `UnitOfWorkRoute` found that way is served at once (`UnitOfWorkRoute.serve`); anything else
(the docs, a mount, no match, a 405, a trailing-slash redirect) goes to FastAPI's router as
before, which finds the same route again. Errors still reach the app's exception handlers: the
index sits inside the router, below FastAPI's `ExceptionMiddleware`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from cuecard.core.routing import UnitOfWorkRoute

_ANY = "{}"  # the key of a segment that is (or contains) a path parameter


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    routes: list[tuple[int, BaseRoute]] = field(default_factory=list)


class RouteIndex:
    """An ASGI app in front of `router` that dispatches our routes itself (module docstring)."""

    def __init__(self, routes: Sequence[BaseRoute], router: Any, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback
        self._roots: dict[int, _Node] = {}
        # Routes a segment tree cannot place (a mount, a parameter spanning segments): checked
        # for every request, in their declared order with the rest.
        self._always: list[tuple[int, BaseRoute]] = []
        for order, route in enumerate(routes):
            path = getattr(route, "path", None)
            if type(route) is Mount or not isinstance(path, str) or ":path}" in path:
                self._always.append((order, route))
                continue
            segments = path.split("/")
            node = self._roots.setdefault(len(segments), _Node())
            for segment in segments:
                node = node.children.setdefault(_ANY if "{" in segment else segment, _Node())
            node.routes.append((order, route))

    def candidates(self, path: str) -> list[tuple[int, BaseRoute]]:
        """The routes that may match `path`, in their declared order."""
        found = list(self._always)
        segments = path.split("/")
        root = self._roots.get(len(segments))
        if root is not None:
            found.extend(_walk(root, segments, 0))
        found.sort(key=lambda candidate: candidate[0])
        return found

    def match(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The route FastAPI would serve `scope` with and its child scope, or None when it
        would not find one fully matching (no route, or only a 405)."""
        for _, route in self.candidates(get_route_path(scope)):
            matched, child = route.matches(scope)
            if matched is Match.FULL:
                return route, child
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.match(scope) if scope["type"] == "http" else None
        if found is not None:
            route, child = found
            if isinstance(route, UnitOfWorkRoute):
                scope.update(child)
                scope.setdefault("router", self.router)
                await route.serve(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


def _walk(node: _Node, segments: list[str], depth: int) -> Iterator[tuple[int, BaseRoute]]:
    if depth == len(segments):
        yield from node.routes
        return
    segment = segments[depth]
    literal = node.children.get(segment)
    if literal is not None:
        yield from _walk(literal, segments, depth + 1)
    wildcard = node.children.get(_ANY)
    if wildcard is not None and segment:  # a path parameter is never empty
        yield from _walk(wildcard, segments, depth + 1)


def flat_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, included routers' routes in their place: the order FastAPI tries them.

    FastAPI 0.165 keeps an included router as one `_IncludedRouter` entry holding the original
    router; `include_router` is called without a prefix here, so its routes' paths are whole."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            prefix = getattr(getattr(route, "include_context", None), "prefix", "")
            if prefix:
                raise ValueError("RouteIndex needs routers included without a prefix")
            yield from flat_routes(included.routes)
        elif hasattr(route, "path"):
            yield route
        else:
            raise ValueError(f"RouteIndex cannot place {route!r}")


def install(app: Any) -> None:
    """Put a `RouteIndex` of the app's routes in front of its router, once every route is added
    (again after adding more: the index is rebuilt). The router's own dispatch is its fallback,
    behind FastAPI's `AsyncExitStackMiddleware`: FastAPI's request handling, which only the
    fallback's requests go through, needs that exit stack (`core.middleware.LeanFastAPI`)."""
    router = app.router
    fallback = router.middleware_stack
    if isinstance(fallback, RouteIndex):
        fallback = fallback.fallback
    else:
        fallback = AsyncExitStackMiddleware(fallback)
    router.middleware_stack = RouteIndex(list(flat_routes(router.routes)), router, fallback)
