"""Agent rules: tenancy, defaults, draft reset on change, publish snapshots, deletion."""

from __future__ import annotations

import json
import uuid
from typing import Any

from cuecard.agents import repository
from cuecard.agents.schemas import (
    Agent,
    AgentCreate,
    AgentListQuery,
    AgentSettings,
    AgentStatus,
    AgentUpdate,
    PublishState,
)
from cuecard.auth.service import Caller
from cuecard.core.db import Row, UnitOfWork, new_id, utcnow
from cuecard.core.errors import Conflict, NotFound, ValidationFailed
from cuecard.runtime.compile import compile_snapshot
from cuecard.trainings import repository as trainings_repository
from cuecard.trainings.schemas import Training, TrainingStatus


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


def _still_there(row: Row | None) -> Row:
    """A write to an agent row found nothing: it was deleted after the request looked it up."""
    if row is None:
        raise AgentNotFound()
    return row


def _is_ready(agent: Row, trainings: list[Row]) -> bool:
    has_prompt = bool((agent["description"] or "").strip())
    return has_prompt or any(t["current_status"] == TrainingStatus.ACTIVE for t in trainings)


def to_agent(row: Row, trainings: list[Row]) -> Agent:
    return Agent.model_validate(
        {
            **row,
            "is_ready_to_publish": _is_ready(row, trainings),
            "trainings": [Training.model_validate(t) for t in trainings],
        }
    )


async def create_agent(uow: UnitOfWork, caller: Caller, data: AgentCreate) -> Agent:
    now = utcnow()
    values: dict[str, Any] = data.model_dump(exclude={"phone_number_ids"})
    values["label"] = data.label or data.name
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
    return to_agent(row, [])


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
    trainings = await trainings_repository.for_agents(uow, [row["id"] for row in rows])
    return [to_agent(row, trainings[row["id"]]) for row in rows], total


async def get_agent(uow: UnitOfWork, agent: Row) -> Agent:
    return to_agent(agent, await trainings_repository.for_agent(uow, agent["id"]))


async def current_agent(uow: UnitOfWork, caller: Caller, agent_id: str) -> Agent | None:
    """The agent as GET shows it now, read afresh (None once it is gone): what If-Match checks."""
    row = await repository.scoped(uow, caller.environment_id, agent_id)
    return None if row is None else await get_agent(uow, row)


async def update_agent(uow: UnitOfWork, agent: Row, data: AgentUpdate) -> Agent:
    """Change settings. Like every change to an agent, it goes back to draft."""
    changes = data.model_dump(exclude_unset=True)
    row = _still_there(await repository.update(uow, agent["id"], changes, utcnow()))
    return to_agent(row, await trainings_repository.for_agent(uow, row["id"]))


async def mark_draft(uow: UnitOfWork, agent_id: str) -> Row:
    """Record a change under the agent: back to draft, new draft revision.

    Call it before writing anything under the agent: it takes the agent row first (the lock
    order every write follows, publish included) and 404s if the agent was deleted meanwhile.
    """
    return _still_there(await repository.update(uow, agent_id, {}, utcnow()))


async def delete_agent(uow: UnitOfWork, agent: Row) -> None:
    if agent["current_status"] == AgentStatus.PUBLISHED:
        raise Conflict(
            "Published agents must be unpublished before deletion.", code="AGENT_IS_PUBLISHED"
        )
    await repository.delete(uow, agent["id"])


# SQLite hands booleans back as 0/1 and whole REALs as integers (from RETURNING); a snapshot must
# read, and hash, the same on both databases.
_COERCE = {
    name: field.annotation
    for name, field in AgentSettings.model_fields.items()
    if field.annotation in (bool, float)
}


def snapshot(agent: Row, trainings: list[Row]) -> dict[str, Any]:
    """What a version freezes: the settings and every training with its status."""
    settings = {name: agent[name] for name in ("id", *repository.SETTINGS)}
    for name, kind in _COERCE.items():
        if settings.get(name) is not None:
            settings[name] = kind(settings[name])
    return {
        "agent": settings,
        "trainings": [Training.model_validate(t).model_dump(mode="json") for t in trainings],
    }


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def publish_agent(uow: UnitOfWork, caller: Caller, agent: Row) -> PublishState:
    """Freeze the draft as the next version. Publishing an unchanged published agent is a no-op."""
    if agent["current_status"] == AgentStatus.PUBLISHED:
        trainings = await trainings_repository.for_agent(uow, agent["id"])
        return _publish_state(agent, trainings)
    now = utcnow()
    # Take the agent row first: a training write racing with us waits, and the trainings read
    # below are the ones the version really has.
    row = _still_there(await repository.set_published(uow, agent["id"], now))
    trainings = await trainings_repository.for_agent(uow, row["id"])
    if not _is_ready(row, trainings):
        raise ValidationFailed(
            {"agent": ["The agent needs a description or an active training to publish."]},
            message="The agent is not ready to publish.",
        )
    frozen_snapshot = snapshot(row, trainings)
    frozen = canonical_json(frozen_snapshot)
    await repository.insert_version(
        uow,
        {
            "id": new_id(),
            "agent_id": row["id"],
            "version": row["published_version"],
            "snapshot": frozen,
            # The hash of the compiled config, so a version, its runtime-config ETag and a diff
            # name the same thing.
            "config_hash": compile_snapshot(frozen_snapshot).config_hash,
            "published_at": now,
            "published_by_token_id": caller.token_id,
        },
    )
    return _publish_state(row, trainings)


async def unpublish_agent(uow: UnitOfWork, agent: Row) -> PublishState:
    row = agent
    if row["current_status"] == AgentStatus.PUBLISHED:
        row = _still_there(await repository.set_unpublished(uow, row["id"], utcnow()))
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
