"""FastAPI dependencies: who is calling, and may they write.

Runtime tokens are refused everywhere by default: only an endpoint marked with `runtime_scope`
accepts them, so an endpoint added later cannot leak to a runtime by forgetting a check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from cuecard.auth.service import Caller, authenticate
from cuecard.core import metrics
from cuecard.core.errors import Forbidden, TooManyRequests
from cuecard.core.logs import identify_caller
from cuecard.core.middleware import add_response_headers
from cuecard.core.observability import route_template

F = TypeVar("F", bound=Callable[..., Any])
_RUNTIME_SCOPE = "__cuecard_runtime_scope__"


def runtime_scope(endpoint: F) -> F:
    """Mark an endpoint as one a runtime token may call (runtime config, retrieve, actions,
    call reports). Put it under the route decorator."""
    setattr(endpoint, _RUNTIME_SCOPE, True)
    return endpoint


class RuntimeTokenForbidden(Forbidden):
    code = "RUNTIME_TOKEN_FORBIDDEN"
    message = "A runtime token may only read runtime configs, retrieve, and report calls."


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
    identify_caller(caller.environment_id, caller.token_id)
    if caller.runtime and not getattr(request.scope.get("endpoint"), _RUNTIME_SCOPE, False):
        raise RuntimeTokenForbidden()
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
        metrics.RATE_LIMIT_REJECTIONS.labels(route_template(request.scope)).inc()
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
