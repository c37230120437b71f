"""FastAPI dependencies: who is calling, and may they write."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from cuecard.auth.service import Caller, authenticate
from cuecard.core.errors import Forbidden, TooManyRequests
from cuecard.core.middleware import add_response_headers


async def current_caller(request: Request) -> Caller:
    known: Caller | None = getattr(request.state, "caller", None)
    if known is not None:  # already authenticated (and counted) for this request
        return known
    state = request.app.state
    caller = await authenticate(
        state.db,
        state.token_cache,
        state.secret_key,
        state.settings.token_prefix,
        request.headers.get("authorization"),
    )
    await _count_request(request, caller)
    request.state.caller = caller
    return caller


async def _count_request(request: Request, caller: Caller) -> None:
    """The token's rate limit: headers on every authenticated response, 429 over the limit."""
    state = request.app.state
    limit = caller.rate_limit or state.settings.rate_limit_per_minute
    decision = await state.rate_limiter.hit(caller.token_id, limit)
    add_response_headers(request.scope, decision.headers())
    if not decision.allowed:
        raise TooManyRequests(headers={"Retry-After": str(decision.retry_after())})


def require_write(message: str = Forbidden.message) -> Any:
    """A dependency for writes: read-only tokens get 403 with `message`."""

    async def writer(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.read_only:
            raise Forbidden(message)
        return caller

    return Depends(writer)


Reader = Annotated[Caller, Depends(current_caller)]
Writer = Annotated[Caller, require_write()]
