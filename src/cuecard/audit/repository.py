"""SQL for the audit log; every read is scoped by the caller's environment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from cuecard.core.db import UnitOfWork, typed


class AuditRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `audit_log` as `page` returns it; `tests/audit/test_rows.py` fails when it drifts
    from the table model (`models/audit_entry.py`). `changes` is the stored JSON text (the service
    decodes it). Frozen and `gc=False` like `trainings.repository.TrainingRow`."""

    id: str
    environment_id: str
    agent_id: str | None
    token_id: str | None
    token_label: str | None
    action: str
    target_type: str
    target_id: str | None
    changes: str
    created_at: datetime


# The INSERT and SELECT lists are the row type's fields, in its order.
COLUMNS = ", ".join(AuditRow.__struct_fields__)
_VALUES = ", ".join(f":{name}" for name in AuditRow.__struct_fields__)


async def insert(uow: UnitOfWork, values: dict[str, Any]) -> None:
    await uow.write(f"INSERT INTO audit_log ({COLUMNS}) VALUES ({_VALUES})", values)


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
) -> tuple[list[AuditRow], int]:
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
    # One convert for the page, not strict like the other repositories' (the same rule for every
    # row type; these columns are all text and timestamps).
    return typed(AuditRow, rows), int(total_row["n"]) if total_row else 0
