"""SQL for actions. Agent ids come scoped by the agents service."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from cuecard.core.db import UnitOfWork, typed, typed_one


class ActionRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `actions` as lists, snapshots and responses read it: every column but the two
    secrets, and whether a token is stored (`has_authorization_token`, computed). The JSON
    columns stay text (`input_schema`, `custom_header_keys`: `Action.from_row` decodes them).
    `tests/actions/test_rows.py` fails when it drifts from the table model (`models/action.py`).
    Frozen and `gc=False` like `trainings.repository.TrainingRow` (scalars only)."""

    id: str
    agent_id: str
    node_id: str
    name: str
    description: str
    type: str
    input_schema: str
    integration: str | None
    url: str | None
    authorization_url: str | None
    authorization_scheme: str
    authorization_header: str | None
    custom_header_keys: str
    has_authorization_token: bool
    speak_on_send: str | None
    speak_on_receive: str | None
    execution_mode: str
    hold_duration: int | None
    transfer_to: str | None
    current_status: str
    created_at: datetime
    updated_at: datetime


class ActionWithSecrets(ActionRow, frozen=True, gc=False):
    """The invoke path's row (`with_secrets`): the action and its encrypted secrets."""

    authorization_secret: str | None
    header_secrets: str | None


# The SELECT list is the row type's fields, in its order; the computed one is its expression.
_COMPUTED = {
    "has_authorization_token": "authorization_secret IS NOT NULL AS has_authorization_token"
}
COLUMNS = ", ".join(_COMPUTED.get(name, name) for name in ActionRow.__struct_fields__)


_ORDER = " ORDER BY created_at, id"

# One statement settles races on a node_id. Optional fields the request left out are NULL here
# and keep the stored value (COALESCE), as a training upsert does; so do the secrets.
_UPSERT = f"""
INSERT INTO actions (id, agent_id, node_id, name, description, type, input_schema, integration,
                     url, authorization_url, authorization_scheme, authorization_header,
                     custom_header_keys, authorization_secret, header_secrets, speak_on_send,
                     speak_on_receive, execution_mode, hold_duration, transfer_to,
                     current_status, created_at, updated_at)
VALUES (:id, :agent_id, :node_id, :name, :description, :type, COALESCE(:input_schema, '[]'),
        :integration, :url, :authorization_url, COALESCE(:authorization_scheme, 'none'),
        :authorization_header, COALESCE(:custom_header_keys, '[]'), :authorization_secret,
        :header_secrets, :speak_on_send, :speak_on_receive,
        COALESCE(:execution_mode, 'during_call'), :hold_duration, :transfer_to,
        COALESCE(:current_status, 'active'), :now, :now)
ON CONFLICT (agent_id, node_id) DO UPDATE SET
    name = excluded.name,
    description = excluded.description,
    type = excluded.type,
    input_schema = COALESCE(:input_schema, actions.input_schema),
    integration = COALESCE(:integration, actions.integration),
    url = COALESCE(:url, actions.url),
    authorization_url = COALESCE(:authorization_url, actions.authorization_url),
    authorization_scheme = COALESCE(:authorization_scheme, actions.authorization_scheme),
    authorization_header = COALESCE(:authorization_header, actions.authorization_header),
    custom_header_keys = COALESCE(:custom_header_keys, actions.custom_header_keys),
    authorization_secret = COALESCE(:authorization_secret, actions.authorization_secret),
    header_secrets = COALESCE(:header_secrets, actions.header_secrets),
    speak_on_send = COALESCE(:speak_on_send, actions.speak_on_send),
    speak_on_receive = COALESCE(:speak_on_receive, actions.speak_on_receive),
    execution_mode = COALESCE(:execution_mode, actions.execution_mode),
    hold_duration = COALESCE(:hold_duration, actions.hold_duration),
    transfer_to = COALESCE(:transfer_to, actions.transfer_to),
    current_status = COALESCE(:current_status, actions.current_status),
    updated_at = excluded.updated_at
RETURNING {COLUMNS}
"""


async def upsert(uow: UnitOfWork, values: dict[str, Any]) -> ActionRow:
    rows = await uow.write(_UPSERT, values)
    return typed(ActionRow, rows)[0]


async def for_agent(uow: UnitOfWork, agent_id: str) -> list[ActionRow]:
    return typed(
        ActionRow,
        await uow.all(
            f"SELECT {COLUMNS} FROM actions WHERE agent_id = :agent_id" + _ORDER,
            {"agent_id": agent_id},
        ),
    )


