from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response, status

from cuecard.agent_api import service
from cuecard.agent_api.deps import AgentUnchanged
from cuecard.agent_api.schemas import Agent, AgentCreate, AgentListQuery, AgentUpdate
from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer
from cuecard.core.etag import enveloped_with_etag, etag_of
from cuecard.core.routing import (
    UnitOfWorkRoute,
    Uow,
    body_doc,
    json_body,
    json_object,
    query_doc,
    query_params,
)
from cuecard.core.schemas import Envelope, Message, MessageEnvelope, Page

router = APIRouter(prefix="/api/v1/agents", tags=["agents"], route_class=UnitOfWorkRoute)


@router.post("", status_code=status.HTTP_201_CREATED, openapi_extra=body_doc(AgentCreate))
async def create_agent(
    response: Response,
    uow: Uow,
    caller: Writer,
    body: Annotated[dict[str, Any], json_object()],
) -> MessageEnvelope[Agent]:
    agent = await service.create_agent_from(uow, caller, body)
    response.headers["ETag"] = etag_of(agent)
    return MessageEnvelope(message="Agent created successfully", data=agent)


@router.get("", openapi_extra=query_doc(AgentListQuery))
async def list_agents(
    uow: Uow, caller: Reader, query: Annotated[AgentListQuery, query_params(AgentListQuery)]
) -> Page[Agent]:
    agents, total = await service.list_agents(uow, caller, query)
    return Page.of(agents, page=query.page, per_page=query.per_page, total=total)


@router.get("/{agent_id}", response_model=Envelope[Agent])
async def get_agent(uow: Uow, agent: ScopedAgent) -> Response:
    return enveloped_with_etag(await service.get_agent_json(uow, agent))


@router.patch("/{agent_id}", openapi_extra=body_doc(AgentUpdate))
async def update_agent(
    response: Response,
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    unchanged: AgentUnchanged,
    body: Annotated[AgentUpdate, json_body(AgentUpdate)],
) -> MessageEnvelope[Agent]:
    updated = await service.update_agent(uow, caller, agent, body)
    response.headers["ETag"] = etag_of(updated)
    return MessageEnvelope(message="Agent updated successfully", data=updated)


@router.delete("/{agent_id}")
async def delete_agent(
    uow: Uow, caller: Writer, agent: ScopedAgent, unchanged: AgentUnchanged
) -> Message:
    await service.delete_agent(uow, caller, agent)
    return Message(message="Agent deleted successfully")
