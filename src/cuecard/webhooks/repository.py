"""SQL for webhooks and their logs. A webhook is reached only through its agent (tenancy)."""

from __future__ import annotations

from typing import Any

from cuecard.core.db import Row, UnitOfWork
from cuecard.webhooks.delivery import WEBHOOK_COLUMNS

LOG_COLUMNS = (
    "id, webhook_id, event_id, event, attempt, status, payload, request_payload, http_status, "
    "response_body, response_headers, error, duration_ms, original_log_id, next_attempt_at, "
    "delivered_at, created_at"
)


async def for_agent(uow: UnitOfWork, agent_id: str) -> list[Row]:
    return await uow.all(
        f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE agent_id = :agent ORDER BY created_at, id",
        {"agent": agent_id},
    )


async def get(uow: UnitOfWork, agent_id: str, webhook_id: str) -> Row | None:
    return await uow.one(
        f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = :id AND agent_id = :agent",
        {"id": webhook_id, "agent": agent_id},
    )


async def insert(uow: UnitOfWork, values: dict[str, Any]) -> Row:
    names = list(values)
    rows = await uow.write(
        f"INSERT INTO webhooks ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)}) "
        f"RETURNING {WEBHOOK_COLUMNS}",
        values,
    )
    return rows[0]


async def update(
    uow: UnitOfWork, agent_id: str, webhook_id: str, values: dict[str, Any]
) -> Row | None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    rows = await uow.write(
        f"UPDATE webhooks SET {assignments} WHERE id = :_id AND agent_id = :_agent "
        f"RETURNING {WEBHOOK_COLUMNS}",
        {**values, "_id": webhook_id, "_agent": agent_id},
    )
    return rows[0] if rows else None


async def delete(uow: UnitOfWork, agent_id: str, webhook_id: str) -> bool:
    rows = await uow.write(
        "DELETE FROM webhooks WHERE id = :id AND agent_id = :agent RETURNING id",
        {"id": webhook_id, "agent": agent_id},
    )
    return bool(rows)


async def logs_page(
    uow: UnitOfWork, webhook_id: str, limit: int, offset: int
) -> tuple[list[Row], int]:
    total = await uow.one(
        "SELECT COUNT(*) AS n FROM webhook_logs WHERE webhook_id = :id", {"id": webhook_id}
    )
    rows = await uow.all(
        f"SELECT {LOG_COLUMNS} FROM webhook_logs WHERE webhook_id = :id "
        "ORDER BY created_at DESC, attempt DESC, id DESC LIMIT :limit OFFSET :offset",
        {"id": webhook_id, "limit": limit, "offset": offset},
    )
    return rows, int(total["n"]) if total else 0


async def get_log(uow: UnitOfWork, webhook_id: str, log_id: str) -> Row | None:
    return await uow.one(
        f"SELECT {LOG_COLUMNS} FROM webhook_logs WHERE id = :id AND webhook_id = :webhook",
        {"id": log_id, "webhook": webhook_id},
    )


async def insert_log(uow: UnitOfWork, values: dict[str, Any]) -> None:
    names = list(values)
    await uow.write(
        f"INSERT INTO webhook_logs ({', '.join(names)}) "
        f"VALUES ({', '.join(':' + n for n in names)})",
        values,
    )
