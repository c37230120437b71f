from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, require_write
from cuecard.auth.service import Caller
from cuecard.core.etag import enveloped, enveloped_with_etag
from cuecard.core.routing import UnitOfWorkRoute, Uow, body_doc, json_body, query_doc, query_params
from cuecard.core.schemas import Envelope, Message, MessageEnvelope, Page
from cuecard.trainings import service
from cuecard.trainings.deps import TrainingsUnchanged
from cuecard.trainings.schemas import (
    DEFAULT_PER_PAGE,
    Training,
    TrainingCreate,
    TrainingListQuery,
)

router = APIRouter(
    prefix="/api/v1/agents/{agent_id}/trainings", tags=["trainings"], route_class=UnitOfWorkRoute
)

TrainingCreator = Annotated[
    Caller, require_write("You are not authorized to create training for this agent.")
]
TrainingDeleter = Annotated[
    Caller, require_write("You are not authorized to delete training for this agent.")
]


@router.get(
    "",
    response_model=Envelope[list[Training]] | Page[Training],
    openapi_extra=query_doc(TrainingListQuery),
)
async def list_trainings(
    request: Request,
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    query: Annotated[TrainingListQuery, query_params(TrainingListQuery)],
) -> Envelope[list[Training]] | Page[Training] | Response:
    if query.paginated:
        page, per_page = query.page or 1, query.per_page or DEFAULT_PER_PAGE
        found, total = await service.page_trainings(
            uow, agent, query.current_status, page=page, per_page=per_page
        )
        return Page.of(found, page=page, per_page=per_page, total=total)
    limit = request.app.state.settings.max_trainings_per_agent
    trainings = await service.list_trainings(uow, agent, query.current_status, limit=limit)
    if query.current_status is None:
        # The whole collection's ETag is what If-Match on a training write is checked against.
        return enveloped_with_etag(trainings)
    return enveloped(trainings)


@router.post("", openapi_extra=body_doc(TrainingCreate))
async def create_training(
    request: Request,
    uow: Uow,
    caller: TrainingCreator,
    agent: ScopedAgent,
    unchanged: TrainingsUnchanged,
    body: Annotated[TrainingCreate, json_body(TrainingCreate)],
) -> MessageEnvelope[Training]:
    limit = request.app.state.settings.max_trainings_per_agent
    training, created = await service.upsert_training(uow, caller, agent, body, max_trainings=limit)
    verb = "created" if created else "updated"
    return MessageEnvelope(message=f"Agent training {verb} successfully", data=training)


@router.delete("/{training_id}")
async def delete_training(
    uow: Uow,
    caller: TrainingDeleter,
    agent: ScopedAgent,
    unchanged: TrainingsUnchanged,
    training_id: str,
) -> Message:
    await service.delete_training(uow, caller, agent, training_id)
    return Message(message="Agent training deleted successfully")
