"""SQL for published versions (`agent_versions`, which only this package writes). Agent ids
come scoped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from cuecard.core.db import UnitOfWork, typed, typed_one


class VersionSummaryRow(msgspec.Struct, frozen=True, gc=False):
    """A version as the list reads it: columns of `agent_versions` and the label of the token
    that published it (`api_tokens.label`, LEFT JOINed: None when the token is gone or had
    none); `tests/versions/test_rows.py` fails when it drifts from the two table models or from
    `_SUMMARY`."""

    version: int
    config_hash: str
    published_at: datetime
    published_by_token_id: str | None
    token_label: str | None


class VersionRow(VersionSummaryRow, frozen=True, gc=False):
    """A version with its stored snapshot (canonical JSON text; `snapshots.reader.read` opens
    it)."""

    snapshot: str


# A join: the SELECT list is spelt out, in the row type's order (the test checks the names).
_SUMMARY = (
    "v.version, v.config_hash, v.published_at, v.published_by_token_id, t.label AS token_label"
)
_FROM = "FROM agent_versions v LEFT JOIN api_tokens t ON t.id = v.published_by_token_id"


async def page(
    uow: UnitOfWork, agent_id: str, *, limit: int, offset: int
) -> tuple[list[VersionSummaryRow], int]:
    total_row = await uow.one(
        "SELECT COUNT(*) AS total FROM agent_versions WHERE agent_id = :agent_id",
        {"agent_id": agent_id},
    )
    rows = await uow.all(
        f"SELECT {_SUMMARY} {_FROM} WHERE v.agent_id = :agent_id "
        "ORDER BY v.version DESC LIMIT :limit OFFSET :offset",
        {"agent_id": agent_id, "limit": limit, "offset": offset},
    )
    return typed(VersionSummaryRow, rows), int(total_row["total"]) if total_row else 0


async def get(uow: UnitOfWork, agent_id: str, version: int) -> VersionRow | None:
    row = await uow.one(
        f"SELECT {_SUMMARY}, v.snapshot {_FROM} WHERE v.agent_id = :agent_id AND v.version = :v",
        {"agent_id": agent_id, "v": version},
    )
    return typed_one(VersionRow, row)


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
