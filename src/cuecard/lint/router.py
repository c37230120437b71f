from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader
from cuecard.core.routing import UnitOfWorkRoute, Uow, query_doc, query_params
from cuecard.core.schemas import Envelope
from cuecard.lint import service
from cuecard.lint.schemas import LintQuery, LintReport
from cuecard.runtime.deps import RuntimeCache

router = APIRouter(prefix="/api/v1/agents/{agent_id}", tags=["lint"], route_class=UnitOfWorkRoute)


@router.get("/lint", openapi_extra=query_doc(LintQuery))
async def lint_agent(
    uow: Uow,
    caller: Reader,
    agent: ScopedAgent,
    cache: RuntimeCache,
    query: Annotated[LintQuery, query_params(LintQuery)],
) -> Envelope[LintReport]:
    return Envelope(data=await service.lint_agent(uow, cache, agent, query.version))
