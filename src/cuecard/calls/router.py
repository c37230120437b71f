from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer, runtime_scope
from cuecard.calls import service
from cuecard.calls.schemas import (
    Accepted,
    Call,
    CallClose,
    CallDetail,
    CallListQuery,
    CallOpen,
    CallWithAgent,
    EventsReport,
    Pagination,
    TrainingUsage,
    TurnsReport,
    UsageQuery,
)
from cuecard.core.routing import UnitOfWorkRoute, Uow, body_doc, json_body, query_doc, query_params
from cuecard.core.schemas import Envelope

T = TypeVar("T")

router = APIRouter(prefix="/api/v1", tags=["calls"], route_class=UnitOfWorkRoute)
runtime = APIRouter(
    prefix="/api/v1/agents/{agent_id}/runtime/calls", tags=["runtime"], route_class=UnitOfWorkRoute
)


class CallPage(BaseModel, Generic[T]):
    success: bool = True
    data: list[T]
    pagination: Pagination

    @classmethod
    def of(cls, items: list[T], *, page: int, per_page: int, total: int) -> CallPage[T]:
        first = (page - 1) * per_page + 1
        return cls(
            data=items,
            pagination=Pagination(
                current_page=page,
                last_page=max(1, -(-total // per_page)),
                per_page=per_page,
                total=total,
                from_=first if items else None,
                to=first + len(items) - 1 if items else None,
            ),
        )


@router.get("/calls", openapi_extra=query_doc(CallListQuery))
async def list_calls(
    uow: Uow, caller: Reader, query: Annotated[CallListQuery, query_params(CallListQuery)]
) -> CallPage[CallWithAgent]:
    calls, total = await service.list_calls(uow, caller, query)
    return CallPage.of(calls, page=query.page, per_page=query.per_page, total=total)


@router.get("/agents/{agent_id}/calls", openapi_extra=query_doc(CallListQuery))
async def get_agent_calls(
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    query: Annotated[CallListQuery, query_params(CallListQuery)],
) -> CallPage[Call]:
    calls, total = await service.list_agent_calls(uow, caller, agent, query)
    return CallPage.of(calls, page=query.page, per_page=query.per_page, total=total)


@router.get("/agents/{agent_id}/calls/{call_id}")
async def get_call(
    uow: Uow, caller: Reader, agent: ScopedAgent, call_id: str
) -> Envelope[CallDetail]:
    return Envelope(data=await service.get_call(uow, agent, call_id))


@router.get("/agents/{agent_id}/trainings/{training_id}/usage", openapi_extra=query_doc(UsageQuery))
async def get_training_usage(
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    training_id: str,
    query: Annotated[UsageQuery, query_params(UsageQuery)],
) -> Envelope[TrainingUsage]:
    return Envelope(data=await service.training_usage(uow, agent, training_id, query))


# --- runtime reports ---------------------------------------------------------------------------


@runtime.post("", status_code=status.HTTP_201_CREATED, openapi_extra=body_doc(CallOpen))
@runtime_scope
async def open_call(
    response: Response,
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    body: Annotated[CallOpen, json_body(CallOpen)],
) -> Envelope[Call]:
    call, created = await service.open_call(uow, caller, agent, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return Envelope(data=call)


@runtime.post("/{call_id}/events", openapi_extra=body_doc(EventsReport))
@runtime_scope
async def report_call_events(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    call_id: str,
    body: Annotated[EventsReport, json_body(EventsReport)],
) -> Envelope[Accepted]:
    return Envelope(data=await service.report_events(uow, agent, call_id, body))


@runtime.post("/{call_id}/turns", openapi_extra=body_doc(TurnsReport))
@runtime_scope
async def report_call_turns(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    call_id: str,
    body: Annotated[TurnsReport, json_body(TurnsReport)],
) -> Envelope[Accepted]:
    return Envelope(data=await service.report_turns(uow, agent, call_id, body))


@runtime.post("/{call_id}/close", openapi_extra=body_doc(CallClose))
@runtime_scope
async def close_call(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    call_id: str,
    body: Annotated[CallClose, json_body(CallClose)],
) -> Envelope[Call]:
    return Envelope(data=await service.close_call(uow, agent, call_id, body))
