"""The Agent object: create, list, get, update and delete, each answered with the agent and
what it embeds (its first trainings, its actions, its phone numbers)."""

from __future__ import annotations

from typing import Any

import msgspec
from pydantic_core import to_json

from cuecard.actions import repository as actions_repository
from cuecard.actions.repository import ActionRow
from cuecard.actions.schemas import Action
from cuecard.agent_api.schemas import (
    Agent,
    AgentCreate,
    AgentListQuery,
    AgentStatus,
    AgentUpdate,
    AgentVoice,
)
from cuecard.agents import repository as agents_repository
from cuecard.agents import settings as agent_settings
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import save_settings, still_there
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.calling import assign as calling
from cuecard.calling import repository as calling_repository
from cuecard.calling.repository import AgentNumberRow
from cuecard.calling.schemas import AgentPhoneNumber
from cuecard.core.db import UnitOfWork, new_id, utcnow
from cuecard.core.errors import Conflict, ValidationFailed
from cuecard.core.validation import validate_with
from cuecard.trainings import repository as trainings_repository
from cuecard.trainings.repository import TrainingRow
from cuecard.trainings.schemas import Training, TrainingStatus

# An agent embeds at most this many of its trainings (the oldest), so no agent GET or list
# grows with a big agent; `trainings_count` has the total. One full page of list trainings.
EMBEDDED_TRAININGS = 100


def missing_to_publish(agent: AgentRow, trainings: list[TrainingRow]) -> dict[str, list[str]]:
    """What stops a publish, by field; empty when publish would succeed. `is_ready_to_publish`
    and publish both ask this one function, so they always agree. A voice is not required: a
    runtime may bring its own."""
    has_prompt = bool((agent.description or "").strip())
    if has_prompt or any(t.current_status == TrainingStatus.ACTIVE for t in trainings):
        return {}
    return {"agent": ["The agent needs a description or an active training to publish."]}


def is_ready(agent: AgentRow, trainings: list[TrainingRow]) -> bool:
    return not missing_to_publish(agent, trainings)


def voice_of(row: AgentRow) -> AgentVoice | None:
    template_id = row.voice_template_id
    if not template_id:
        return None
    name = row.voice_name or ""
    return AgentVoice.model_validate(
        {
            "id": template_id,
            "name": name,
            "label": f"{name} Voice",
            "stability": row.voice_stability,
            "similarity_boost": row.voice_similarity,
            "ambient_background": row.ambient_background,
            "template": {"id": template_id, "name": name},
            "ambient_volume": row.ambient_volume,
            "quality_tier": row.voice_quality_tier,
            "provider": row.voice_provider,
            "provider_voice_id": row.voice_provider_voice_id,
        }
    )


def _agent_values(
    row: AgentRow, trainings: list[TrainingRow], actions: list[ActionRow] | None,
    phone_numbers: list[AgentNumberRow] | None, count: int | None, ready: bool | None,
) -> dict[str, Any]:  # fmt: skip
    """What the Agent object is made of, for `to_agent` and `agent_json` alike: the row's values,
    the trainings' rows and the nested objects' models; `trainings` may be the first ones only,
    with `count` and `ready` then computed over all of them."""
    return {
        **msgspec.structs.asdict(row),
        "is_ready_to_publish": is_ready(row, trainings) if ready is None else ready,
        "trainings": trainings,
        "trainings_count": len(trainings) if count is None else count,
        "voice": voice_of(row),
        "actions": [Action.from_row(a) for a in actions or []],
        "phone_numbers": [AgentPhoneNumber.from_row(p) for p in phone_numbers or []],
        "advanced_settings": {
            "enable_initial_message_cache": bool(row.enable_initial_message_cache)
        },
    }


def to_agent(
    row: AgentRow, trainings: list[TrainingRow], actions: list[ActionRow] | None = None,
    phone_numbers: list[AgentNumberRow] | None = None, *, count: int | None = None,
    ready: bool | None = None,
) -> Agent:  # fmt: skip
    """The Agent object (see `_agent_values`)."""
    values = _agent_values(row, trainings, actions, phone_numbers, count, ready)
    values["trainings"] = Training.from_rows(trainings)
    return Agent.model_validate(values)


