from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from cuecard.agent_api.schemas import Agent
from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Writer
from cuecard.core.routing import UnitOfWorkRoute, Uow, body_doc, json_body
from cuecard.core.schemas import MessageEnvelope
from cuecard.knowledge import service
from cuecard.knowledge.schemas import KnowledgeUpdate

router = APIRouter(prefix="/api/v1/agents", tags=["knowledge"], route_class=UnitOfWorkRoute)


@router.put("/{agent_id}/knowledge", openapi_extra=body_doc(KnowledgeUpdate))
async def update_agent_knowledge(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    body: Annotated[KnowledgeUpdate, json_body(KnowledgeUpdate)],
) -> MessageEnvelope[Agent]:
    updated = await service.update_knowledge(uow, caller, agent, body)
    return MessageEnvelope(message="Agent knowledge updated successfully", data=updated)
