"""Agent rules: tenancy, defaults, draft reset on change, publish snapshots, deletion."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from cuecard.actions import repository as actions_repository
from cuecard.actions.schemas import Action
from cuecard.agents import repository
from cuecard.agents import settings as agent_settings
from cuecard.agents.schemas import (
    Agent,
    AgentCreate,
    AgentListQuery,
    AgentPhoneNumber,
    AgentStatus,
    AgentUpdate,
    AgentVoice,
    PublishState,
)
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.calling import assign as calling
from cuecard.calling import repository as calling_repository
from cuecard.core.db import Row, UnitOfWork, new_id, utcnow
from cuecard.core.errors import Conflict, NotFound, ValidationFailed
from cuecard.core.validation import validate_with
from cuecard.flows import repository as flows_repository
from cuecard.lint.check import publish_gates
from cuecard.runtime.compile import compile_snapshot
from cuecard.trainings import repository as trainings_repository
from cuecard.trainings.schemas import Training, TrainingStatus
from cuecard.versions import repository as versions_repository
from cuecard.versions.snapshot import SCHEMA_VERSION
from cuecard.versions.snapshot import read as read_snapshot
from cuecard.webhooks.outbox import emit

# An agent embeds at most this many of its trainings (the oldest), so no agent GET or list
# grows with a big agent; `trainings_count` has the total. One full page of list trainings.
EMBEDDED_TRAININGS = 100


class AgentNotFound(NotFound):
    code = "AGENT_NOT_FOUND"
    message = "Agent not found"


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


async def scoped_agent(uow: UnitOfWork, caller: Caller, agent_id: str) -> Row:
    """The agent if it is the caller's; otherwise 404, whether it exists elsewhere or not."""
    row = None
    if _is_uuid(agent_id):
        row = await repository.scoped(uow, caller.environment_id, agent_id.lower())
    if row is None:
        raise AgentNotFound()
    return row


def still_there(row: Row | None) -> Row:
    """A write to an agent row found nothing: it was deleted after the request looked it up."""
    if row is None:
        raise AgentNotFound()
    return row


def missing_to_publish(agent: Row, trainings: list[Row]) -> dict[str, list[str]]:
    """What stops a publish, by field; empty when publish would succeed. `is_ready_to_publish`
    and publish both ask this one function, so they always agree. A voice is not required: a
    runtime may bring its own."""
    has_prompt = bool((agent["description"] or "").strip())
    if has_prompt or any(t["current_status"] == TrainingStatus.ACTIVE for t in trainings):
        return {}
    return {"agent": ["The agent needs a description or an active training to publish."]}


def _is_ready(agent: Row, trainings: list[Row]) -> bool:
    return not missing_to_publish(agent, trainings)


def voice_of(row: Row) -> AgentVoice | None:
    template_id = row.get("voice_template_id")
    if not template_id:
        return None
    name = row.get("voice_name") or ""
    return AgentVoice.model_validate(
        {
            "id": template_id,
            "name": name,
            "label": f"{name} Voice",
            "stability": row.get("voice_stability"),
            "similarity_boost": row.get("voice_similarity"),
            "ambient_background": row.get("ambient_background"),
            "template": {"id": template_id, "name": name},
            "ambient_volume": row.get("ambient_volume"),
            "quality_tier": row.get("voice_quality_tier"),
            "provider": row.get("voice_provider"),
            "provider_voice_id": row.get("voice_provider_voice_id"),
        }
    )


def to_agent(
    row: Row, trainings: list[Row], actions: list[Row] | None = None,
    phone_numbers: list[Row] | None = None, *, count: int | None = None, ready: bool | None = None,
) -> Agent:  # fmt: skip
    """The Agent object; `trainings` may be the first ones only, with `count` and `ready` then
    computed over all of them."""
    return Agent.model_validate(
        {
            **row,
            "is_ready_to_publish": _is_ready(row, trainings) if ready is None else ready,
            "trainings": [Training.model_validate(t) for t in trainings],
            "trainings_count": len(trainings) if count is None else count,
            "voice": voice_of(row),
            "actions": [Action.from_row(a) for a in actions or []],
            "phone_numbers": [AgentPhoneNumber.from_row(p) for p in phone_numbers or []],
            "advanced_settings": {
                "enable_initial_message_cache": bool(row.get("enable_initial_message_cache"))
            },
        }
    )


async def _embedding(
    uow: UnitOfWork, row: Row, first: list[Row], actions: list[Row], phone_numbers: list[Row]
) -> Agent:
    """The agent with `first`, its first EMBEDDED_TRAININGS + 1 trainings: one more than is
    embedded says whether the agent has more, and only then are they counted."""
    if len(first) <= EMBEDDED_TRAININGS:
        return to_agent(row, first, actions, phone_numbers)
    count = await trainings_repository.count(uow, row["id"])
    has_prompt = bool((row["description"] or "").strip())
    ready = has_prompt or await trainings_repository.has_active(uow, row["id"])
    return to_agent(
        row, first[:EMBEDDED_TRAININGS], actions, phone_numbers, count=count, ready=ready
    )


