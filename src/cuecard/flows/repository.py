"""SQL for agent flows. Agent ids come scoped by the agents service."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec

from cuecard.core.db import UnitOfWork, typed, typed_one


class FlowRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `agent_flows` as every read and save returns it; `tests/flows/test_rows.py`
    fails when it drifts from the table model (`models/agent_flow.py`). `flow_config` is the
    stored JSON text (`snapshot_of` and the service decode it)."""

    id: str
    agent_id: str
    number: int
    version: str
    conversation_mode: str
    flow_config: str | None
    created_at: datetime


# The SELECT list is the row type's fields, in its order.
COLUMNS = ", ".join(FlowRow.__struct_fields__)
LIST_LIMIT = 100


async def current(uow: UnitOfWork, agent_id: str) -> FlowRow | None:
    return typed_one(
        FlowRow,
        await uow.one(
            f"SELECT {COLUMNS} FROM agent_flows WHERE agent_id = :agent_id "
            "ORDER BY number DESC LIMIT 1",
            {"agent_id": agent_id},
        ),
    )


async def get(uow: UnitOfWork, agent_id: str, flow_id: str) -> FlowRow | None:
    return typed_one(
        FlowRow,
        await uow.one(
            f"SELECT {COLUMNS} FROM agent_flows WHERE agent_id = :agent_id AND id = :id",
            {"agent_id": agent_id, "id": flow_id},
        ),
    )


async def newest(uow: UnitOfWork, agent_id: str) -> list[FlowRow]:
    return typed(
        FlowRow,
        await uow.all(
            f"SELECT {COLUMNS} FROM agent_flows WHERE agent_id = :agent_id "
            "ORDER BY number DESC LIMIT :limit",
            {"agent_id": agent_id, "limit": LIST_LIMIT},
        ),
    )


async def insert_next(
    uow: UnitOfWork,
    *,
    flow_id: str,
    agent_id: str,
    version: str | None,
    conversation_mode: str,
    flow_config: str | None,
    now: datetime,
) -> FlowRow:
    """Append the next save (a `version` of None is the save's own number).

    Callers take the agent row first, so two saves of one agent never read the same number (and
    the unique (agent_id, number) constraint would refuse the second if they did)."""
    last = await uow.one(
        "SELECT COALESCE(MAX(number), 0) AS n FROM agent_flows WHERE agent_id = :agent_id",
        {"agent_id": agent_id},
    )
    number = int(last["n"]) + 1 if last else 1
    rows = await uow.write(
        f"INSERT INTO agent_flows ({COLUMNS}) VALUES (:id, :agent_id, :number, :version, "
        f":mode, :config, :now) RETURNING {COLUMNS}",
        {"id": flow_id, "agent_id": agent_id, "number": number,
         "version": version or str(number), "mode": conversation_mode, "config": flow_config,
         "now": now},
    )  # fmt: skip
    return typed(FlowRow, rows)[0]


def snapshot_of(row: FlowRow | None) -> dict[str, Any]:
    """The flow as a snapshot (draft or published) holds it; `id` names the saved version, and
    an agent that never saved a flow is llm_driven."""
    if row is None:
        return {"id": None, "conversation_mode": "llm_driven", "flow_config": None}
    config = json.loads(row.flow_config) if row.flow_config is not None else None
    return {"id": row.id, "conversation_mode": row.conversation_mode, "flow_config": config}
