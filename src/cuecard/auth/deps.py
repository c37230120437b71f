"""FastAPI dependencies: who is calling, and may they write."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from cuecard.auth.service import Caller, authenticate
from cuecard.core.errors import Forbidden
from cuecard.core.logs import identify_caller


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
