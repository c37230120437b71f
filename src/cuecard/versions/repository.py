"""SQL for published versions, and the training writes of a restore. Agent ids come scoped."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cuecard.core.db import Params, Row, UnitOfWork

_SUMMARY = (
    "v.version, v.config_hash, v.published_at, v.published_by_token_id, t.label AS token_label"
)
_FROM = "FROM agent_versions v LEFT JOIN api_tokens t ON t.id = v.published_by_token_id"


async def page(uow: UnitOfWork, agent_id: str, *, limit: int, offset: int) -> tuple[list[Row], int]:
    total_row = await uow.one(
        "SELECT COUNT(*) AS total FROM agent_versions WHERE agent_id = :agent_id",
        {"agent_id": agent_id},
    )
    rows = await uow.all(
        f"SELECT {_SUMMARY} {_FROM} WHERE v.agent_id = :agent_id "
        "ORDER BY v.version DESC LIMIT :limit OFFSET :offset",
        {"agent_id": agent_id, "limit": limit, "offset": offset},
    )
    return rows, int(total_row["total"]) if total_row else 0


async def get(uow: UnitOfWork, agent_id: str, version: int) -> Row | None:
    return await uow.one(
        f"SELECT {_SUMMARY}, v.snapshot {_FROM} WHERE v.agent_id = :agent_id AND v.version = :v",
        {"agent_id": agent_id, "v": version},
    )


async def snapshot(uow: UnitOfWork, agent_id: str, version: int) -> str | None:
    row = await uow.one(
        "SELECT snapshot FROM agent_versions WHERE agent_id = :agent_id AND version = :v",
        {"agent_id": agent_id, "v": version},
    )
    return str(row["snapshot"]) if row else None


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
