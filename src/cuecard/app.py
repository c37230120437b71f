"""create_app(): the one place that wires settings, the database, routers, middleware, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from cuecard import __version__
from cuecard.agents.router import router as agents_router
from cuecard.audit.router import router as audit_router
from cuecard.auth.service import TokenCache
from cuecard.calls.router import router as calls_router
from cuecard.calls.router import runtime as call_reports_router
from cuecard.core.config import Settings
from cuecard.core.db import Database
from cuecard.core.errors import install_error_handlers
from cuecard.core.middleware import BodyLimitMiddleware, RequestIdMiddleware
from cuecard.runtime.cache import CompiledCache
from cuecard.runtime.router import router as runtime_router
from cuecard.trainings.router import router as trainings_router
from cuecard.versions.router import router as versions_router
from cuecard.webhooks.delivery import running_worker
from cuecard.webhooks.router import router as webhooks_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    secret_key = settings.resolved_secret_key()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = await Database.connect(settings.database_url)
        try:
            # Every server process delivers webhooks too (see webhooks/delivery.py).
            async with running_worker(app.state.db, settings, secret_key):
                yield
        finally:
            await app.state.db.close()

    app = FastAPI(
        title="Cuecard",
        version=__version__,
        summary="Talkover-compatible backend for voice agents and their trainings.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.secret_key = secret_key
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    app.state.runtime_cache = CompiledCache()

    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)

    async def health() -> JSONResponse:
        ok = await app.state.db.ping()
        return JSONResponse({"status": "ok" if ok else "unavailable"}, 200 if ok else 503)

    for path in ("/health", "/api/v1/health"):
        app.add_api_route(path, health, methods=["GET"], tags=["health"], name=f"health{path}")

    app.include_router(agents_router)
    app.include_router(trainings_router)
    app.include_router(runtime_router)
    app.include_router(versions_router)
    app.include_router(webhooks_router)
    app.include_router(calls_router)
    app.include_router(call_reports_router)
    app.include_router(audit_router)
    return app
