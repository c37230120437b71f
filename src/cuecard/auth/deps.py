"""FastAPI dependencies: who is calling, and may they write.

Runtime tokens are refused everywhere by default: only an endpoint marked with `runtime_scope`
accepts them, so an endpoint added later cannot leak to a runtime by forgetting a check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from cuecard.auth.service import Caller, authenticate
from cuecard.core.errors import Forbidden
from cuecard.core.logs import identify_caller

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
    return caller


def require_write(message: str = Forbidden.message) -> Any:
    """A dependency for writes: read-only tokens get 403 with `message`."""

    async def writer(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.read_only:
            raise Forbidden(message)
        return caller

    return Depends(writer)


Reader = Annotated[Caller, Depends(current_caller)]
Writer = Annotated[Caller, require_write()]