_AGENT_FIELDS = tuple(Agent.model_fields)
_WRITTEN_BY_MODELS = ("voice", "actions", "phone_numbers")
_encode = msgspec.json.Encoder().encode


def agent_json(
    row: AgentRow, trainings: list[TrainingRow], actions: list[ActionRow] | None = None,
    phone_numbers: list[AgentNumberRow] | None = None, *, count: int | None = None,
    ready: bool | None = None,
) -> bytes:  # fmt: skip
    """The JSON of `to_agent(...)`, the very bytes pydantic writes for it, without building the
    model: the row's own values and its trainings' rows encoded by msgspec (as
    `trainings.schemas.encode_trainings`), the nested objects that need work (voice, actions,
    phone numbers) still written by their models: a get agent took 258 us of CPU in process, now
    195 (bench/README.md, item 17). `tests/agent_api/test_agent_json.py` holds the two to the
    same bytes, which GET's ETag and a write's If-Match both rely on."""
    values = _agent_values(row, trainings, actions, phone_numbers, count, ready)
    for name in _WRITTEN_BY_MODELS:
        values[name] = msgspec.Raw(to_json(values[name], by_alias=True))
    return _encode({name: values[name] for name in _AGENT_FIELDS})


async def _embedding(
    uow: UnitOfWork, row: AgentRow, first: list[TrainingRow]
) -> tuple[list[TrainingRow], dict[str, Any]]:
    """`first` holds the first EMBEDDED_TRAININGS + 1 trainings: one more than is embedded says
    whether the agent has more, and only then are they counted. Returns the trainings to embed
    and the `count` and `ready` that `to_agent` and `agent_json` then need."""
    if len(first) <= EMBEDDED_TRAININGS:
        return first, {}
    count = await trainings_repository.count(uow, row.id)
    has_prompt = bool((row.description or "").strip())
    ready = has_prompt or await trainings_repository.has_active(uow, row.id)
    return first[:EMBEDDED_TRAININGS], {"count": count, "ready": ready}


async def _embedded(
    uow: UnitOfWork, row: AgentRow
) -> tuple[list[TrainingRow], list[ActionRow], list[AgentNumberRow], dict[str, Any]]:
    """What an agent embeds: its first EMBEDDED_TRAININGS trainings, its actions and its phone
    numbers (and the training count and readiness when it has more)."""
    first = await trainings_repository.for_agent(uow, row.id, limit=EMBEDDED_TRAININGS + 1)
    trainings, totals = await _embedding(uow, row, first)
    actions = await actions_repository.for_agent(uow, row.id)
    phone_numbers = await calling_repository.for_agent(uow, row.id)
    return trainings, actions, phone_numbers, totals


async def load_agent(uow: UnitOfWork, row: AgentRow) -> Agent:
    """The Agent object of a row, with what it embeds."""
    trainings, actions, phone_numbers, totals = await _embedded(uow, row)
    return to_agent(row, trainings, actions, phone_numbers, **totals)


async def create_agent_from(uow: UnitOfWork, caller: Caller, body: dict[str, Any]) -> Agent:
    """Create Agent from a request body: the field errors and the phone numbers' problems are
    reported together."""
    errors: dict[str, list[str]] = {}
    data = validate_with(AgentCreate, body, errors)
    ids = body.get("phone_number_ids")
    if "phone_number_ids" not in errors and isinstance(ids, list) and ids:
        # With an invalid direction only the numbers' existence can be judged.
        direction = data.direction if data else body.get("direction")
        direction = direction if direction in ("inbound", "outbound") else None
        _, problems = await calling.check(
            uow, caller.environment_id, None, [str(i) for i in ids], direction
        )
        if problems:
            errors["phone_number_ids"] = problems
    if errors or data is None:
        raise ValidationFailed(errors)
    return await create_agent(uow, caller, data)