async def load_agent(uow: UnitOfWork, row: Row) -> Agent:
    """The Agent object of a row: its first EMBEDDED_TRAININGS trainings, its actions and its
    phone numbers."""
    return await _embedding(
        uow,
        row,
        await trainings_repository.for_agent(uow, row["id"], limit=EMBEDDED_TRAININGS + 1),
        await actions_repository.for_agent(uow, row["id"]),
        await calling_repository.for_agent(uow, row["id"]),
    )


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
    row = await repository.insert(
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
        await calling.assign(uow, row["id"], numbers, data.direction)
    await audit.record(
        uow,
        caller,
        "agent.created",
        agent_id=row["id"],
        target_type="agent",
        target_id=row["id"],
        changes=data.model_dump(mode="json"),
    )
    return to_agent(row, [], [], await calling.numbers_of(uow, row["id"]))


async def list_agents(
    uow: UnitOfWork, caller: Caller, query: AgentListQuery
) -> tuple[list[Agent], int]:
    rows, total = await repository.page(
        uow,
        caller.environment_id,
        status=query.status,
        direction=query.direction,
        search=query.search,
        limit=query.per_page,
        offset=(query.page - 1) * query.per_page,
    )
    ids = [row["id"] for row in rows]
    trainings = await trainings_repository.for_agents(uow, ids, per_agent=EMBEDDED_TRAININGS + 1)
    actions = await actions_repository.for_agents(uow, ids)
    phone_numbers = await calling_repository.for_agents(uow, ids)
    return [
        await _embedding(
            uow, row, trainings[row["id"]], actions[row["id"]], phone_numbers[row["id"]]
        )
        for row in rows
    ], total


async def get_agent(uow: UnitOfWork, agent: Row) -> Agent:
    return await load_agent(uow, agent)


async def current_agent(uow: UnitOfWork, caller: Caller, agent_id: str) -> Agent | None:
    """The agent as GET shows it now, read afresh (None once it is gone): what If-Match checks."""
    row = await repository.scoped(uow, caller.environment_id, agent_id)
    return None if row is None else await get_agent(uow, row)


async def update_agent(uow: UnitOfWork, caller: Caller, agent: Row, data: AgentUpdate) -> Agent:
    """Change settings; the agent goes back to draft (`save_settings`). A PATCH that sends no
    field changes nothing, so it leaves a published agent published."""
    changes = data.model_dump(exclude_unset=True)
    row = still_there(await save_settings(uow, agent["id"], changes)) if changes else agent
    if "direction" in changes and changes["direction"] != agent["direction"]:
        await _redirect_numbers(uow, row)
    await audit.record(
        uow,
        caller,
        "agent.updated",
        agent_id=row["id"],
        target_type="agent",
        target_id=row["id"],
        changes=audit.changed(agent, changes),
    )
    return await load_agent(uow, row)


async def _redirect_numbers(uow: UnitOfWork, agent: Row) -> None:
    """The agent changed direction: its numbers must carry the new one (and an inbound agent
    claims them), or the change is refused like PUT .../calling would refuse it."""
    current = [n["id"] for n in await calling.numbers_of(uow, agent["id"])]
    numbers, problems = await calling.check(
        uow, agent["environment_id"], agent["id"], current, agent["direction"]
    )
    if problems:
        raise ValidationFailed({"direction": problems})
    await calling.assign(uow, agent["id"], numbers, agent["direction"])


async def save_settings(uow: UnitOfWork, agent_id: str, changes: dict[str, Any]) -> Row | None:
    """Write settings; back to draft when one of them needs a new publish (`resets_draft` in
    the settings table: every setting today, since a version freezes them all)."""
    if any(agent_settings.BY_NAME[name].resets_draft for name in changes):
        return await repository.update_settings_and_reset_draft(uow, agent_id, changes, utcnow())
    return await repository.update_settings_keep_status(uow, agent_id, changes, utcnow())


async def mark_draft(uow: UnitOfWork, agent_id: str) -> Row:
    """Record a change under the agent: back to draft, new draft revision.

    Call it before writing anything under the agent: it takes the agent row first (the lock
    order every write follows, publish included) and 404s if the agent was deleted meanwhile.
    """
    return still_there(
        await repository.update_settings_and_reset_draft(uow, agent_id, {}, utcnow())
    )


async def delete_agent(uow: UnitOfWork, caller: Caller, agent: Row) -> None:
    if agent["current_status"] == AgentStatus.PUBLISHED:
        raise Conflict(
            "Published agents must be unpublished before deletion.", code="AGENT_IS_PUBLISHED"
        )
    await repository.delete(uow, agent["id"])
    await audit.record(
        uow,
        caller,
        "agent.deleted",
        agent_id=agent["id"],
        target_type="agent",
        target_id=agent["id"],
        changes={"name": agent["name"]},
    )


def snapshot(
    agent: Row, trainings: list[Row], flow: Row | None, actions: list[Row] | None = None,
    phone_numbers: list[Row] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What a version freezes: the settings, every training and action with its status, the
    numbers the agent answers, and the flow (the current `agent_flows` row), in the shape of
    `versions.snapshot.SCHEMA_VERSION` (older ones are read by `versions.snapshot.read`). Never
    a secret: actions carry header names, not values."""
    settings = {name: agent[name] for name in ("id", *repository.SETTINGS)}
    for name, kind in agent_settings.COERCE.items():
        if settings.get(name) is not None:
            settings[name] = kind(settings[name])
    return {
        "schema_version": SCHEMA_VERSION,
        "agent": settings,
        "trainings": [Training.model_validate(t).model_dump(mode="json") for t in trainings],
        "flow": flows_repository.snapshot_of(flow),
        "actions": [Action.from_row(a).model_dump(mode="json") for a in actions or []],
        "phone_numbers": [
            {"id": p["id"], "number": p["number"], "direction": p["direction"]}
            for p in phone_numbers or []
        ],
    }


async def live_snapshot(uow: UnitOfWork, agent: Row, trainings: list[Row]) -> dict[str, Any]:
    """The snapshot of the agent as it is now (the draft)."""
    return snapshot(
        agent,
        trainings,
        await flows_repository.current(uow, agent["id"]),
        await actions_repository.for_agent(uow, agent["id"]),
        await calling_repository.for_agent(uow, agent["id"]),
    )


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def publish_agent(uow: UnitOfWork, caller: Caller, agent: Row) -> PublishState:
    """Freeze the draft as the next version. Publishing an unchanged published agent is a no-op.

    A flow save leaves a published agent published (Talkover), so a published agent whose flow
    changed since its version publishes again."""
    if agent["current_status"] == AgentStatus.PUBLISHED and not await _flow_changed(uow, agent):
        trainings = await trainings_repository.for_agent(uow, agent["id"])
        return _publish_state(agent, trainings)
    now = utcnow()
    # Take the agent row first: a training write racing with us waits, and the trainings read
    # below are the ones the version really has.
    row = still_there(await repository.set_published(uow, agent["id"], now))
    trainings = await trainings_repository.for_agent(uow, row["id"])
    missing = missing_to_publish(row, trainings)
    if missing:
        raise ValidationFailed(missing, message="The agent is not ready to publish.")
    frozen_snapshot = await live_snapshot(uow, row, trainings)
    # Off the event loop: compiling a big agent takes most of a second of CPU.
    compiled = await asyncio.to_thread(compile_snapshot, frozen_snapshot)
    await publish_gates(uow, row, compiled)
    frozen = canonical_json(frozen_snapshot)
    await versions_repository.insert(
        uow,
        {
            "id": new_id(),
            "agent_id": row["id"],
            "version": row["published_version"],
            "snapshot": frozen,
            # The hash of the compiled config, so a version, its runtime-config ETag and a diff
            # name the same thing.
            "config_hash": (config_hash := compiled.config_hash),
            "published_at": now,
            "published_by_token_id": caller.token_id,
        },
    )
    published = {"version": row["published_version"], "config_hash": config_hash}
    await audit.record(
        uow,
        caller,
        "agent.published",
        agent_id=row["id"],
        target_type="agent",
        target_id=row["id"],
        changes=published,
    )
    await emit(
        uow,
        row["id"],
        "event_agent_published",
        {"agent": {"id": row["id"], "name": row["name"]}, **published},
    )
    return _publish_state(row, trainings)


async def _flow_changed(uow: UnitOfWork, agent: Row) -> bool:
    current = await flows_repository.current(uow, agent["id"])
    frozen = await versions_repository.snapshot(uow, agent["id"], agent["published_version"])
    published = read_snapshot(frozen)["flow"]["id"] if frozen else None
    return (current["id"] if current else None) != published


async def unpublish_agent(uow: UnitOfWork, caller: Caller, agent: Row) -> PublishState:
    row = agent
    if row["current_status"] == AgentStatus.PUBLISHED:
        row = still_there(await repository.set_unpublished(uow, row["id"], utcnow()))
        await audit.record(
            uow,
            caller,
            "agent.unpublished",
            agent_id=row["id"],
            target_type="agent",
            target_id=row["id"],
        )
        await emit(
            uow,
            row["id"],
            "event_agent_unpublished",
            {"agent": {"id": row["id"], "name": row["name"]}},
        )
    return _publish_state(row, await trainings_repository.for_agent(uow, row["id"]))


def _publish_state(row: Row, trainings: list[Row]) -> PublishState:
    return PublishState(
        id=row["id"],
        name=row["name"],
        current_status=row["current_status"],
        is_ready_to_publish=_is_ready(row, trainings),
        updated_at=row["updated_at"],
        version=row["published_version"],
    )
