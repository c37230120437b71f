"""Audit rules: a config write records who made it (token id and label, kept even if the token is
revoked later), what changed, and when, in the write's own transaction."""

from __future__ import annotations

import json
from typing import Any

from cuecard.agents.repository import AgentRow
from cuecard.audit import repository
from cuecard.audit.schemas import AuditEntry, AuditQuery, AuditToken
from cuecard.auth.service import Caller
from cuecard.core.db import UnitOfWork, new_id, utcnow


async def record(
    uow: UnitOfWork,
    caller: Caller,
    action: str,
    *,
    agent_id: str | None,
    target_type: str,
    target_id: str | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry inside the caller's unit of work (call it after the change)."""
    await repository.insert(
        uow,
        {
            "id": new_id(),
            "environment_id": caller.environment_id,
            "agent_id": agent_id,
            "token_id": caller.token_id,
            "token_label": caller.label,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "changes": json.dumps(changes or {}, default=str, separators=(",", ":")),
            "created_at": utcnow(),
        },
    )


def changed(before: AgentRow, after: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"from": old, "to": new}}` for the fields whose value differs."""
    return {
        name: {"from": getattr(before, name, None), "to": value}
        for name, value in after.items()
        if getattr(before, name, None) != value
    }


async def list_entries(
    uow: UnitOfWork, caller: Caller, query: AuditQuery
) -> tuple[list[AuditEntry], int]:
    since, before = query.bounds()
    rows, total = await repository.page(
        uow,
        caller.environment_id,
        agent_id=query.agent_id,
        token_id=query.token_id,
        action=query.action,
        since=since,
        before=before,
        limit=query.per_page,
        offset=(query.page - 1) * query.per_page,
    )
    return [
        AuditEntry(
            id=row.id,
            agent_id=row.agent_id,
            token=AuditToken(id=row.token_id, label=row.token_label),
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            changes=json.loads(row.changes),
            created_at=row.created_at,
        )
        for row in rows
    ], total
