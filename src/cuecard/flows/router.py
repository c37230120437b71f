from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer
from cuecard.core.etag import etag_of, require_match
from cuecard.core.routing import UnitOfWorkRoute, Uow, body_doc, json_body
from cuecard.core.schemas import Envelope, Message
from cuecard.flows import service
from cuecard.flows.schemas import Flow, FlowUpdate, FlowValidate, FlowVersionDetail, FlowVersions

router = APIRouter(
    prefix="/api/v1/agents/{agent_id}/flow", tags=["flows"], route_class=UnitOfWorkRoute
)

_INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "description": 'Flow validation failed: `{"success": false, "message": "Flow validation '
        'failed", "code": "FLOW_VALIDATION_FAILED", "errors": ["..."]}` (errors is a list of '
        "sentences)."
    }
}


async def _flow_unchanged(request: Request, uow: Uow, agent: ScopedAgent) -> None:
    await require_match(request, uow, f"agent:{agent.id}", lambda: service.get_flow(uow, agent))


# On flow writes, after ScopedAgent: 412 when If-Match does not name the flow's current ETag.
FlowUnchanged = Annotated[None, Depends(_flow_unchanged)]


@router.get("")
async def get_agent_flow(
    response: Response, uow: Uow, caller: Reader, agent: ScopedAgent
) -> Envelope[Flow]:
    flow = await service.get_flow(uow, agent)
    response.headers["ETag"] = etag_of(flow)
    return Envelope(data=flow)


@router.put("", openapi_extra=body_doc(FlowUpdate), responses=_INVALID)
async def update_agent_flow(
    response: Response,
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    unchanged: FlowUnchanged,
    body: Annotated[FlowUpdate, json_body(FlowUpdate)],
) -> Envelope[Flow]:
    flow = await service.update_flow(uow, caller, agent, body)
    response.headers["ETag"] = etag_of(flow)
    return Envelope(data=flow)


@router.post("/validate", openapi_extra=body_doc(FlowValidate), responses=_INVALID)
async def validate_agent_flow(
    caller: Reader, agent: ScopedAgent, body: Annotated[FlowValidate, json_body(FlowValidate)]
) -> Message:
    service.validate_flow(body)
    return Message(message="Flow is valid")


@router.get("/versions")
async def list_agent_flow_versions(
    uow: Uow, caller: Reader, agent: ScopedAgent
) -> Envelope[FlowVersions]:
    return Envelope(data=await service.list_flow_versions(uow, agent))


@router.get("/versions/{flow_version_id}")
async def get_agent_flow_version(
    uow: Uow, caller: Reader, agent: ScopedAgent, flow_version_id: str
) -> Envelope[FlowVersionDetail]:
    return Envelope(data=await service.get_flow_version(uow, agent, flow_version_id))
