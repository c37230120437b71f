"""SQL for published versions (`agent_versions`, which only this package writes). Agent ids
come scoped."""

from __future__ import annotations

from typing import Any

from cuecard.core.db import Row, UnitOfWork

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


async def insert(uow: UnitOfWork, values: dict[str, Any]) -> None:
    """Store a published version (publish: `versions.service.publish_agent`)."""
    await uow.write(
        "INSERT INTO agent_versions (id, agent_id, version, snapshot, config_hash, "
        "published_at, published_by_token_id) VALUES (:id, :agent_id, :version, :snapshot, "
        ":config_hash, :published_at, :published_by_token_id)",
        values,
    )
