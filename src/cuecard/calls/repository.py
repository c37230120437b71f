"""SQL for calls and what runtimes report about them. Every read is scoped by environment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from cuecard.core.db import UnitOfWork, typed, typed_one


class CallRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `calls` as every read of one call returns it; `tests/calls/test_rows.py` fails
    when it drifts from the table model (`models/call.py`). `context` is the stored JSON text
    (the service decodes it). Frozen and `gc=False` like `trainings.repository.TrainingRow`."""

    id: str
    environment_id: str
    agent_id: str
    open_event_id: str
    sid: str | None
    direction: str
    from_number: str | None
    to_number: str | None
    is_testing: bool
    status: str
    duration: int
    version: int | None
    config_hash: str | None
    context: str | None
    reported_by_token_id: str | None
    ended_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ListedCallRow(CallRow, frozen=True, gc=False):
    """A row of `calls` joined with its agent's name and label, as `page` lists them;
    `tests/calls/test_rows.py` checks it is `CallRow` plus those two `agents` columns."""

    agent_name: str
    agent_label: str


class CallEventRow(msgspec.Struct, frozen=True, gc=False):
    """The columns of `call_events` a call's detail shows (`data` is the stored JSON text);
    `tests/calls/test_rows.py` checks them against the table model."""

    event_id: str
    event: str
    data: str
    occurred_at: datetime


class CallTurnRow(msgspec.Struct, frozen=True, gc=False):
    """The columns of `call_turns` a call's detail shows; `tests/calls/test_rows.py` checks
    them against the table model."""

    id: str
    seq: int
    event_id: str
    node_id: str | None
    user_text: str | None
    reply_text: str | None
    latency_ms: int | None
    occurred_at: datetime


class TurnTrainingRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `call_turn_trainings` with what is left of the training it names (a LEFT JOIN on
    `trainings`: `found`, the training's id, is None once it was deleted);
    `tests/calls/test_rows.py` checks it against both table models."""

    turn_id: str
    training_id: str
    source: str
    subject: str | None
    node_id: str | None
    found: str | None


class UsageRow(msgspec.Struct, frozen=True, gc=False):
    """The counts `usage` computes over `call_turn_trainings` (no table column; its types are
    asserted in `tests/calls/test_rows.py`)."""

    turns: int
    inline: int
    retrieved: int
    calls: int


# The SELECT lists are the row types' fields, in their order.
COLUMNS = ", ".join(f"c.{name}" for name in CallRow.__struct_fields__)
_AGENT = "a.name AS agent_name, a.label AS agent_label"
_EVENT_COLUMNS = ", ".join(CallEventRow.__struct_fields__)
_TURN_COLUMNS = ", ".join(CallTurnRow.__struct_fields__)


async def insert_call(uow: UnitOfWork, values: dict[str, Any]) -> bool:
    """Insert unless the environment already has a call opened by this event id."""
    names = list(values)
    rows = await uow.write(
        f"INSERT INTO calls ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)}) "
        "ON CONFLICT (environment_id, open_event_id) DO NOTHING RETURNING id",
        values,
    )
    return bool(rows)


async def by_open_event(uow: UnitOfWork, environment_id: str, event_id: str) -> CallRow | None:
    return typed_one(
        CallRow,
        await uow.one(
            f"SELECT {COLUMNS} FROM calls c "
            "WHERE c.environment_id = :env AND c.open_event_id = :event",
            {"env": environment_id, "event": event_id},
        ),
    )


async def get(uow: UnitOfWork, agent_id: str, call_id: str) -> CallRow | None:
    return typed_one(
        CallRow,
        await uow.one(
            f"SELECT {COLUMNS} FROM calls c WHERE c.id = :id AND c.agent_id = :agent",
            {"id": call_id, "agent": agent_id},
        ),
    )


async def lock(uow: UnitOfWork, agent_id: str, call_id: str) -> CallRow | None:
    """The call row, taken for writing (reports of one call are applied one at a time)."""
    rows = await uow.write(
        "UPDATE calls SET updated_at = updated_at WHERE id = :id AND agent_id = :agent "
        "RETURNING id",
        {"id": call_id, "agent": agent_id},
    )
    return await get(uow, agent_id, call_id) if rows else None


async def set_status(uow: UnitOfWork, call_id: str, values: dict[str, Any]) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    await uow.write(f"UPDATE calls SET {assignments} WHERE id = :_id", {**values, "_id": call_id})


async def insert_event(uow: UnitOfWork, values: dict[str, Any]) -> bool:
    rows = await uow.write(
        "INSERT INTO call_events (id, call_id, event_id, seq, event, data, occurred_at, "
        "created_at) VALUES (:id, :call_id, :event_id, :seq, :event, :data, :occurred_at, "
        ":created_at) "
        "ON CONFLICT (call_id, event_id) DO NOTHING RETURNING id",
        values,
    )
    return bool(rows)


async def next_seq(uow: UnitOfWork, table: str, call_id: str) -> int:
    assert table in ("call_events", "call_turns")
    row = await uow.one(
        f"SELECT COALESCE(MAX(seq), 0) AS n FROM {table} WHERE call_id = :id", {"id": call_id}
    )
    return int(row["n"]) + 1 if row else 1


async def insert_turn(uow: UnitOfWork, values: dict[str, Any]) -> bool:
    rows = await uow.write(
        "INSERT INTO call_turns (id, call_id, event_id, seq, node_id, user_text, reply_text, "
        "latency_ms, occurred_at, created_at) VALUES (:id, :call_id, :event_id, :seq, :node_id, "
        ":user_text, :reply_text, :latency_ms, :occurred_at, :created_at) "
        "ON CONFLICT (call_id, event_id) DO NOTHING RETURNING id",
        values,
    )
    return bool(rows)


async def insert_turn_trainings(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    if rows:
        await uow.write_many(
            "INSERT INTO call_turn_trainings (turn_id, training_id, source, call_id, agent_id, "
            "created_at) VALUES (:turn_id, :training_id, :source, :call_id, :agent_id, "
            ":created_at)",
            rows,
        )


def _filters(
    environment_id: str,
    agent_id: str | None,
    status: str | None,
    direction: str | None,
    search: str | None,
    since: datetime | None,
    before: datetime | None,
) -> tuple[str, dict[str, Any]]:
    where = ["c.environment_id = :env"]
    params: dict[str, Any] = {"env": environment_id}
    if agent_id is not None:
        where.append("c.agent_id = :agent")
        params["agent"] = agent_id
    if status is not None:
        where.append("c.status = :status")
        params["status"] = status
    if direction is not None:
        where.append("c.direction = :direction")
        params["direction"] = direction
    if since is not None:
        where.append("c.created_at >= :since")
        params["since"] = since
    if before is not None:
        where.append("c.created_at < :before")
        params["before"] = before
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(
            "(LOWER(c.sid) LIKE :search ESCAPE '\\' OR c.from_number LIKE :search ESCAPE '\\' "
            "OR c.to_number LIKE :search ESCAPE '\\')"
        )
        params["search"] = f"%{escaped}%"
    return " AND ".join(where), params


async def page(
    uow: UnitOfWork,
    environment_id: str,
    *,
    agent_id: str | None,
    status: str | None,
    direction: str | None,
    search: str | None,
    since: datetime | None,
    before: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[ListedCallRow], int]:
    condition, params = _filters(environment_id, agent_id, status, direction, search, since, before)
    total = await uow.one(f"SELECT COUNT(*) AS n FROM calls c WHERE {condition}", params)
    rows = await uow.all(
        f"SELECT {COLUMNS}, {_AGENT} FROM calls c JOIN agents a ON a.id = c.agent_id "
        f"WHERE {condition} ORDER BY c.created_at DESC, c.id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return typed(ListedCallRow, rows), int(total["n"]) if total else 0


async def events(uow: UnitOfWork, call_id: str) -> list[CallEventRow]:
    rows = await uow.all(
        f"SELECT {_EVENT_COLUMNS} FROM call_events WHERE call_id = :id ORDER BY seq, id",
        {"id": call_id},
    )
    return typed(CallEventRow, rows)


async def turns(uow: UnitOfWork, call_id: str) -> list[CallTurnRow]:
    rows = await uow.all(
        f"SELECT {_TURN_COLUMNS} FROM call_turns WHERE call_id = :id ORDER BY seq, occurred_at, id",
        {"id": call_id},
    )
    return typed(CallTurnRow, rows)


async def turn_trainings(uow: UnitOfWork, call_id: str) -> list[TurnTrainingRow]:
    rows = await uow.all(
        "SELECT u.turn_id, u.training_id, u.source, t.subject, t.node_id, t.id AS found "
        "FROM call_turn_trainings u LEFT JOIN trainings t ON t.id = u.training_id "
        "WHERE u.call_id = :id ORDER BY u.source, u.training_id",
        {"id": call_id},
    )
    return typed(TurnTrainingRow, rows)


async def training_exists(uow: UnitOfWork, agent_id: str, training_id: str) -> bool:
    """Whether the agent has this training (usage of one never used is zeros, not a 404)."""
    row = await uow.one(
        "SELECT id FROM trainings WHERE id = :id AND agent_id = :agent",
        {"id": training_id, "agent": agent_id},
    )
    return row is not None


async def usage(
    uow: UnitOfWork,
    agent_id: str,
    training_id: str,
    since: datetime | None,
    before: datetime | None,
) -> UsageRow:
    where = "agent_id = :agent AND training_id = :training"
    params: dict[str, Any] = {"agent": agent_id, "training": training_id}
    if since is not None:
        where += " AND created_at >= :since"
        params["since"] = since
    if before is not None:
        where += " AND created_at < :before"
        params["before"] = before
    row = await uow.one(
        "SELECT COUNT(DISTINCT turn_id) AS turns, "
        "COALESCE(SUM(CASE WHEN source = 'inline' THEN 1 ELSE 0 END), 0) AS inline, "
        "COALESCE(SUM(CASE WHEN source = 'retrieved' THEN 1 ELSE 0 END), 0) AS retrieved, "
        f"COUNT(DISTINCT call_id) AS calls FROM call_turn_trainings WHERE {where}",
        params,
    )
    usage = typed_one(UsageRow, row)
    assert usage is not None  # an aggregate always has its one row
    return usage
