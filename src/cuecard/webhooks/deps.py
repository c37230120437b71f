"""The agent a webhook route names (404 in the webhook pages' wording), and the server's key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cuecard.agents.repository import AgentRow
from cuecard.agents.service import AgentNotFound, scoped_agent
from cuecard.auth.deps import Reader
from cuecard.core.routing import Uow


async def _webhook_agent(uow: Uow, caller: Reader, agent_id: str) -> AgentRow:
    try:
        return await scoped_agent(uow, caller, agent_id)
    except AgentNotFound:
        raise AgentNotFound("Agent not found in this environment.") from None


async def _secret_key(request: Request) -> bytes:
    key: bytes = request.app.state.secret_key
    return key


WebhookAgent = Annotated[AgentRow, Depends(_webhook_agent)]
SecretKey = Annotated[bytes, Depends(_secret_key)]
