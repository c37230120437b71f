"""The outbox: an event becomes delivery rows in the same transaction as the change that caused it.

A service calls `emit` inside its unit of work, after its own writes. If the transaction commits,
the deliveries exist and a worker will send them (at least once, even across crashes); if it rolls
back, they never existed and nothing is sent.
"""

from __future__ import annotations

import json
from typing import Any

from cuecard.core.db import UnitOfWork, format_timestamp, new_id, utcnow
from cuecard.webhooks.events import AVAILABLE_EVENTS


async def emit(uow: UnitOfWork, agent_id: str, event: str, data: dict[str, Any]) -> str | None:
    """Queue `event` for each enabled webhook of the agent that subscribes to it.

    `data` is merged into the payload beside `event_id`, `event`, `timestamp` and `agent_id`.
    Returns the event id, or None when no webhook wanted the event (nothing is written then).
    """
    if event not in AVAILABLE_EVENTS:
        raise ValueError(f"unknown event {event!r}")
    webhooks = await uow.all(
        "SELECT id FROM webhooks WHERE agent_id = :agent AND enabled = :yes "
        "AND events LIKE :pattern ESCAPE '\\'",
        {"agent": agent_id, "yes": True, "pattern": '%"' + event.replace("_", "\\_") + '"%'},
    )
    if not webhooks:
        return None
    now = utcnow()
    event_id = new_id()
    payload = json.dumps(
        {
            "event_id": event_id,
            "event": event,
            "timestamp": format_timestamp(now),
            "agent_id": agent_id,
            **data,
        },
        separators=(",", ":"),
        default=_json_default,
    )
    await uow.write_many(
        "INSERT INTO webhook_logs (id, webhook_id, event_id, event, attempt, status, payload, "
        "next_attempt_at, created_at) VALUES (:id, :webhook, :event_id, :event, 1, 'pending', "
        ":payload, :now, :now)",
        [
            {
                "id": new_id(),
                "webhook": row["id"],
                "event_id": event_id,
                "event": event,
                "payload": payload,
                "now": now,
            }
            for row in webhooks
        ],
    )
    return event_id


def _json_default(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, datetime):
        return format_timestamp(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
