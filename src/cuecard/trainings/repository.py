"""SQL for trainings. Every function takes ids already scoped by the agents service."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from cuecard.core.db import Params, UnitOfWork, typed, typed_in_turns


class TrainingRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `trainings` as every read returns it; `tests/trainings/test_rows.py`
    fails when it drifts from the table model (`models/training.py`). Frozen: a changed copy is
    `msgspec.structs.replace`. `gc=False`: it holds scalars only, so it can never be part of a
    reference cycle, and not tracking it makes building one about 15 % cheaper.

    Its fields are the Training object's, in its order, and its timestamps the text both
    databases hand over (`core.db.Row`): encoded as it is, a row is the Training object's JSON
    (`schemas.encode_trainings`; `tests/trainings/test_rows.py` holds the two to the same bytes)."""

    id: str
    subject: str
    instructions: str
    current_status: str
    created_at: str
    updated_at: str
    node_id: str | None
    agent_id: str
    position: int | None
    pinned: bool


# The SELECT list is the row type's fields, in its order.
COLUMNS = ", ".join(TrainingRow.__struct_fields__)


# One statement settles races: concurrent upserts of one node_id end in one row. An update keeps
# every field the request left out (COALESCE with the stored value).
_UPSERT = f"""
INSERT INTO trainings (id, agent_id, node_id, subject, instructions, current_status, position,
                       pinned, created_at, updated_at)
VALUES (:id, :agent_id, :node_id, :subject, :instructions,
        COALESCE(:current_status, 'active'), :position, COALESCE(:pinned, FALSE), :now, :now)
ON CONFLICT (agent_id, node_id) DO UPDATE SET
    subject = excluded.subject,
    instructions = excluded.instructions,
    current_status = COALESCE(:current_status, trainings.current_status),
    position = COALESCE(:position, trainings.position),
    pinned = COALESCE(:pinned, trainings.pinned),
    updated_at = excluded.updated_at
RETURNING {COLUMNS}
"""

_ORDER = " ORDER BY created_at, id"


async def upsert(uow: UnitOfWork, values: dict[str, Any]) -> TrainingRow:
    rows = await uow.write(_UPSERT, values)
    return typed(TrainingRow, rows)[0]


async def for_agent(
    uow: UnitOfWork,
    agent_id: str,
    status: str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[TrainingRow]:
    """The agent's trainings, oldest first; `limit`/`offset` take one slice of that order."""
    sql = f"SELECT {COLUMNS} FROM trainings WHERE agent_id = :agent_id"
    if status is not None:
        sql += " AND current_status = :status"
    sql += _ORDER
    if limit is not None:
        sql += " LIMIT :limit OFFSET :offset"
    return await typed_in_turns(
        TrainingRow,
        await uow.all(
            sql, {"agent_id": agent_id, "status": status, "limit": limit, "offset": offset}
        ),
    )


async def count(uow: UnitOfWork, agent_id: str, status: str | None = None) -> int:
    sql = "SELECT COUNT(*) AS total FROM trainings WHERE agent_id = :agent_id"
    if status is not None:
        sql += " AND current_status = :status"
    row = await uow.one(sql, {"agent_id": agent_id, "status": status})
    return int(row["total"]) if row else 0


async def has_active(uow: UnitOfWork, agent_id: str) -> bool:
    row = await uow.one(
        "SELECT 1 AS found FROM trainings WHERE agent_id = :agent_id "
        "AND current_status = 'active' LIMIT 1",
        {"agent_id": agent_id},
    )
    return row is not None


async def more_than(uow: UnitOfWork, agent_id: str, limit: int) -> bool:
    """Whether the agent has more than `limit` trainings; reads at most limit + 1 index entries."""
    row = await uow.one(
        "SELECT COUNT(*) AS total FROM (SELECT 1 FROM trainings WHERE agent_id = :agent_id "
        "LIMIT :probe) AS probe",
        {"agent_id": agent_id, "probe": limit + 1},
    )
    return row is not None and int(row["total"]) > limit


async def for_agents(
    uow: UnitOfWork, agent_ids: Sequence[str], *, per_agent: int
) -> dict[str, list[TrainingRow]]:
    """The first `per_agent` trainings of each agent (oldest first), in one query."""
    grouped: dict[str, list[TrainingRow]] = {agent_id: [] for agent_id in agent_ids}
    if not agent_ids:
        return grouped
    names = {f"a{i}": agent_id for i, agent_id in enumerate(agent_ids)}
    placeholders = ", ".join(f":{name}" for name in names)
    rows = typed(
        TrainingRow,
        await uow.all(
            f"SELECT {COLUMNS} FROM (SELECT {COLUMNS}, ROW_NUMBER() OVER "
            "(PARTITION BY agent_id ORDER BY created_at, id) AS n "
            f"FROM trainings WHERE agent_id IN ({placeholders})) AS ranked WHERE n <= :per_agent"
            + _ORDER,
            {**names, "per_agent": per_agent},
        ),
    )
    for row in rows:
        grouped[row.agent_id].append(row)
    return grouped


async def delete(uow: UnitOfWork, agent_id: str, training_id: str) -> bool:
    rows = await uow.write(
        "DELETE FROM trainings WHERE id = :id AND agent_id = :agent_id RETURNING id",
        {"id": training_id, "agent_id": agent_id},
    )
    return bool(rows)


# The writes of a version restore (`versions.service.restore_version`).


async def set_training_state(uow: UnitOfWork, rows: Iterable[Params]) -> None:
    """Deactivate trainings a restored version lacks (and free node_ids it needs)."""
    await uow.write_many(
        "UPDATE trainings SET current_status = :current_status, node_id = :node_id, "
        "updated_at = :now WHERE id = :id AND agent_id = :agent_id",
        rows,
    )


async def clear_node_ids(uow: UnitOfWork, rows: Iterable[Params]) -> None:
    await uow.write_many(
        "UPDATE trainings SET node_id = NULL WHERE id = :id AND agent_id = :agent_id", rows
    )


# By id, not by node_id: a restore puts back the very trainings the version had, re-creating a
# deleted one with its original id and created_at.
_RESTORE = """
INSERT INTO trainings (id, agent_id, node_id, subject, instructions, current_status, position,
                       pinned, created_at, updated_at)
VALUES (:id, :agent_id, :node_id, :subject, :instructions, :current_status, :position, :pinned,
        :created_at, :now)
ON CONFLICT (id) DO UPDATE SET
    node_id = excluded.node_id,
    subject = excluded.subject,
    instructions = excluded.instructions,
    current_status = excluded.current_status,
    position = excluded.position,
    pinned = excluded.pinned,
    updated_at = excluded.updated_at
WHERE trainings.agent_id = excluded.agent_id
"""


async def restore_trainings(uow: UnitOfWork, rows: Iterable[dict[str, Any]]) -> None:
    await uow.write_many(_RESTORE, rows)
