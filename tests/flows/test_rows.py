"""`flows.repository.FlowRow`, the typed row every flow read and save returns, against the
table model, and as each database really hands it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from cuecard import models
from cuecard.core.db import new_id, utcnow
from cuecard.flows import repository
from cuecard.flows.repository import FlowRow
from tests.flows.test_flows import SALES_FLOW
from tests.row_types import column_types, field_types

Headers = dict[str, str]


class TestFlowRowDeclaration:
    def test_fields_are_the_agent_flows_table_with_its_types_and_nullability(self) -> None:
        table = models.AgentFlow.__table__

        assert field_types(FlowRow) == column_types(table)  # type: ignore[arg-type]

    def test_every_read_selects_the_fields_in_the_row_types_order(self) -> None:
        assert repository.COLUMNS.split(", ") == list(FlowRow.__struct_fields__)


class TestFlowRowsFromTheDatabase:
    async def test_saved_rows_are_typed_on_this_backend(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent()
        url = f"/api/v1/agents/{agent['id']}/flow"
        for body in (
            {"conversation_mode": "flow_driven", "flow_config": SALES_FLOW},
            {"conversation_mode": "llm_driven"},
        ):
            response = await client.put(url, json=body, headers=headers)
            assert response.status_code == 200, response.text
        listed = (await client.get(f"{url}/versions", headers=headers)).json()["data"]
        async with app.state.db.transaction() as uow:
            newest = await repository.newest(uow, agent["id"])
            current = await repository.current(uow, agent["id"])
            first = await repository.get(uow, agent["id"], newest[1].id)

        assert [row.id for row in newest] == [v["id"] for v in listed["versions"]]
        assert current is not None and current == newest[0]
        assert first is not None and first == newest[1]
        assert (current.number, current.flow_config, current.conversation_mode) == (
            2, None, "llm_driven"
        )  # fmt: skip
        # The stored JSON text comes back as text; the snapshot decodes it into the dict.
        assert (first.version, first.number) == ("1.2.0", 1)
        assert isinstance(first.flow_config, str)
        assert json.loads(first.flow_config) == SALES_FLOW
        assert repository.snapshot_of(first)["flow_config"] == SALES_FLOW
        assert isinstance(first.created_at, datetime) and first.created_at.tzinfo is not None
        assert first.created_at.astimezone(UTC) <= current.created_at.astimezone(UTC)

    async def test_a_save_returns_a_frozen_row(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent()
        async with app.state.db.transaction() as uow:
            row = await repository.insert_next(
                uow, flow_id=new_id(), agent_id=agent["id"], version=None,
                conversation_mode="llm_driven", flow_config=None, now=utcnow(),
            )  # fmt: skip

        # No version given: the save's own number, as text.
        assert (row.number, row.version, row.agent_id) == (1, "1", agent["id"])
        changed = msgspec.structs.replace(row, version="2")
        assert (changed.version, row.version) == ("2", "1")
        with pytest.raises(AttributeError):
            row.version = "3"  # type: ignore[misc]
