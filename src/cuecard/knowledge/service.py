"""Knowledge rules: PUT replaces the agent's prompt and conversation behaviour and sets it back
to draft. `initial_message` left out keeps the stored one."""

from __future__ import annotations

from cuecard.agent_api.schemas import Agent
from cuecard.agent_api.service import load_agent
from cuecard.agents import repository as agents_repository
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import still_there
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.core.db import UnitOfWork, utcnow
from cuecard.knowledge.schemas import KnowledgeUpdate


async def update_knowledge(
    uow: UnitOfWork, caller: Caller, agent: AgentRow, data: KnowledgeUpdate
) -> Agent:
    changes = data.model_dump(exclude_none=True)
    row = still_there(
        await agents_repository.update_settings_and_reset_draft(uow, agent.id, changes, utcnow())
    )
    await audit.record(
        uow,
        caller,
        "agent.knowledge_updated",
        agent_id=agent.id,
        target_type="agent",
        target_id=agent.id,
        changes=audit.changed(agent, changes),
    )
    return await load_agent(uow, row)
