"""The agent a request names, resolved inside the caller's environment (404 otherwise)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from cuecard.agents.repository import AgentRow
from cuecard.agents.service import scoped_agent
from cuecard.auth.deps import Reader
from cuecard.core.routing import Uow


async def _scoped_agent(uow: Uow, caller: Reader, agent_id: str) -> AgentRow:
    return await scoped_agent(uow, caller, agent_id)


# Declare it after the Writer dependency and before the body: 401, 403, 404, then 422.
ScopedAgent = Annotated[AgentRow, Depends(_scoped_agent)]
