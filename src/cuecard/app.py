"""create_app(): the one place that wires settings, the database, routers, middleware, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from cuecard import __version__
from cuecard.actions.router import router as actions_router
from cuecard.advanced.router import router as advanced_router
from cuecard.agent_tests.router import router as agent_tests_router
from cuecard.agents.router import router as agents_router
from cuecard.auth.service import TokenCache
from cuecard.calling.router import router as calling_router
from cuecard.core.config import Settings
from cuecard.core.db import Database
from cuecard.core.errors import install_error_handlers
from cuecard.core.middleware import BodyLimitMiddleware, RequestIdMiddleware
from cuecard.flows.router import router as flows_router
from cuecard.knowledge.router import router as knowledge_router
from cuecard.lint.router import router as lint_router
from cuecard.runtime.cache import CompiledCache
from cuecard.runtime.router import router as runtime_router
from cuecard.trainings.router import router as trainings_router
from cuecard.versions.router import router as versions_router
from cuecard.voice.catalog import load_catalog
from cuecard.voice.router import router as voice_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    secret_key = settings.resolved_secret_key()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = await Database.connect(settings.database_url)
        try:
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
    app.state.voice_catalog = load_catalog(settings.voice_templates)

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
    app.include_router(flows_router)
    app.include_router(knowledge_router)
    app.include_router(voice_router)
    app.include_router(calling_router)
    app.include_router(advanced_router)
    app.include_router(actions_router)
    app.include_router(lint_router)
    app.include_router(agent_tests_router)
    return app
