"""create_app(): the one place that wires settings, the database, routers, middleware, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from cuecard import __version__
from cuecard.actions.router import router as actions_router
from cuecard.advanced.router import router as advanced_router
from cuecard.agent_api.router import router as agents_router
from cuecard.agent_tests.router import router as agent_tests_router
from cuecard.audit.router import router as audit_router
from cuecard.auth.deps import current_caller
from cuecard.auth.router import router as auth_router
from cuecard.auth.service import TokenCache
from cuecard.calling.router import router as calling_router
from cuecard.calls.router import router as calls_router
from cuecard.calls.router import runtime as call_reports_router
from cuecard.core import route_index
from cuecard.core.config import Settings
from cuecard.core.db import Database
from cuecard.core.errors import AppError, error_response, install_error_handlers
from cuecard.core.middleware import EdgeMiddleware, LeanFastAPI
from cuecard.core.observability import RequestObserver, observe_database
from cuecard.core.openapi import build_openapi, install_docs
from cuecard.core.operations import add_metrics_route
from cuecard.core.ratelimit import build_limiter
from cuecard.core.tracing import from_env as tracing_from_env
from cuecard.dashboard.router import router as dashboard_router
from cuecard.flows.router import router as flows_router
from cuecard.knowledge.router import router as knowledge_router
from cuecard.lint.router import router as lint_router
from cuecard.runtime.cache import CompiledCache
from cuecard.runtime.router import router as runtime_router
from cuecard.runtime.vector_store import VectorStore
from cuecard.trainings.router import router as trainings_router
from cuecard.versions.router import router as versions_router
from cuecard.voice.catalog import load_catalog
from cuecard.voice.router import router as voice_router

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
from cuecard.webhooks.delivery import running_worker
from cuecard.webhooks.router import router as webhooks_router


def create_app(
    settings: Settings | None = None, *, span_exporter: SpanExporter | None = None
) -> FastAPI:
    """The app. `span_exporter` replaces the OTLP exporter when tracing is on (see
    `cuecard.core.tracing`; tests pass the SDK's in-memory exporter)."""
    settings = settings or Settings.from_env()
    secret_key = settings.resolved_secret_key()
    tracing = tracing_from_env(exporter=span_exporter)
    tracer = tracing.tracer if tracing else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = observe_database(
            await Database.connect(
                settings.database_url,
                connect_timeout=settings.database_connect_timeout_seconds,
                statement_timeout=settings.database_statement_timeout_seconds,
            ),
            tracer,
            timed=settings.metrics_on,
        )
        app.state.rate_limiter = build_limiter(
            settings.database_url, settings.redis_url, settings.rate_limit_dir
        )
        app.state.runtime_cache.vectors = VectorStore(app.state.db)
        try:
            # Every server process delivers webhooks too (see webhooks/delivery.py).
            async with running_worker(app.state.db, settings, secret_key):
                yield
        finally:
            await app.state.rate_limiter.close()
            await app.state.db.close()
            if tracing is not None:
                tracing.shutdown()

    app = LeanFastAPI(
        title="Cuecard",
        version=__version__,
        summary="Talkover-compatible backend for voice agents and their trainings.",
        lifespan=lifespan,
        # Requests and database calls are traced by cuecard.core.observability (with the route
        # template and our driver-level calls); FastAPI's own telemetry would trace them twice
        # whenever a global OpenTelemetry provider is set, and checks for one on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,
        redoc_url=None,
        # Operation ids are the handlers' names (create_training), for readable generated code.
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.settings = settings
    app.state.secret_key = secret_key
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    app.state.runtime_cache = CompiledCache()
    app.state.voice_catalog = load_catalog(settings.voice_templates)
    # Who is calling, for core code that runs before the route's dependencies (idempotent
    # replays); the route's own Reader/Writer then reuse the same caller.
    app.state.authenticate = current_caller

    install_error_handlers(app)
    app.add_middleware(
        EdgeMiddleware,
        max_header_bytes=settings.max_header_bytes,
        max_body_bytes=settings.max_body_bytes,
        observer=RequestObserver(
            access_log=settings.access_log, metrics=settings.metrics_on, tracer=tracer
        ),
    )

    async def health() -> JSONResponse:
        fault = await app.state.db.readiness()
        if fault is None:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, 503, headers=_retry_after(fault))

    async def readiness() -> JSONResponse:
        """200 when requests can be served now; else 503 with the fault's code and Retry-After."""
        fault = await app.state.db.readiness()
        if fault is None:
            return JSONResponse({"status": "ready"})
        return error_response(fault)

    async def liveness() -> JSONResponse:
        """200 while this process can answer at all; it never touches the database."""
        return JSONResponse({"status": "alive"})

    health_doc: dict[int | str, dict[str, Any]] = {
        "200": {"description": "Ready."},
        "503": {"description": "Not ready."},
    }
    for path, name in (("/health", "health"), ("/api/v1/health", "api_health")):
        app.add_api_route(path, health, methods=["GET"], tags=["health"], name=name,
                          responses=health_doc)  # fmt: skip
    app.add_api_route("/readyz", readiness, methods=["GET"], tags=["health"],
                      name="readiness", responses=health_doc)  # fmt: skip
    app.add_api_route("/livez", liveness, methods=["GET"], tags=["health"], name="liveness")
    install_docs(app)

    add_metrics_route(app, settings)
    app.include_router(agents_router)
    app.include_router(trainings_router)
    app.include_router(runtime_router)
    app.include_router(versions_router)
    app.include_router(flows_router)
    app.include_router(knowledge_router)
    app.include_router(voice_router)
    app.include_router(calling_router)
    app.include_router(advanced_router)
    app.include_router(actions_router)
    app.include_router(lint_router)
    app.include_router(agent_tests_router)
    app.include_router(webhooks_router)
    app.include_router(calls_router)
    app.include_router(call_reports_router)
    app.include_router(audit_router)
    app.include_router(auth_router)
    app.include_router(dashboard_router)
    route_index.install(app)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


def _retry_after(fault: AppError) -> dict[str, str]:
    return {"Retry-After": str(fault.retry_after_seconds or 5)}
