"""SQL for agent tests and their runs. Callers pass an agent already scoped to the caller."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec

from cuecard.agent_tests.schemas import AgentTestDefinition
from cuecard.core.db import UnitOfWork, typed, typed_one


class AgentTestRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `agent_tests` as every read and upsert returns it; `tests/agent_tests/
    test_rows.py` fails when it drifts from the table model (`models/agent_test.py`).
    `definition` is the stored JSON text (`definition()` and the service decode it)."""

    id: str
    agent_id: str
    name: str
    definition: str
    created_at: datetime
    updated_at: datetime


class AgentTestRunRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `agent_test_runs` as every read returns it; `tests/agent_tests/test_rows.py`
    fails when it drifts from the table model. `result` is the run as the API returned it, as
    JSON text."""

    id: str
    agent_id: str
    version: str
    draft_revision: int | None
    config_hash: str
    passed: bool
    total: int
    failed: int
    result: str
    created_at: datetime


# The SELECT lists are the row types' fields, in their order.
TEST_COLUMNS = ", ".join(AgentTestRow.__struct_fields__)
RUN_COLUMNS = ", ".join(AgentTestRunRow.__struct_fields__)


async def for_agent(uow: UnitOfWork, agent_id: str) -> list[AgentTestRow]:
    return typed(
        AgentTestRow,
        await uow.all(
            f"SELECT {TEST_COLUMNS} FROM agent_tests WHERE agent_id = :agent_id ORDER BY name, id",
            {"agent_id": agent_id},
        ),
    )


def definition(row: AgentTestRow) -> AgentTestDefinition:
    return AgentTestDefinition.model_validate({**json.loads(row.definition), "name": row.name})


async def definitions(uow: UnitOfWork, agent_id: str) -> list[AgentTestDefinition]:
    return [definition(row) for row in await for_agent(uow, agent_id)]


async def upsert(uow: UnitOfWork, values: dict[str, Any]) -> tuple[AgentTestRow, bool]:
    """Insert or replace the test named `values["name"]`; True when it was created."""
    rows = await uow.write(
        "INSERT INTO agent_tests (id, agent_id, name, definition, created_at, updated_at) "
        "VALUES (:id, :agent_id, :name, :definition, :now, :now) "
        "ON CONFLICT (agent_id, name) DO UPDATE SET definition = excluded.definition, "
        f"updated_at = excluded.updated_at RETURNING {TEST_COLUMNS}",
        values,
    )
    (row,) = typed(AgentTestRow, rows)
    return row, row.id == values["id"]


async def delete(uow: UnitOfWork, agent_id: str, name: str) -> bool:
    rows = await uow.write(
        "DELETE FROM agent_tests WHERE agent_id = :agent_id AND name = :name RETURNING id",
        {"agent_id": agent_id, "name": name},
    )
    return bool(rows)


async def insert_run(uow: UnitOfWork, values: dict[str, Any]) -> bool:
    """Record a run; False (nothing written) if the agent was deleted while it ran."""
    rows = await uow.write(
        f"INSERT INTO agent_test_runs ({RUN_COLUMNS}) SELECT :id, :agent_id, :version, "
        ":draft_revision, :config_hash, :passed, :total, :failed, :result, :created_at "
        "WHERE EXISTS (SELECT 1 FROM agents WHERE id = :agent) RETURNING id",
        {**values, "agent": values["agent_id"]},  # one parameter per use: PostgreSQL types each
    )
    return bool(rows)


async def last_draft_run(uow: UnitOfWork, agent_id: str) -> AgentTestRunRow | None:
    return typed_one(
        AgentTestRunRow,
        await uow.one(
            f"SELECT {RUN_COLUMNS} FROM agent_test_runs WHERE agent_id = :agent_id "
            "AND version = 'draft' ORDER BY created_at DESC, id DESC LIMIT 1",
            {"agent_id": agent_id},
        ),
    )


async def get_run(uow: UnitOfWork, agent_id: str, run_id: str) -> AgentTestRunRow | None:
    return typed_one(
        AgentTestRunRow,
        await uow.one(
            f"SELECT {RUN_COLUMNS} FROM agent_test_runs WHERE agent_id = :agent_id AND id = :id",
            {"agent_id": agent_id, "id": run_id},
        ),
    )
