"""Dependencies of the runtime and versions routers: the process's compiled-config cache and the
settings (for the LLM of test conversations). Both async: a `def` dependency costs a thread hop."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cuecard.core.config import Settings
from cuecard.runtime.cache import CompiledCache


async def _cache(request: Request) -> CompiledCache:
    cache: CompiledCache = request.app.state.runtime_cache
    return cache


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


RuntimeCache = Annotated[CompiledCache, Depends(_cache)]
AppSettings = Annotated[Settings, Depends(_settings)]
