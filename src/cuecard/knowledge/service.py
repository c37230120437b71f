"""Knowledge rules: PUT replaces the agent's prompt and conversation behaviour and sets it back
to draft. `initial_message` left out keeps the stored one."""

from __future__ import annotations

from cuecard.agents import repository as agents_repository
from cuecard.agents.schemas import Agent
from cuecard.agents.service import load_agent, still_there
from cuecard.core.db import Row, UnitOfWork, utcnow
from cuecard.knowledge.schemas import KnowledgeUpdate


async def update_knowledge(uow: UnitOfWork, agent: Row, data: KnowledgeUpdate) -> Agent:
    changes = data.model_dump(exclude_none=True)
    row = still_there(await agents_repository.update(uow, agent["id"], changes, utcnow()))
    return await load_agent(uow, row)
