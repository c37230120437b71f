"""SQL for phone numbers and their assignment to agents. Environment and agent ids come scoped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from cuecard.core.db import UnitOfWork, typed, typed_one


class PhoneNumberRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `phone_numbers` as every read returns it (`COLUMNS` is its fields);
    `tests/calling/test_rows.py` fails when it drifts from the table model
    (`models/phone_number.py`). Frozen and `gc=False` like `trainings.repository.TrainingRow`."""

    id: str
    environment_id: str
    number: str
    country_code: str | None
    direction: str
    label: str | None
    created_at: datetime
    updated_at: datetime


class AgentNumberRow(PhoneNumberRow, frozen=True, gc=False):
    """A number assigned to an agent: the `phone_numbers` row and the `agent_phone_numbers`
    agent it is assigned to (`for_agents`)."""

    agent_id: str


class RegisteredNumberRow(PhoneNumberRow, frozen=True, gc=False):
    """A number with its environment's name (`environments.name`), the operator's view."""

    environment: str


class InboundOwnerRow(msgspec.Struct, frozen=True, gc=False):
    """Another agent answering one of the numbers inbound: `agent_phone_numbers`' ids and the
    agent's name (`agents.name`)."""

    agent_id: str
    phone_number_id: str
    agent_name: str


# The SELECT list is the row type's fields, in its order.
COLUMNS = ", ".join(PhoneNumberRow.__struct_fields__)
_P_COLUMNS = ", ".join(f"p.{c}" for c in PhoneNumberRow.__struct_fields__)


async def insert(uow: UnitOfWork, values: dict[str, Any]) -> PhoneNumberRow | None:
    """None when the number is already registered (in any environment)."""
    rows = await uow.write(
        f"INSERT INTO phone_numbers ({COLUMNS}) VALUES (:id, :environment_id, :number, "
        ":country_code, :direction, :label, :now, :now) ON CONFLICT (number) DO NOTHING "
        f"RETURNING {COLUMNS}",
        values,
    )
    return typed_one(PhoneNumberRow, rows[0] if rows else None)


async def page(
    uow: UnitOfWork, environment_id: str, search: str | None, direction: str | None
) -> list[PhoneNumberRow]:
    where = ["environment_id = :env"]
    params: dict[str, Any] = {"env": environment_id}
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("(LOWER(number) LIKE :s ESCAPE '\\' OR LOWER(id) LIKE :s ESCAPE '\\')")
        params["s"] = f"%{escaped}%"
    if direction:
        where.append("direction = :direction")
        params["direction"] = direction
    return typed(
        PhoneNumberRow,
        await uow.all(
            f"SELECT {COLUMNS} FROM phone_numbers WHERE {' AND '.join(where)} ORDER BY number",
            params,
        ),
    )


async def by_ids(uow: UnitOfWork, environment_id: str, ids: Sequence[str]) -> list[PhoneNumberRow]:
    if not ids:
        return []
    names = {f"p{i}": value for i, value in enumerate(ids)}
    return typed(
        PhoneNumberRow,
        await uow.all(
            f"SELECT {COLUMNS} FROM phone_numbers WHERE environment_id = :env "
            f"AND id IN ({', '.join(':' + n for n in names)})",
            {"env": environment_id, **names},
        ),
    )


async def by_number(uow: UnitOfWork, number: str) -> PhoneNumberRow | None:
    return typed_one(
        PhoneNumberRow,
        await uow.one(f"SELECT {COLUMNS} FROM phone_numbers WHERE number = :n", {"n": number}),
    )


async def delete(uow: UnitOfWork, phone_number_id: str) -> list[str]:
    """Remove a number; returns the agents it was assigned to."""
    rows = await uow.write(
        "DELETE FROM agent_phone_numbers WHERE phone_number_id = :id RETURNING agent_id",
        {"id": phone_number_id},
    )
    await uow.write("DELETE FROM phone_numbers WHERE id = :id", {"id": phone_number_id})
    return [str(row["agent_id"]) for row in rows]


