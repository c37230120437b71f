"""Agent test rules: tests are upserted by name; a run resolves draft, published or N, runs every
test (sent with the run, else the stored ones), records the outcome and reports coverage.

Reply checks run only when an LLM is configured (CUECARD_LLM_*): the reply comes from the same
prompt `test-conversations` sends, and a criterion is judged by the same LLM answering YES or NO.
"""

from __future__ import annotations

import json

import msgspec

from cuecard.agent_tests import repository
from cuecard.agent_tests.repository import AgentTestRow
from cuecard.agent_tests.runner import Judge, Reply, run_tests
from cuecard.agent_tests.schemas import (
    AgentTest,
    AgentTestDefinition,
    AgentTestUpsert,
    RunRequest,
    RunResult,
)
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import AgentNotFound
from cuecard.core.config import Settings
from cuecard.core.db import UnitOfWork, new_id, utcnow
from cuecard.core.errors import NotFound, ValidationFailed
from cuecard.runtime import llm
from cuecard.runtime.cache import CompiledCache
from cuecard.runtime.compile import Compiled
from cuecard.runtime.retrieval import Retrieval, prepare_index
from cuecard.runtime.service import LlmTimedOut, LlmUpstreamError, prompt_for, resolve

JUDGE_PROMPT = (
    "You check a voice agent's reply against one criterion. Answer with the single word YES if "
    "the reply meets the criterion, otherwise NO."
)


class AgentTestNotFound(NotFound):
    code = "AGENT_TEST_NOT_FOUND"
    message = "Agent test not found"


class TestRunNotFound(NotFound):
    __test__ = False  # not a pytest class
    code = "TEST_RUN_NOT_FOUND"
    message = "Test run not found"


def _to_test(row: AgentTestRow) -> AgentTest:
    definition = json.loads(row.definition)
    return AgentTest.model_validate({**msgspec.structs.asdict(row), **definition, "name": row.name})


async def list_tests(uow: UnitOfWork, agent: AgentRow) -> list[AgentTest]:
    return [_to_test(row) for row in await repository.for_agent(uow, agent.id)]


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 255:
        raise ValidationFailed({"name": ["The name must be between 1 and 255 characters."]})
    return name


async def upsert_test(
    uow: UnitOfWork, agent: AgentRow, name: str, data: AgentTestUpsert
) -> tuple[AgentTest, bool]:
    now = utcnow()
    row, created = await repository.upsert(
        uow,
        {
            "id": new_id(),
            "agent_id": agent.id,
            "name": _check_name(name),
            "definition": json.dumps(data.model_dump(mode="json"), sort_keys=True),
            "now": now,
        },
    )
    return _to_test(row), created


async def delete_test(uow: UnitOfWork, agent: AgentRow, name: str) -> None:
    if not await repository.delete(uow, agent.id, name.strip()):
        raise AgentTestNotFound()


def _llm_hooks(settings: Settings, compiled: Compiled) -> tuple[Reply | None, Judge | None]:
    base_url, model = settings.llm_base_url, settings.llm_model
    if not (base_url and model):
        return None, None

    async def complete(messages: list[dict[str, str]], temperature: float | None) -> str:
        try:
            answer = await llm.chat_completion(
                base_url=base_url,
                api_key=settings.llm_api_key,
                model=model,
                messages=messages,
                temperature=temperature,
                timeout_seconds=settings.llm_timeout_seconds,
            )
        except llm.LlmTimeout as exc:
            raise LlmTimedOut(exc.message) from None
        except llm.LlmError as exc:
            raise LlmUpstreamError(exc.message) from None
        return answer.content

    async def reply(test: AgentTestDefinition, found: Retrieval | None) -> str:
        system = [m.model_dump() for m in prompt_for(compiled, test.node_id, found)]
        conversation = [{"role": m.role, "content": m.content} for m in test.conversation]
        return await complete([*system, *conversation], compiled.settings.get("llm_temperature"))

    async def judge(criterion: str, text: str) -> bool:
        verdict = await complete(
            [
                {"role": "system", "content": JUDGE_PROMPT},
                {"role": "user", "content": f"Criterion: {criterion}\n\nReply: {text}"},
            ],
            0.0,
        )
        return verdict.strip().upper().startswith("YES")

    return reply, judge


async def run(
    uow: UnitOfWork, cache: CompiledCache, settings: Settings, agent: AgentRow, body: RunRequest
) -> RunResult:
    resolved = await resolve(uow, cache, agent, body.version)
    tests = body.tests if body.tests is not None else await repository.definitions(uow, agent.id)
    if not tests:
        raise ValidationFailed(
            {"tests": ["The agent has no tests: store some, or send them with the run."]}
        )
    await prepare_index(resolved.compiled, cache.vectors)
    reply, judge = _llm_hooks(settings, resolved.compiled)
    if reply is not None:
        # Everything is read: give the pooled connection back while the LLM answers (as test
        # conversations do); recording the run below takes one again.
        await uow.close()
    result = await run_tests(
        resolved.compiled,
        tests,
        version=resolved.version,
        draft_revision=resolved.draft_revision,
        reply=reply,
        judge=judge,
    )
    result.id, result.created_at = new_id(), utcnow()
    recorded = await repository.insert_run(
        uow,
        {
            "id": result.id,
            "agent_id": agent.id,
            "version": str(resolved.version),
            "draft_revision": resolved.draft_revision,
            "config_hash": result.config_hash,
            "passed": result.passed,
            "total": result.total,
            "failed": result.failed,
            "result": result.model_dump_json(),
            "created_at": result.created_at,
        },
    )
    if not recorded:
        raise AgentNotFound()  # deleted while its tests ran
    return result


async def get_run(uow: UnitOfWork, agent: AgentRow, run_id: str) -> RunResult:
    row = await repository.get_run(uow, agent.id, run_id.lower())
    if row is None:
        raise TestRunNotFound()
    return RunResult.model_validate_json(row.result)
