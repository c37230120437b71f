"""`GET /api/v1/token`: the calling token's abilities (a Cuecard extension; Talkover has none)."""

from __future__ import annotations

from fastapi import APIRouter

from cuecard.auth.deps import Reader, runtime_scope
from cuecard.auth.schemas import TokenAbilities
from cuecard.core.schemas import Envelope

router = APIRouter(prefix="/api/v1/token", tags=["auth"])


@router.get("")
@runtime_scope
async def get_token_abilities(caller: Reader) -> Envelope[TokenAbilities]:
    return Envelope(
        data=TokenAbilities(
            token_id=caller.token_id,
            label=caller.label,
            environment_id=caller.environment_id,
            read_only=caller.read_only,
            runtime=caller.runtime,
            can_write=not (caller.read_only or caller.runtime),
        )
    )