async def for_agents(uow: UnitOfWork, agent_ids: Sequence[str]) -> dict[str, list[AgentNumberRow]]:
    grouped: dict[str, list[AgentNumberRow]] = {agent_id: [] for agent_id in agent_ids}
    if not agent_ids:
        return grouped
    names = {f"a{i}": agent_id for i, agent_id in enumerate(agent_ids)}
    rows = await uow.all(
        f"SELECT a.agent_id, {_P_COLUMNS} FROM agent_phone_numbers a "
        "JOIN phone_numbers p ON p.id = a.phone_number_id "
        f"WHERE a.agent_id IN ({', '.join(':' + n for n in names)}) ORDER BY p.number",
        names,
    )
    for row in typed(AgentNumberRow, rows):
        grouped[row.agent_id].append(row)
    return grouped


async def for_agent(uow: UnitOfWork, agent_id: str) -> list[AgentNumberRow]:
    return (await for_agents(uow, [agent_id]))[agent_id]


async def inbound_owners(
    uow: UnitOfWork, phone_number_ids: Sequence[str], except_agent: str
) -> list[InboundOwnerRow]:
    """Which other agents answer these numbers inbound."""
    if not phone_number_ids:
        return []
    names = {f"p{i}": value for i, value in enumerate(phone_number_ids)}
    rows = await uow.all(
        "SELECT a.agent_id, a.phone_number_id, g.name AS agent_name FROM agent_phone_numbers a "
        "JOIN agents g ON g.id = a.agent_id WHERE a.agent_id <> :agent "
        f"AND a.inbound_number_id IN ({', '.join(':' + n for n in names)})",
        {"agent": except_agent, **names},
    )
    return typed(InboundOwnerRow, rows)


async def replace_assignments(
    uow: UnitOfWork, agent_id: str, phone_number_ids: Sequence[str], inbound: bool
) -> None:
    """The agent's numbers become exactly these. With `inbound`, each one is claimed by the
    unique inbound key, so a concurrent claim by another agent fails on the constraint."""
    await uow.write("DELETE FROM agent_phone_numbers WHERE agent_id = :a", {"a": agent_id})
    if phone_number_ids:
        await uow.write_many(
            "INSERT INTO agent_phone_numbers (agent_id, phone_number_id, inbound_number_id) "
            "VALUES (:agent_id, :phone_number_id, :inbound_number_id)",
            [
                {
                    "agent_id": agent_id,
                    "phone_number_id": pid,
                    "inbound_number_id": pid if inbound else None,
                }
                for pid in phone_number_ids
            ],
        )


async def answering_agent(uow: UnitOfWork, phone_number_id: str) -> str | None:
    row = await uow.one(
        "SELECT agent_id FROM agent_phone_numbers WHERE inbound_number_id = :id",
        {"id": phone_number_id},
    )
    return str(row["agent_id"]) if row else None


async def by_id(uow: UnitOfWork, phone_number_id: str) -> PhoneNumberRow | None:
    return typed_one(
        PhoneNumberRow,
        await uow.one(
            f"SELECT {COLUMNS} FROM phone_numbers WHERE id = :id", {"id": phone_number_id}
        ),
    )


async def all_numbers(uow: UnitOfWork, environment: str | None) -> list[RegisteredNumberRow]:
    """Every number with its environment's name (the operator's view)."""
    sql = (
        f"SELECT {_P_COLUMNS}, e.name AS environment FROM phone_numbers p "
        "JOIN environments e ON e.id = p.environment_id"
    )
    if environment is not None:
        sql += " WHERE e.name = :env"
    rows = await uow.all(sql + " ORDER BY e.name, p.number", {"env": environment})
    return typed(RegisteredNumberRow, rows)


async def agents_of(uow: UnitOfWork, phone_number_ids: Sequence[str]) -> dict[str, list[str]]:
    if not phone_number_ids:
        return {}
    names = {f"p{i}": value for i, value in enumerate(phone_number_ids)}
    rows = await uow.all(
        "SELECT phone_number_id, agent_id FROM agent_phone_numbers "
        f"WHERE phone_number_id IN ({', '.join(':' + n for n in names)}) ORDER BY agent_id",
        names,
    )
    grouped: dict[str, list[str]] = {}
    for row in rows:
        grouped.setdefault(str(row["phone_number_id"]), []).append(str(row["agent_id"]))
    return grouped
