"""What an operator sees of each request: its access-log line, its metrics and its trace span.

`ObservabilityMiddleware` sits inside `RequestIdMiddleware` (so the request id exists) and
outside everything else (so a 413 from the body limit is counted too). `observe_database` wraps
the request-path database so that every call is timed and, when tracing is on, becomes a span.
Both are separate from `cuecard.core.middleware` and `cuecard.core.db` on purpose: they add to
those modules without changing them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class ObservabilityMiddleware:
    """The access line (`access_log`), the request metrics (`metrics`: off when nothing can
    scrape them) and the server span (`tracer`), each only when asked for."""

    def __init__(
        self, app: ASGIApp, *, access_log: bool, metrics: bool, tracer: Tracer | None
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        context = RequestContext(scope.get("state", {}).get("request_id", ""), method)
        token = request_context.set(context)
        status = 500
        span, detach = self._start_span(scope) if self.tracer is not None else (None, None)

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        if self.metrics:
            metrics.HTTP_REQUESTS_IN_FLIGHT.inc()
        failed = True
        try:
            await self.app(scope, receive, send_with_status)
            failed = False
        finally:
            if failed:
                status = 500  # the server-error handler outside answers 500
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            context.route = route
            if self.metrics:
                metrics.HTTP_REQUESTS_IN_FLIGHT.dec()
                labels = (method, route, str(status))
                metrics.HTTP_REQUESTS.labels(*labels).inc()
                metrics.HTTP_REQUEST_SECONDS.labels(*labels).observe(elapsed)
            if span is not None:
                _end_span(span, detach, method, route, status)
            if self.access_log:
                self._log(method, route, status, elapsed)
            # After an error the context stays: the handler outside that logs it runs later.
            if not failed:
                request_context.reset(token)

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