async def create_agent(uow: UnitOfWork, caller: Caller, data: AgentCreate) -> Agent:
    now = utcnow()
    values: dict[str, Any] = data.model_dump(exclude={"phone_number_ids"})
    for setting in agent_settings.API_SETTINGS:
        if setting.default is agent_settings.AGENT_NAME and not values.get(setting.name):
            values[setting.name] = data.name
    numbers, problems = await calling.check(
        uow, caller.environment_id, None, data.phone_number_ids, data.direction
    )
    if problems:
        raise ValidationFailed({"phone_number_ids": problems})
    row = await agents_repository.insert(
        uow,
        {
            **values,
            "id": new_id(),
            "environment_id": caller.environment_id,
            "current_status": AgentStatus.DRAFT,
            "is_sandbox": False,
            "draft_revision": 0,
            "published_version": None,
            "created_at": now,
            "updated_at": now,
        },
    )
    if numbers:
        await calling.assign(uow, row.id, numbers, data.direction)
    await audit.record(
        uow,
        caller,
        "agent.created",
        agent_id=row.id,
        target_type="agent",
        target_id=row.id,
        changes=data.model_dump(mode="json"),
    )
    return to_agent(row, [], [], await calling.numbers_of(uow, row.id))


async def list_agents(
    uow: UnitOfWork, caller: Caller, query: AgentListQuery
) -> tuple[list[Agent], int]:
    rows, total = await agents_repository.page(
        uow,
        caller.environment_id,
        status=query.status,
        direction=query.direction,
        search=query.search,
        limit=query.per_page,
        offset=(query.page - 1) * query.per_page,
    )
    ids = [row.id for row in rows]
    trainings = await trainings_repository.for_agents(uow, ids, per_agent=EMBEDDED_TRAININGS + 1)
    actions = await actions_repository.for_agents(uow, ids)
    phone_numbers = await calling_repository.for_agents(uow, ids)
    agents = []
    for row in rows:
        embedded, totals = await _embedding(uow, row, trainings[row.id])
        agents.append(to_agent(row, embedded, actions[row.id], phone_numbers[row.id], **totals))
    return agents, total


async def get_agent(uow: UnitOfWork, agent: AgentRow) -> Agent:
    return await load_agent(uow, agent)


async def get_agent_json(uow: UnitOfWork, agent: AgentRow) -> bytes:
    """GET's representation: `get_agent`'s JSON, encoded from the rows (see `agent_json`)."""
    trainings, actions, phone_numbers, totals = await _embedded(uow, agent)
    return agent_json(agent, trainings, actions, phone_numbers, **totals)


async def current_agent(uow: UnitOfWork, caller: Caller, agent_id: str) -> Agent | None:
    """The agent as GET shows it now, read afresh (None once it is gone): what If-Match checks."""
    row = await agents_repository.scoped(uow, caller.environment_id, agent_id)
    return None if row is None else await get_agent(uow, row)


async def update_agent(
    uow: UnitOfWork, caller: Caller, agent: AgentRow, data: AgentUpdate
) -> Agent:
    """Change settings; the agent goes back to draft (`save_settings`). A PATCH that sends no
    field changes nothing, so it leaves a published agent published."""
    changes = data.model_dump(exclude_unset=True)
    row = still_there(await save_settings(uow, agent.id, changes)) if changes else agent
    if "direction" in changes and changes["direction"] != agent.direction:
        await _redirect_numbers(uow, row)
    await audit.record(
        uow,
        caller,
        "agent.updated",
        agent_id=row.id,
        target_type="agent",
        target_id=row.id,
        changes=audit.changed(agent, changes),
    )
    return await load_agent(uow, row)


async def _redirect_numbers(uow: UnitOfWork, agent: AgentRow) -> None:
    """The agent changed direction: its numbers must carry the new one (and an inbound agent
    claims them), or the change is refused like PUT .../calling would refuse it."""
    current = [n.id for n in await calling.numbers_of(uow, agent.id)]
    numbers, problems = await calling.check(
        uow, agent.environment_id, agent.id, current, agent.direction
    )
    if problems:
        raise ValidationFailed({"direction": problems})
    await calling.assign(uow, agent.id, numbers, agent.direction)


async def delete_agent(uow: UnitOfWork, caller: Caller, agent: AgentRow) -> None:
    if agent.current_status == AgentStatus.PUBLISHED:
        raise Conflict(
            "Published agents must be unpublished before deletion.", code="AGENT_IS_PUBLISHED"
        )
    await agents_repository.delete(uow, agent.id)
    await audit.record(
        uow,
        caller,
        "agent.deleted",
        agent_id=agent.id,
        target_type="agent",
        target_id=agent.id,
        changes={"name": agent.name},
    )
