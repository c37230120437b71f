"""What an operator sees of each request: its access-log line, its metrics and its trace span.

`RequestObserver` records each request for the edge layer (`cuecard.core.middleware`), which
calls it once the request has its id. `observe_database` wraps the request-path database so that
every call is timed and, when tracing is on, becomes a span.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.types import Scope

from cuecard.core import metrics
from cuecard.core.db import Database, Params, Row, UnitOfWork
from cuecard.core.logs import RequestContext, request_context

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

T = TypeVar("T")
access_log = logging.getLogger("cuecard.access")
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


@dataclass(slots=True)
class Watched:
    """One request as `RequestObserver.start` saw it begin."""

    context: RequestContext
    token: Token[RequestContext | None]
    started: float
    span: Span | None = None
    detach: Any = None


class RequestObserver:
    """The access line (`access_log`), the request metrics (`metrics`: off when nothing can
    scrape them) and the server span (`tracer`) of every request, each only when asked for.

    `core.middleware.EdgeMiddleware` calls `start` once the request has its id and `finish` once
    its answer has left, the edge's own refusals (a 413, a 431) included."""

    def __init__(self, *, access_log: bool, metrics: bool, tracer: Tracer | None) -> None:
        self.access_log = access_log
        self.metrics = metrics
        self.tracer = tracer

    def start(self, scope: Scope, request_id: str) -> Watched:
        """Opens the request's log context (every line logged meanwhile carries its id)."""
        context = RequestContext(request_id, scope["method"])
        watched = Watched(context, request_context.set(context), time.perf_counter())
        if self.tracer is not None:
            watched.span, watched.detach = self._start_span(scope)
        if self.metrics:
            metrics.HTTP_REQUESTS_IN_FLIGHT.inc()
        return watched

    def finish(self, watched: Watched, scope: Scope, status: int, *, failed: bool) -> None:
        """Records the request. After a failure its log context stays open: the server-error
        handler outside logs the exception later, with the request's id."""
        elapsed = time.perf_counter() - watched.started
        context = watched.context
        route = context.route = route_template(scope)
        if self.metrics:
            metrics.HTTP_REQUESTS_IN_FLIGHT.dec()
            labels = (context.method, route, str(status))
            metrics.HTTP_REQUESTS.labels(*labels).inc()
            metrics.HTTP_REQUEST_SECONDS.labels(*labels).observe(elapsed)
        if watched.span is not None:
            _end_span(watched.span, watched.detach, context.method, route, status)
        if self.access_log:
            self._log(context.method, route, status, elapsed)
        if not failed:
            request_context.reset(watched.token)

    def _start_span(self, scope: Scope) -> tuple[Span, Any]:
        from opentelemetry import context as otel_context
        from opentelemetry import trace
        from opentelemetry.propagate import extract

        assert self.tracer is not None
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        span = self.tracer.start_span(
            scope["method"],
            context=extract(carrier),
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": scope["method"], "url.scheme": scope["scheme"]},
        )
        detach = otel_context.attach(trace.set_span_in_context(span))
        return span, detach

    @staticmethod
    def _log(method: str, route: str, status: int, seconds: float) -> None:
        duration_ms = round(seconds * 1000, 2)
        access_log.info(
            "%s %s %d %.1fms",
            method,
            route,
            status,
            duration_ms,
            extra={"method": method, "route": route, "status": status, "duration_ms": duration_ms},
        )


def _end_span(span: Span, detach: Any, method: str, route: str, status: int) -> None:
    from opentelemetry import context as otel_context
    from opentelemetry.trace import Status, StatusCode

    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()
    otel_context.detach(detach)


# --- database -----------------------------------------------------------------------------------

_READ = metrics.DB_QUERY_SECONDS.labels("read")
_WRITE = metrics.DB_QUERY_SECONDS.labels("write")
_COMMIT = metrics.DB_QUERY_SECONDS.labels("commit")
_ROLLBACK = metrics.DB_QUERY_SECONDS.labels("rollback")


def observe_database(db: Database, tracer: Tracer | None, *, timed: bool) -> Database:
    """Times every call of `db`'s units of work when `timed` (metrics are on) and traces them
    when `tracer` is given; with neither, `db` is returned as it is.

    The wrapping is per instance, so `db` keeps its class and everything else it offers.
    """
    if not timed and tracer is None:
        return db
    make = db.unit_of_work

    def unit_of_work() -> UnitOfWork:
        return _ObservedUnitOfWork(make(), db.dialect, tracer, timed)

    db.unit_of_work = unit_of_work  # type: ignore[method-assign]
    return db


class _ObservedUnitOfWork(UnitOfWork):
    def __init__(self, inner: UnitOfWork, dialect: str, tracer: Tracer | None, timed: bool) -> None:
        self._inner = inner
        self._dialect = dialect
        self._tracer = tracer
        self._timed_calls = timed
        # A transaction opens on the first write; commits and rollbacks before one are no-ops
        # (every request ends with one) and are not measured.
        self._wrote = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._inner.after_commit(callback)

    def _span(self, sql: str) -> Span | None:
        if self._tracer is None:
            return None
        from opentelemetry.trace import SpanKind

        operation = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "SQL"
        return self._tracer.start_span(
            operation,
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": self._dialect,
                "db.operation.name": operation,
                "db.query.text": sql,
            },
        )

    async def _timed(self, histogram: Any, sql: str, call: Awaitable[T]) -> T:
        span, started = self._span(sql), time.perf_counter()
        try:
            return await call
        finally:
            if self._timed_calls:
                histogram.observe(time.perf_counter() - started)
            if span is not None:
                span.end()

    async def one(self, sql: str, params: Params | None = None) -> Row | None:
        return await self._timed(_READ, sql, self._inner.one(sql, params))

    async def all(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self._timed(_READ, sql, self._inner.all(sql, params))

    async def write(self, sql: str, params: Params | None = None) -> list[Row]:
        self._wrote = True
        return await self._timed(_WRITE, sql, self._inner.write(sql, params))

    async def write_many(self, sql: str, rows: Iterable[Params]) -> None:
        self._wrote = True
        await self._timed(_WRITE, sql, self._inner.write_many(sql, rows))

    async def lock(self, key: str) -> None:
        await self._inner.lock(key)

    async def commit(self) -> None:
        if not self._wrote:
            await self._inner.commit()
            return
        self._wrote = False
        await self._timed(_COMMIT, "COMMIT", self._inner.commit())

    async def rollback(self) -> None:
        if not self._wrote:
            await self._inner.rollback()
            return
        self._wrote = False
        await self._timed(_ROLLBACK, "ROLLBACK", self._inner.rollback())

    async def close(self) -> None:
        await self._inner.close()
