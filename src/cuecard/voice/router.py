from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from cuecard.agent_api.schemas import Agent
from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer
from cuecard.core.routing import (
    UnitOfWorkRoute,
    Uow,
    body_doc,
    json_object,
    query_doc,
    query_params,
)
from cuecard.core.schemas import Envelope, MessageEnvelope
from cuecard.voice import service
from cuecard.voice.catalog import Catalog
from cuecard.voice.schemas import VoiceTemplateGroup, VoiceTemplateQuery, VoiceUpdate

router = APIRouter(prefix="/api/v1", tags=["voice"], route_class=UnitOfWorkRoute)


async def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.voice_catalog
    return catalog


VoiceCatalog = Annotated[Catalog, Depends(_catalog)]


@router.get("/voice-templates", openapi_extra=query_doc(VoiceTemplateQuery))
async def list_voice_templates(
    caller: Reader,
    catalog: VoiceCatalog,
    query: Annotated[VoiceTemplateQuery, query_params(VoiceTemplateQuery)],
) -> Envelope[list[VoiceTemplateGroup]]:
    return Envelope(data=service.list_templates(catalog, query))


@router.put("/agents/{agent_id}/voice", openapi_extra=body_doc(VoiceUpdate))
async def update_agent_voice(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    catalog: VoiceCatalog,
    body: Annotated[dict[str, Any], json_object()],
) -> MessageEnvelope[Agent]:
    updated = await service.update_voice(uow, caller, catalog, agent, body)
    return MessageEnvelope(message="Agent voice updated successfully", data=updated)
