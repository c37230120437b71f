"""SQL for agents. Every read of an agent goes through `scoped`: tenancy lives here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from cuecard.agents import settings
from cuecard.core.db import Row, UnitOfWork, typed

# Every column a version freezes, from the one declaration of agent settings.
SETTINGS = settings.NAMES
COLUMNS = ", ".join(
    ("id", "environment_id", *SETTINGS, "current_status", "is_sandbox", "draft_revision",
     "published_version", "created_at", "updated_at")
)  # fmt: skip


class AgentRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `agents` as every read and write here returns it: `COLUMNS`, in its order.

    The settings' fields repeat `settings.SETTINGS` (mypy needs them spelt out to check
    `row.name`); `tests/agents/test_rows.py` fails when the two, or the table model, drift. A
    setting whose type is a StrEnum is a `str` here: the row holds what the column holds.
    Frozen and `gc=False` like `trainings.repository.TrainingRow` (scalars only)."""

    id: str
    environment_id: str
    name: str
    label: str
    description: str | None
    language: str
    initial_message: str | None
    interrupt_sensitivity: str
    endpointing_sensitivity: str
    ivr_navigation_mode: str
    conversation_speed: float
    initial_message_delay: int
    ask_if_human_present_on_idle: bool
    idle_time_seconds: int
    max_idle_check_count: int
    max_call_duration_seconds: int
    say_goodbye_on_max_duration: bool
    user_inactivity_timeout_seconds: int
    initial_idle_time_seconds: int
    initial_max_idle_check_count: int
    llm_temperature: float
    enable_recording: bool
    direction: str
    who_speaks_first: str
    training_budget_tokens: int
    publish_requires_clean_lint: bool
    publish_requires_passing_tests: bool
    voice_template_id: str | None
    voice_name: str | None
    voice_provider: str | None
    voice_provider_voice_id: str | None
    voice_quality_tier: str | None
    voice_stability: float | None
    voice_similarity: float | None
    ambient_background: str | None
    ambient_volume: float | None
    enable_initial_message_cache: bool
    current_status: str
    is_sandbox: bool
    draft_revision: int
    published_version: int | None
    created_at: str
    updated_at: str


def _typed_or_none(rows: list[Row]) -> AgentRow | None:
    return typed(AgentRow, rows)[0] if rows else None


async def scoped(uow: UnitOfWork, environment_id: str, agent_id: str) -> AgentRow | None:
    row = await uow.one(
        f"SELECT {COLUMNS} FROM agents WHERE id = :id AND environment_id = :env",
        {"id": agent_id, "env": environment_id},
    )
    return _typed_or_none([row] if row is not None else [])


async def insert(uow: UnitOfWork, values: dict[str, Any]) -> AgentRow:
    names = list(values)
    rows = await uow.write(
        f"INSERT INTO agents ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)}) "
        f"RETURNING {COLUMNS}",
        values,
    )
    return typed(AgentRow, rows)[0]


def _filters(environment_id: str, status: str | None, direction: str | None, search: str | None
             ) -> tuple[str, dict[str, Any]]:  # fmt: skip
    where = ["environment_id = :env"]
    params: dict[str, Any] = {"env": environment_id}
    if status is not None:
        where.append("current_status = :status")
        params["status"] = status
    if direction is not None:
        where.append("direction = :direction")
        params["direction"] = direction
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(
            "(LOWER(name) LIKE :search ESCAPE '\\' OR LOWER(label) LIKE :search ESCAPE '\\')"
        )
        params["search"] = f"%{escaped}%"
    return " AND ".join(where), params


async def page(
    uow: UnitOfWork,
    environment_id: str,
    *,
    status: str | None,
    direction: str | None,
    search: str | None,
    limit: int,
    offset: int,
) -> tuple[list[AgentRow], int]:
    where, params = _filters(environment_id, status, direction, search)
    total_row = await uow.one(f"SELECT COUNT(*) AS total FROM agents WHERE {where}", params)
    rows = await uow.all(
        f"SELECT {COLUMNS} FROM agents WHERE {where} "
        "ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return typed(AgentRow, rows), int(total_row["total"]) if total_row else 0


def _assignments(changes: dict[str, Any]) -> str:
    unknown = set(changes) - set(SETTINGS)
    if unknown:  # names come from code, never from a request; this keeps it so
        raise ValueError(f"not agent settings: {sorted(unknown)}")
    return "".join(f"{name} = :{name}, " for name in changes)


async def update_settings_and_reset_draft(
    uow: UnitOfWork, agent_id: str, changes: dict[str, Any], now: datetime
) -> AgentRow | None:
    """Apply `changes` (settings only), set the agent back to draft and bump its draft revision:
    the change needs a new publish. `changes` may be empty (a write under the agent: a
    training, an action, a number).

    Like every write to an agent row, it returns None when the agent is gone (deleted since the
    request looked it up)."""
    rows = await uow.write(
        f"UPDATE agents SET {_assignments(changes)}current_status = 'draft', "
        "draft_revision = draft_revision + 1, updated_at = :now "
        f"WHERE id = :agent_id RETURNING {COLUMNS}",
        {**changes, "now": now, "agent_id": agent_id},
    )
    return _typed_or_none(rows)


async def update_settings_keep_status(
    uow: UnitOfWork, agent_id: str, changes: dict[str, Any], now: datetime
) -> AgentRow | None:
    """Apply `changes` (settings only; none for a flow save) and bump the draft revision, so
    the compiled draft sees them, without touching the status: no new publish is needed."""
    rows = await uow.write(
        f"UPDATE agents SET {_assignments(changes)}draft_revision = draft_revision + 1, "
        f"updated_at = :now WHERE id = :agent_id RETURNING {COLUMNS}",
        {**changes, "now": now, "agent_id": agent_id},
    )
    return _typed_or_none(rows)


async def bump_revision_keep_status(
    uow: UnitOfWork, agent_id: str, now: datetime
) -> AgentRow | None:
    """A change the compiled draft must see that does not need a new publish (a flow save):
    a new draft revision, the status as it was."""
    return await update_settings_keep_status(uow, agent_id, {}, now)


async def set_published(uow: UnitOfWork, agent_id: str, now: datetime) -> AgentRow | None:
    rows = await uow.write(
        "UPDATE agents SET current_status = 'published', "
        "published_version = COALESCE(published_version, 0) + 1, updated_at = :now "
        f"WHERE id = :agent_id RETURNING {COLUMNS}",
        {"now": now, "agent_id": agent_id},
    )
    return _typed_or_none(rows)


async def set_unpublished(uow: UnitOfWork, agent_id: str, now: datetime) -> AgentRow | None:
    rows = await uow.write(
        "UPDATE agents SET current_status = 'draft', updated_at = :now "
        f"WHERE id = :agent_id RETURNING {COLUMNS}",
        {"now": now, "agent_id": agent_id},
    )
    return _typed_or_none(rows)


async def delete(uow: UnitOfWork, agent_id: str) -> None:
    await uow.write("DELETE FROM agents WHERE id = :id", {"id": agent_id})
