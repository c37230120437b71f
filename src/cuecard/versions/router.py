from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from cuecard.agent_api.deps import AgentUnchanged
from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer
from cuecard.core.routing import UnitOfWorkRoute, Uow, query_doc, query_params
from cuecard.core.schemas import Envelope, MessageEnvelope, Page
from cuecard.runtime.deps import RuntimeCache
from cuecard.versions import service
from cuecard.versions.schemas import (
    Diff,
    DiffQuery,
    PublishState,
    RestoreResult,
    Version,
    VersionListQuery,
    VersionSummary,
)

# Publish and unpublish are documented with the agent's own endpoints (Talkover's pages), the
# rest under versions.
router = APIRouter(prefix="/api/v1/agents/{agent_id}", route_class=UnitOfWorkRoute)


@router.get("/versions", tags=["versions"], openapi_extra=query_doc(VersionListQuery))
async def list_versions(
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    query: Annotated[VersionListQuery, query_params(VersionListQuery)],
) -> Page[VersionSummary]:
    versions, total = await service.list_versions(uow, agent, query)
    return Page.of(versions, page=query.page, per_page=query.per_page, total=total)


@router.get("/versions/{version}", tags=["versions"])
async def get_version(uow: Uow, caller: Reader, agent: ScopedAgent, version: str
                      ) -> Envelope[Version]:  # fmt: skip
    return Envelope(data=await service.get_version(uow, agent, version))


@router.post("/versions/{version}/restore", tags=["versions"])
async def restore_version(
    uow: Uow, caller: Writer, agent: ScopedAgent, version: str
) -> MessageEnvelope[RestoreResult]:
    result = await service.restore_version(uow, caller, agent, version)
    return MessageEnvelope(
        message=f"Agent restored to version {result.restored_version}; publish it to make it live.",
        data=result,
    )


@router.get("/diff", tags=["versions"], openapi_extra=query_doc(DiffQuery))
async def diff_versions(
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    query: Annotated[DiffQuery, query_params(DiffQuery)],
    cache: RuntimeCache,
) -> Envelope[Diff]:
    return Envelope(data=await service.diff(uow, cache, agent, query.from_, query.to))


@router.post("/publish", tags=["agents"])
async def publish_agent(
    uow: Uow, caller: Writer, agent: ScopedAgent, unchanged: AgentUnchanged, cache: RuntimeCache
) -> MessageEnvelope[PublishState]:
    state = await service.publish_agent(uow, cache, caller, agent)
    return MessageEnvelope(message="Agent published successfully", data=state)


@router.post("/unpublish", tags=["agents"])
async def unpublish_agent(
    uow: Uow, caller: Writer, agent: ScopedAgent, unchanged: AgentUnchanged
) -> MessageEnvelope[PublishState]:
    state = await service.unpublish_agent(uow, caller, agent)
    return MessageEnvelope(message="Agent unpublished successfully", data=state)
