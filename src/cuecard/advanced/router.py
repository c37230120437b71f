from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from cuecard.advanced import service
from cuecard.advanced.schemas import AdvancedSettingsState, AdvancedSettingsUpdate, Eligibility
from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer
from cuecard.core.routing import AppSettings, UnitOfWorkRoute, Uow, body_doc, json_body
from cuecard.core.schemas import Envelope, MessageEnvelope

router = APIRouter(prefix="/api/v1/agents", tags=["advanced settings"], route_class=UnitOfWorkRoute)


@router.patch("/{agent_id}/advanced-settings", openapi_extra=body_doc(AdvancedSettingsUpdate))
async def update_advanced_settings(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    settings: AppSettings,
    body: Annotated[AdvancedSettingsUpdate, json_body(AdvancedSettingsUpdate)],
) -> MessageEnvelope[AdvancedSettingsState]:
    state = await service.update_advanced_settings(uow, caller, settings, agent, body)
    return MessageEnvelope(message="Advanced settings updated successfully", data=state)


@router.get("/{agent_id}/optimized-costs-eligibility")
async def check_optimized_costs_eligibility(
    uow: Uow, caller: Reader, agent: ScopedAgent, settings: AppSettings
) -> Envelope[Eligibility]:
    return Envelope(data=await service.eligibility(uow, settings, agent))
