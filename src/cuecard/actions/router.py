from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from cuecard.actions import service
from cuecard.actions.integrations import INTEGRATIONS
from cuecard.actions.schemas import (
    Action,
    ActionCreate,
    ActionIntegration,
    InvokeRequest,
    InvokeResult,
)
from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, require_write, runtime_scope
from cuecard.auth.service import Caller
from cuecard.core.etag import etag_of, require_match
from cuecard.core.routing import AppSettings, UnitOfWorkRoute, Uow, body_doc, json_object
from cuecard.core.schemas import Envelope, Message, MessageEnvelope

router = APIRouter(prefix="/api/v1", tags=["actions"], route_class=UnitOfWorkRoute)

ActionCreator = Annotated[
    Caller, require_write("You are not authorized to create actions for this agent.")
]
ActionDeleter = Annotated[
    Caller, require_write("You are not authorized to delete actions for this agent.")
]


async def _actions_unchanged(request: Request, uow: Uow, agent: ScopedAgent) -> None:
    await require_match(request, uow, f"agent:{agent.id}", lambda: service.list_actions(uow, agent))


# Actions have no single-item read in the Talkover API: If-Match on an action write is checked
# against the ETag of the collection, GET .../actions.
ActionsUnchanged = Annotated[None, Depends(_actions_unchanged)]


@router.get("/agents/{agent_id}/actions")
async def list_actions(
    response: Response, uow: Uow, caller: Reader, agent: ScopedAgent
) -> Envelope[list[Action]]:
    actions = await service.list_actions(uow, agent)
    response.headers["ETag"] = etag_of(actions)
    return Envelope(data=actions)


@router.post("/agents/{agent_id}/actions", openapi_extra=body_doc(ActionCreate))
async def create_action(
    request: Request,
    uow: Uow,
    caller: ActionCreator,
    agent: ScopedAgent,
    unchanged: ActionsUnchanged,
    body: Annotated[dict[str, Any], json_object()],
) -> MessageEnvelope[Action]:
    key = request.app.state.secret_key
    action, created = await service.upsert_action(uow, caller, key, agent, body)
    verb = "created" if created else "updated"
    return MessageEnvelope(message=f"Agent action {verb} successfully", data=action)


@router.delete("/agents/{agent_id}/actions/{action_id}")
async def delete_action(
    uow: Uow,
    caller: ActionDeleter,
    agent: ScopedAgent,
    unchanged: ActionsUnchanged,
    action_id: str,
) -> Message:
    await service.delete_action(uow, caller, agent, action_id)
    return Message(message="Agent action deleted successfully")


@router.get("/action-integrations")
async def list_action_integrations(caller: Reader) -> Envelope[list[ActionIntegration]]:
    return Envelope(data=list(INTEGRATIONS))


@router.post(
    "/agents/{agent_id}/runtime/actions/{action_id}/invoke",
    tags=["runtime"],
    openapi_extra=body_doc(InvokeRequest),
)
@runtime_scope
async def invoke_action(
    request: Request,
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    action_id: str,
    settings: AppSettings,
    body: Annotated[dict[str, Any], json_object()],
) -> Envelope[InvokeResult]:
    """Run a webhook action for a runtime: the LLM's `arguments`, Cuecard's stored credentials."""
    result = await service.invoke_action(
        uow, settings, request.app.state.secret_key, agent, action_id, body
    )
    return Envelope(data=result)
