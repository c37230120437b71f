"""If-Match on the agent's own writes: the Agent object is what its ETag names."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cuecard.agent_api.service import current_agent
from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader
from cuecard.core.etag import require_match
from cuecard.core.routing import Uow


async def _agent_unchanged(request: Request, uow: Uow, caller: Reader, agent: ScopedAgent) -> None:
    await require_match(
        request, uow, f"agent:{agent.id}", lambda: current_agent(uow, caller, agent.id)
    )


# On agent writes, after ScopedAgent: 412 when If-Match does not name the agent's current ETag.
AgentUnchanged = Annotated[None, Depends(_agent_unchanged)]
