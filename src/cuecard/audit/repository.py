"""SQL for the audit log; every read is scoped by the caller's environment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cuecard.core.db import Row, UnitOfWork

COLUMNS = (
    "id, environment_id, agent_id, token_id, token_label, action, target_type, target_id, "
    "changes, created_at"
)


async def insert(uow: UnitOfWork, values: dict[str, Any]) -> None:
    await uow.write(
        f"INSERT INTO audit_log ({COLUMNS}) VALUES (:id, :environment_id, :agent_id, :token_id, "
        ":token_label, :action, :target_type, :target_id, :changes, :created_at)",
        values,
    )


async def page(
    uow: UnitOfWork,
    environment_id: str,
    *,
    agent_id: str | None,
    token_id: str | None,
    action: str | None,
    since: datetime | None,
    before: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[Row], int]:
    where = ["environment_id = :env"]
    params: dict[str, Any] = {"env": environment_id}
    for column, value in (("agent_id", agent_id), ("token_id", token_id), ("action", action)):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value.lower() if column != "action" else value
    if since is not None:
        where.append("created_at >= :since")
        params["since"] = since
    if before is not None:
        where.append("created_at < :before")
        params["before"] = before
    condition = " AND ".join(where)
    total_row = await uow.one(f"SELECT COUNT(*) AS n FROM audit_log WHERE {condition}", params)
    rows = await uow.all(
        f"SELECT {COLUMNS} FROM audit_log WHERE {condition} "
        "ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return rows, int(total_row["n"]) if total_row else 0
