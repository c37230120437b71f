"""Runtime rules: which snapshot a request means, compiled once per version or draft revision;
per-turn retrieval; and test conversations that send exactly what a runtime would.

`draft` is the agent as it is now (every change is live there at once), `published` the newest
version (409 if the agent was never published), `N` that version (404 if there is none).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from cuecard.agents import repository as agents_repository
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import AgentNotFound
from cuecard.auth.service import Caller
from cuecard.calling import service as calling
from cuecard.core.config import Settings
from cuecard.core.db import UnitOfWork
from cuecard.core.errors import AppError, Conflict, NotFound, ServiceUnavailable
from cuecard.core.metrics import RETRIEVAL_SECONDS
from cuecard.runtime import llm
from cuecard.runtime.cache import CompiledCache, draft_key, version_key
from cuecard.runtime.compile import BudgetMode, Compiled, Format, compile_snapshot
from cuecard.runtime.retrieval import Retrieval, Turn, has_index, prepare_index, retrieve
from cuecard.runtime.schemas import (
    ChatMessage,
    ConversationDebug,
    ConversationRequest,
    ConversationResult,
    PromptTokens,
    Reply,
    RetrievedDocument,
    RetrieveRequest,
    RetrieveResponse,
    SentMessage,
    TrainingIds,
)
from cuecard.runtime.tokens import count_tokens
from cuecard.snapshots import repository as snapshots_repository
from cuecard.snapshots.reader import read as read_snapshot
from cuecard.snapshots.service import live_snapshot
from cuecard.trainings import repository as trainings_repository

# A draft read races with writes at most this often before it is served uncached.
_DRAFT_READ_ATTEMPTS = 3


class AgentNotPublished(Conflict):
    code = "AGENT_NOT_PUBLISHED"
    message = "The agent has never been published: ask for version=draft, or publish it first."


class VersionNotFound(NotFound):
    code = "VERSION_NOT_FOUND"
    message = "Version not found"


class LlmNotConfigured(ServiceUnavailable):
    code = "LLM_NOT_CONFIGURED"
    message = (
        "No LLM is configured: set CUECARD_LLM_BASE_URL and CUECARD_LLM_MODEL (and "
        "CUECARD_LLM_API_KEY if the server needs one). debug.messages shows what would be sent."
    )


class LlmUpstreamError(AppError):
    status_code = 502
    code = "LLM_UPSTREAM_ERROR"


class LlmTimedOut(AppError):
    status_code = 504
    code = "LLM_TIMEOUT"


@dataclass(frozen=True, slots=True)
class Resolved:
    compiled: Compiled
    version: int | str  # a number, or "draft"
    draft_revision: int | None
    cache_hit: bool


async def resolve(
    uow: UnitOfWork, cache: CompiledCache, agent: AgentRow, selector: str | int
) -> Resolved:
    """The compiled config `selector` (draft, published or N) names, from the cache if it can."""
    if selector == "draft":
        return await _draft(uow, cache, agent)
    if selector == "published":
        if agent.published_version is None:
            raise AgentNotPublished()
        selector = int(agent.published_version)
    return await _version(uow, cache, agent, int(selector))


async def _version(uow: UnitOfWork, cache: CompiledCache, agent: AgentRow, number: int) -> Resolved:
    key = version_key(agent.id, number)
    compiled = cache.get(key)
    if compiled is not None:
        return Resolved(compiled, number, None, cache_hit=True)
    frozen = await snapshots_repository.snapshot(uow, agent.id, number)
    if frozen is None:
        raise VersionNotFound()
    # Compiling is pure CPU (about 0.75 s at 10,000 trainings): in a worker thread the event
    # loop keeps serving other requests meanwhile (bench/README.md, "Big agents").
    compiled = await asyncio.to_thread(_compile_frozen, frozen)
    cache.put(key, compiled)
    return Resolved(compiled, number, None, cache_hit=False)


def _compile_frozen(frozen: str) -> Compiled:
    return compile_snapshot(read_snapshot(frozen))


async def _draft(uow: UnitOfWork, cache: CompiledCache, agent: AgentRow) -> Resolved:
    row = agent
    for _ in range(_DRAFT_READ_ATTEMPTS):
        key = draft_key(row.id, row.draft_revision)
        compiled = cache.get(key)
        if compiled is not None:
            return Resolved(compiled, "draft", row.draft_revision, cache_hit=True)
        trainings = await trainings_repository.for_agent(uow, row.id)
        frozen = await live_snapshot(uow, row, trainings)
        # The trainings and flow belong to this revision only if no write committed since the
        # agent row was read (every write, a flow save too, bumps the revision): otherwise read
        # again, so the cache never files one revision's trainings under another's key.
        latest = await agents_repository.scoped(uow, row.environment_id, row.id)
        if latest is None:
            raise AgentNotFound()
        if latest.draft_revision == row.draft_revision:
            compiled = await asyncio.to_thread(compile_snapshot, frozen)
            cache.put(key, compiled)
            return Resolved(compiled, "draft", row.draft_revision, cache_hit=False)
        row = latest
    compiled = await asyncio.to_thread(compile_snapshot, await live_snapshot(uow, row, trainings))
    return Resolved(compiled, "draft", row.draft_revision, cache_hit=False)


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    body: bytes
    resolved: Resolved


async def runtime_config(
    uow: UnitOfWork, cache: CompiledCache, agent: AgentRow, selector: str | int, fmt: Format
) -> RuntimeConfig:
    resolved = await resolve(uow, cache, agent, selector)
    return RuntimeConfig(resolved.compiled.render(fmt), resolved)


async def inbound_config(
    uow: UnitOfWork, cache: CompiledCache, caller: Caller, number: str, fmt: Format
) -> tuple[str, RuntimeConfig]:
    """What a telephony bridge loads for a call to `number`: the published runtime config of
    the agent that answers it, in one request."""
    agent = await calling.answering_agent(uow, caller, number)
    return agent.id, await runtime_config(uow, cache, agent, "published", fmt)


def _turns(messages: list[ChatMessage]) -> list[Turn]:
    return [Turn(m.role, m.content) for m in messages]


async def retrieve_trainings(
    uow: UnitOfWork, cache: CompiledCache, agent: AgentRow, body: RetrieveRequest
) -> tuple[RetrieveResponse, bool]:
    """The trainings to add to this turn, and whether the compiled config and index were reused."""
    resolved = await resolve(uow, cache, agent, body.version)
    index_reused = has_index(resolved.compiled)
    await prepare_index(resolved.compiled, cache.vectors)
    with RETRIEVAL_SECONDS.time():
        found = retrieve(
            resolved.compiled,
            _turns(body.messages),
            node_id=body.node_id,
            top_k=body.top_k,
            budget_tokens=body.budget_tokens,
        )
    return RetrieveResponse(
        documents=[
            RetrievedDocument(
                training_id=doc.block.training_id,
                subject=doc.block.subject,
                content=doc.block.instructions,
                score=doc.score,
            )
            for doc in found.documents
        ],
        version=resolved.version,
        config_hash=resolved.compiled.config_hash,
        mode=resolved.compiled.mode.value,
        budget_tokens=found.budget_tokens,
        used_tokens=found.used_tokens,
    ), resolved.cache_hit and index_reused


RETRIEVED_HEADER = "Trainings for this turn:"


def _prompt(
    compiled: Compiled, node_id: str | None, found: Retrieval | None
) -> tuple[list[SentMessage], TrainingIds, dict[str, int]]:
    """The system messages a runtime puts before the conversation at this point of a call."""
    messages: list[SentMessage] = []
    if compiled.system_prompt:
        messages.append(SentMessage(role="system", content=compiled.system_prompt))
    node_blocks = compiled.nodes.get(node_id or "", [])
    messages.extend(SentMessage(role="system", content=block.text) for block in node_blocks)
    node = compiled.graph.nodes.get(node_id or "") if compiled.flow_driven else None
    if node is not None:
        messages.append(SentMessage(role="system", content=node.task))
    retrieved = [doc.block for doc in found.documents] if found else []
    if retrieved:
        text = "\n\n".join([RETRIEVED_HEADER, *(block.text for block in retrieved)])
        messages.append(SentMessage(role="system", content=text))
    ids = TrainingIds(
        system=[b.training_id for b in compiled.system_blocks],
        node=[b.training_id for b in node_blocks],
        retrieved=[b.training_id for b in retrieved],
    )
    tokens = {
        "system": count_tokens(compiled.system_prompt),
        "node": sum(b.tokens for b in node_blocks),
        "retrieved": count_tokens(messages[-1].content) if retrieved else 0,
    }
    return messages, ids, tokens


def prompt_for(compiled: Compiled, node_id: str | None, found: Retrieval | None
               ) -> list[SentMessage]:  # fmt: skip
    """The system messages before the conversation: what agent tests send to the LLM too."""
    return _prompt(compiled, node_id, found)[0]


async def run_test_conversation(
    uow: UnitOfWork,
    cache: CompiledCache,
    settings: Settings,
    agent: AgentRow,
    body: ConversationRequest,
) -> ConversationResult:
    """Send the compiled prompt plus the conversation to the configured LLM; return its reply.

    Never invents a reply: without an LLM it fails with 503 and shows what it would have sent.
    """
    resolved = await resolve(uow, cache, agent, body.version)
    compiled = resolved.compiled
    turns = _turns(body.messages)
    found = None
    if compiled.mode is BudgetMode.RETRIEVE:
        await prepare_index(compiled, cache.vectors)
        with RETRIEVAL_SECONDS.time():
            found = retrieve(compiled, turns, node_id=body.node_id)
    system, ids, tokens = _prompt(compiled, body.node_id, found)
    conversation = [SentMessage(role=m.role, content=m.content) for m in body.messages]
    conversation_tokens = sum(count_tokens(m.content) for m in conversation)
    debug = ConversationDebug(
        version=resolved.version,
        config_hash=compiled.config_hash,
        node_id=body.node_id,
        mode=compiled.mode.value,
        messages=[*system, *conversation],
        training_ids=ids,
        tokens=PromptTokens(
            **tokens,
            conversation=conversation_tokens,
            total=sum(tokens.values()) + conversation_tokens,
        ),
        llm_model=settings.llm_model,
    )
    if not (settings.llm_base_url and settings.llm_model):
        raise LlmNotConfigured(extra={"debug": debug.model_dump(mode="json")})
    # Nothing more to read: give the pooled database connection back before waiting on the LLM.
    await uow.close()
    try:
        reply = await llm.chat_completion(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            model=settings.llm_model,
            messages=[m.model_dump() for m in debug.messages],
            temperature=compiled.settings.get("llm_temperature"),
            timeout_seconds=settings.llm_timeout_seconds,
        )
    except llm.LlmTimeout as exc:
        raise LlmTimedOut(exc.message, extra={"debug": debug.model_dump(mode="json")}) from None
    except llm.LlmError as exc:
        raise LlmUpstreamError(
            exc.message, extra={"debug": debug.model_dump(mode="json")}
        ) from None
    debug.llm_latency_ms = reply.latency_ms
    debug.llm_usage = reply.usage
    if reply.model:
        debug.llm_model = reply.model
    return ConversationResult(
        reply=Reply(content=reply.content), finish_reason=reply.finish_reason, debug=debug
    )
