from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer
from cuecard.core.routing import UnitOfWorkRoute, Uow
from cuecard.core.schemas import Envelope, MessageEnvelope, Page
from cuecard.core.validation import validate
from cuecard.runtime.deps import RuntimeCache
from cuecard.versions import service
from cuecard.versions.schemas import (
    Diff,
    DiffQuery,
    RestoreResult,
    Version,
    VersionListQuery,
    VersionSummary,
)

router = APIRouter(
    prefix="/api/v1/agents/{agent_id}", tags=["versions"], route_class=UnitOfWorkRoute
)


def _list_query(request: Request) -> VersionListQuery:
    return validate(VersionListQuery, dict(request.query_params))


def _diff_query(request: Request) -> DiffQuery:
    return validate(DiffQuery, dict(request.query_params))


@router.get("/versions")
async def list_versions(
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    query: Annotated[VersionListQuery, Depends(_list_query)],
) -> Page[VersionSummary]:
    versions, total = await service.list_versions(uow, agent, query)
    return Page.of(versions, page=query.page, per_page=query.per_page, total=total)


@router.get("/versions/{version}")
async def get_version(uow: Uow, caller: Reader, agent: ScopedAgent, version: str
                      ) -> Envelope[Version]:  # fmt: skip
    return Envelope(data=await service.get_version(uow, agent, version))


@router.post("/versions/{version}/restore")
async def restore_version(
    uow: Uow, caller: Writer, agent: ScopedAgent, version: str
) -> MessageEnvelope[RestoreResult]:
    result = await service.restore_version(uow, agent, version)
    return MessageEnvelope(
        message=f"Agent restored to version {result.restored_version}; publish it to make it live.",
        data=result,
    )


@router.get("/diff")
async def diff_versions(
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    query: Annotated[DiffQuery, Depends(_diff_query)],
    cache: RuntimeCache,
) -> Envelope[Diff]:
    return Envelope(data=await service.diff(uow, cache, agent, query.from_, query.to))
