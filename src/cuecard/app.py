"""create_app(): the one place that wires settings, the database, routers, middleware, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from cuecard import __version__
from cuecard.agents.router import router as agents_router
from cuecard.auth.deps import current_caller
from cuecard.auth.service import TokenCache
from cuecard.core import redaction
from cuecard.core.config import Settings
from cuecard.core.db import Database
from cuecard.core.errors import AppError, error_response, install_error_handlers
from cuecard.core.middleware import (
    BodyLimitMiddleware,
    RequestGuardMiddleware,
    RequestIdMiddleware,
    ResponseHeadersMiddleware,
)
from cuecard.core.openapi import build_openapi, install_docs
from cuecard.core.ratelimit import build_limiter
from cuecard.runtime.cache import CompiledCache
from cuecard.runtime.router import router as runtime_router
from cuecard.trainings.router import router as trainings_router
from cuecard.versions.router import router as versions_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    secret_key = settings.resolved_secret_key()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = await Database.connect(
            settings.database_url,
            connect_timeout=settings.database_connect_timeout_seconds,
            statement_timeout=settings.database_statement_timeout_seconds,
        )
        app.state.rate_limiter = build_limiter(
            settings.database_url, settings.redis_url, settings.rate_limit_dir
        )
        try:
            yield
        finally:
            await app.state.rate_limiter.close()
            await app.state.db.close()

    app = FastAPI(
        title="Cuecard",
        version=__version__,
        summary="Talkover-compatible backend for voice agents and their trainings.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Operation ids are the handlers' names (create_training), for readable generated code.
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.settings = settings
    app.state.secret_key = secret_key
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    app.state.runtime_cache = CompiledCache()
    # Who is calling, for core code that runs before the route's dependencies (idempotent
    # replays); the route's own Reader/Writer then reuse the same caller.
    app.state.authenticate = current_caller

    install_error_handlers(app)
    redaction.install(settings.token_prefix)
    # The last added runs first: request id, then response headers, guard, body limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestGuardMiddleware, max_header_bytes=settings.max_header_bytes)
    app.add_middleware(ResponseHeadersMiddleware)
    app.add_middleware(RequestIdMiddleware)

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

    app.include_router(agents_router)
    app.include_router(trainings_router)
    app.include_router(runtime_router)
    app.include_router(versions_router)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


def _retry_after(fault: AppError) -> dict[str, str]:
    return {"Retry-After": str(fault.retry_after_seconds or 5)}
