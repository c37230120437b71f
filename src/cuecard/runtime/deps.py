"""Dependencies of the routers that compile (runtime, versions, lint, agent_tests): the
process's compiled-config cache. Async, as every dependency of a route (`core.routing._Plan`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cuecard.runtime.cache import CompiledCache


async def _cache(request: Request) -> CompiledCache:
    cache: CompiledCache = request.app.state.runtime_cache
    return cache


RuntimeCache = Annotated[CompiledCache, Depends(_cache)]