async def for_agents(uow: UnitOfWork, agent_ids: Sequence[str]) -> dict[str, list[ActionRow]]:
    grouped: dict[str, list[ActionRow]] = {agent_id: [] for agent_id in agent_ids}
    if not agent_ids:
        return grouped
    names = {f"a{i}": agent_id for i, agent_id in enumerate(agent_ids)}
    placeholders = ", ".join(f":{name}" for name in names)
    rows = typed(
        ActionRow,
        await uow.all(
            f"SELECT {COLUMNS} FROM actions WHERE agent_id IN ({placeholders})" + _ORDER, names
        ),
    )
    for row in rows:
        grouped[row.agent_id].append(row)
    return grouped


async def with_secrets(uow: UnitOfWork, agent_id: str, action_id: str) -> ActionWithSecrets | None:
    """The one read that sees the encrypted secrets: the invoke path."""
    row = await uow.one(
        f"SELECT {COLUMNS}, authorization_secret, header_secrets FROM actions "
        "WHERE id = :id AND agent_id = :agent_id",
        {"id": action_id, "agent_id": agent_id},
    )
    return typed_one(ActionWithSecrets, row)


async def delete(uow: UnitOfWork, agent_id: str, action_id: str) -> bool:
    rows = await uow.write(
        "DELETE FROM actions WHERE id = :id AND agent_id = :agent_id RETURNING id",
        {"id": action_id, "agent_id": agent_id},
    )
    return bool(rows)


# Restore (versions): by id, like trainings; secrets are never in a version, so a re-created
# action has none and an existing one keeps its own.
_RESTORE = """
INSERT INTO actions (id, agent_id, node_id, name, description, type, input_schema, integration,
                     url, authorization_url, authorization_scheme, authorization_header,
                     custom_header_keys, speak_on_send, speak_on_receive, execution_mode,
                     hold_duration, transfer_to, current_status, created_at, updated_at)
VALUES (:id, :agent_id, :node_id, :name, :description, :type, :input_schema, :integration, :url,
        :authorization_url, :authorization_scheme, :authorization_header, :custom_header_keys,
        :speak_on_send, :speak_on_receive, :execution_mode, :hold_duration, :transfer_to,
        :current_status, :created_at, :now)
ON CONFLICT (id) DO UPDATE SET
    node_id = excluded.node_id, name = excluded.name, description = excluded.description,
    type = excluded.type, input_schema = excluded.input_schema,
    integration = excluded.integration, url = excluded.url,
    authorization_url = excluded.authorization_url,
    authorization_scheme = excluded.authorization_scheme,
    authorization_header = excluded.authorization_header,
    custom_header_keys = excluded.custom_header_keys, speak_on_send = excluded.speak_on_send,
    speak_on_receive = excluded.speak_on_receive, execution_mode = excluded.execution_mode,
    hold_duration = excluded.hold_duration, transfer_to = excluded.transfer_to,
    current_status = excluded.current_status, updated_at = excluded.updated_at
WHERE actions.agent_id = excluded.agent_id
"""


async def restore(uow: UnitOfWork, rows: Iterable[dict[str, Any]]) -> None:
    await uow.write_many(_RESTORE, rows)


def _ids(ids: Sequence[str]) -> tuple[str, dict[str, str]]:
    names = {f"i{n}": value for n, value in enumerate(ids)}
    return ", ".join(":" + name for name in names), names


async def delete_ids(uow: UnitOfWork, agent_id: str, ids: Sequence[str]) -> None:
    placeholders, names = _ids(ids)
    await uow.write(
        f"DELETE FROM actions WHERE agent_id = :agent_id AND id IN ({placeholders})",
        {"agent_id": agent_id, **names},
    )


async def set_status(uow: UnitOfWork, agent_id: str, ids: Sequence[str], status: str,
                     now: Any) -> None:  # fmt: skip
    placeholders, names = _ids(ids)
    await uow.write(
        "UPDATE actions SET current_status = :status, updated_at = :now "
        f"WHERE agent_id = :agent_id AND id IN ({placeholders})",
        {"agent_id": agent_id, "status": status, "now": now, **names},
    )


async def park_node_ids(uow: UnitOfWork, agent_id: str, ids: Sequence[str]) -> None:
    """Give each action its own id as node_id for a moment, so node_ids can swap."""
    placeholders, names = _ids(ids)
    await uow.write(
        f"UPDATE actions SET node_id = id WHERE agent_id = :agent_id AND id IN ({placeholders})",
        {"agent_id": agent_id, **names},
    )
