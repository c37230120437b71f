"""SQL for webhooks and their logs. A webhook is reached only through its agent (tenancy)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from cuecard.core.db import UnitOfWork, typed
from cuecard.webhooks.delivery import WEBHOOK_COLUMNS, WebhookRow, typed_webhook, typed_webhooks


class WebhookLogRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `webhook_logs` as the logs read it (`LOG_COLUMNS` is its fields); the JSON
    columns stay text (`payload`, `request_payload`, `response_headers`: `service.to_log` decodes
    them). `tests/webhooks/test_rows.py` fails when it drifts from the table model
    (`models/webhook.py`). Frozen and `gc=False` like `TrainingRow` (scalars only)."""

    id: str
    webhook_id: str
    event_id: str
    event: str
    attempt: int
    status: str
    payload: str
    request_payload: str | None
    http_status: int | None
    response_body: str | None
    response_headers: str | None
    error: str | None
    duration_ms: int | None
    original_log_id: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


# The SELECT list is the row type's fields, in its order.
LOG_COLUMNS = ", ".join(WebhookLogRow.__struct_fields__)


async def for_agent(uow: UnitOfWork, agent_id: str) -> list[WebhookRow]:
    return typed_webhooks(
        await uow.all(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE agent_id = :agent "
            "ORDER BY created_at, id",
            {"agent": agent_id},
        )
    )


async def get(uow: UnitOfWork, agent_id: str, webhook_id: str) -> WebhookRow | None:
    return typed_webhook(
        await uow.one(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = :id AND agent_id = :agent",
            {"id": webhook_id, "agent": agent_id},
        )
    )


async def insert(uow: UnitOfWork, values: dict[str, Any]) -> WebhookRow:
    names = list(values)
    rows = await uow.write(
        f"INSERT INTO webhooks ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)}) "
        f"RETURNING {WEBHOOK_COLUMNS}",
        values,
    )
    return typed_webhooks(rows)[0]


async def update(
    uow: UnitOfWork, agent_id: str, webhook_id: str, values: dict[str, Any]
) -> WebhookRow | None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    rows = await uow.write(
        f"UPDATE webhooks SET {assignments} WHERE id = :_id AND agent_id = :_agent "
        f"RETURNING {WEBHOOK_COLUMNS}",
        {**values, "_id": webhook_id, "_agent": agent_id},
    )
    return typed_webhook(rows[0] if rows else None)


async def delete(uow: UnitOfWork, agent_id: str, webhook_id: str) -> bool:
    rows = await uow.write(
        "DELETE FROM webhooks WHERE id = :id AND agent_id = :agent RETURNING id",
        {"id": webhook_id, "agent": agent_id},
    )
    return bool(rows)


async def logs_page(
    uow: UnitOfWork, webhook_id: str, limit: int, offset: int
) -> tuple[list[WebhookLogRow], int]:
    total = await uow.one(
        "SELECT COUNT(*) AS n FROM webhook_logs WHERE webhook_id = :id", {"id": webhook_id}
    )
    rows = await uow.all(
        f"SELECT {LOG_COLUMNS} FROM webhook_logs WHERE webhook_id = :id "
        "ORDER BY created_at DESC, attempt DESC, id DESC LIMIT :limit OFFSET :offset",
        {"id": webhook_id, "limit": limit, "offset": offset},
    )
    return typed(WebhookLogRow, rows), int(total["n"]) if total else 0


async def get_log(uow: UnitOfWork, webhook_id: str, log_id: str) -> WebhookLogRow | None:
    row = await uow.one(
        f"SELECT {LOG_COLUMNS} FROM webhook_logs WHERE id = :id AND webhook_id = :webhook",
        {"id": log_id, "webhook": webhook_id},
    )
    return None if row is None else typed(WebhookLogRow, [row])[0]


async def insert_log(uow: UnitOfWork, values: dict[str, Any]) -> None:
    names = list(values)
    await uow.write(
        f"INSERT INTO webhook_logs ({', '.join(names)}) "
        f"VALUES ({', '.join(':' + n for n in names)})",
        values,
    )
