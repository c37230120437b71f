from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from cuecard.agent_tests import service
from cuecard.agent_tests.schemas import AgentTest, AgentTestUpsert, RunRequest, RunResult
from cuecard.agents.deps import ScopedAgent
from cuecard.auth.deps import Reader, Writer
from cuecard.core.routing import AppSettings, UnitOfWorkRoute, Uow, body_doc, json_body
from cuecard.core.schemas import Envelope, Message, MessageEnvelope
from cuecard.runtime.deps import RuntimeCache

router = APIRouter(
    prefix="/api/v1/agents/{agent_id}", tags=["agent tests"], route_class=UnitOfWorkRoute
)


@router.get("/tests")
async def list_agent_tests(
    uow: Uow, caller: Reader, agent: ScopedAgent
) -> Envelope[list[AgentTest]]:
    return Envelope(data=await service.list_tests(uow, agent))


@router.put("/tests/{name:path}", openapi_extra=body_doc(AgentTestUpsert))
async def upsert_agent_test(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    name: str,
    body: Annotated[AgentTestUpsert, json_body(AgentTestUpsert)],
) -> MessageEnvelope[AgentTest]:
    test, created = await service.upsert_test(uow, agent, name, body)
    verb = "created" if created else "updated"
    return MessageEnvelope(message=f"Agent test {verb} successfully", data=test)


@router.delete("/tests/{name:path}")
async def delete_agent_test(uow: Uow, caller: Writer, agent: ScopedAgent, name: str) -> Message:
    await service.delete_test(uow, agent, name)
    return Message(message="Agent test deleted successfully")


@router.post("/test-runs", openapi_extra=body_doc(RunRequest))
async def create_test_run(
    uow: Uow,
    caller: Writer,
    agent: ScopedAgent,
    cache: RuntimeCache,
    settings: AppSettings,
    body: Annotated[RunRequest, json_body(RunRequest)],
) -> Envelope[RunResult]:
    return Envelope(data=await service.run(uow, cache, settings, agent, body))


@router.get("/test-runs/{run_id}")
async def get_test_run(
    uow: Uow, caller: Reader, agent: ScopedAgent, run_id: str
) -> Envelope[RunResult]:
    return Envelope(data=await service.get_run(uow, agent, run_id))
