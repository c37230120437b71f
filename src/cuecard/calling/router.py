from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer
from cuecard.calling import service
from cuecard.calling.schemas import (
    CallingState,
    CallingUpdate,
    PhoneNumber,
    PhoneNumberQuery,
)
from cuecard.core.routing import (
    UnitOfWorkRoute,
    Uow,
    body_doc,
    json_object,
    query_doc,
    query_params,
)
from cuecard.core.schemas import Envelope, MessageEnvelope

router = APIRouter(prefix="/api/v1", tags=["calling"], route_class=UnitOfWorkRoute)


@router.put("/agents/{agent_id}/calling", openapi_extra=body_doc(CallingUpdate))
async def update_agent_calling(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    body: Annotated[dict[str, Any], json_object()],
) -> MessageEnvelope[CallingState]:
    state = await service.update_calling(uow, caller, agent, body)
    return MessageEnvelope(message="Agent calling settings updated successfully", data=state)


@router.get("/phone-numbers", openapi_extra=query_doc(PhoneNumberQuery))
async def list_phone_numbers(
    uow: Uow, caller: Reader, query: Annotated[PhoneNumberQuery, query_params(PhoneNumberQuery)]
) -> Envelope[list[PhoneNumber]]:
    return Envelope(data=await service.list_phone_numbers(uow, caller, query))
