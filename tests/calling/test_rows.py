"""`calling.repository`'s typed rows (`PhoneNumberRow` and the join rows built on it) against
the table models, and as each database really hands them back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from cuecard import models
from cuecard.calling import repository
from cuecard.calling.repository import (
    AgentNumberRow,
    InboundOwnerRow,
    PhoneNumberRow,
    RegisteredNumberRow,
)
from tests.config_helpers import register_number
from tests.row_types import column_types, field_types

Headers = dict[str, str]
PHONE_NUMBERS = column_types(models.PhoneNumber.__table__)  # type: ignore[arg-type]
ASSIGNMENTS = column_types(models.AgentPhoneNumber.__table__)  # type: ignore[arg-type]


class TestPhoneNumberRowDeclaration:
    def test_fields_are_the_phone_numbers_table_with_its_types_and_nullability(self) -> None:
        assert field_types(PhoneNumberRow) == PHONE_NUMBERS

    def test_every_read_selects_the_fields_in_the_row_types_order(self) -> None:
        assert repository.COLUMNS.split(", ") == list(PhoneNumberRow.__struct_fields__)

    def test_an_assigned_number_is_the_number_and_the_assignments_agent(self) -> None:
        assert field_types(AgentNumberRow) == {**PHONE_NUMBERS, "agent_id": ASSIGNMENTS["agent_id"]}

    def test_a_registered_number_is_the_number_and_its_environments_name(self) -> None:
        environments = column_types(models.Environment.__table__)  # type: ignore[arg-type]

        assert field_types(RegisteredNumberRow) == {
            **PHONE_NUMBERS,
            "environment": environments["name"],
        }

    def test_an_inbound_owner_is_the_assignments_ids_and_the_agents_name(self) -> None:
        agents = column_types(models.Agent.__table__)  # type: ignore[arg-type]

        assert field_types(InboundOwnerRow) == {
            "agent_id": ASSIGNMENTS["agent_id"],
            "phone_number_id": ASSIGNMENTS["phone_number_id"],
            "agent_name": agents["name"],
        }


class TestPhoneNumberRowsFromTheDatabase:
    async def test_an_assigned_number_is_typed_on_this_backend(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent(name="Front Desk")
        number_id = await register_number(app, "+1 (212) 555-0101", direction="inbound")
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/calling",
            json={"direction": "inbound", "phone_number_ids": [number_id]},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        async with app.state.db.transaction() as uow:
            (row,) = await repository.for_agent(uow, agent["id"])
            owners = await repository.inbound_owners(uow, [number_id], "someone-else")
            (registered,) = await repository.all_numbers(uow, "default")

        assert type(row) is AgentNumberRow and row.agent_id == agent["id"]
        assert (row.id, row.number, row.direction) == (number_id, "+12125550101", "inbound")
        assert row.country_code == "US" and row.label is None
        assert isinstance(row.created_at, datetime) and row.created_at.tzinfo is not None
        assert row.created_at.astimezone(UTC) <= row.updated_at.astimezone(UTC)
        assert owners == [InboundOwnerRow(agent["id"], number_id, "Front Desk")]
        assert registered.environment == "default" and registered.id == number_id
        # The documented object still reads the same values.
        listed = await client.get("/api/v1/phone-numbers", headers=headers)
        assert listed.json()["data"][0]["agent_ids"] == [agent["id"]]
        assert listed.json()["data"][0]["international_number"] == "+1 212 555 0101"

    async def test_a_registered_row_is_frozen(self, headers: Headers, app: Any) -> None:
        # `headers`: the token that makes the "default" environment.
        number_id = await register_number(app, "+442071234567")
        async with app.state.db.transaction() as uow:
            row = await repository.by_id(uow, number_id)
            missing = await repository.by_number(uow, "+442071234568")

        assert row is not None and missing is None
        assert (row.country_code, row.direction) == ("GB", "both")
        relabelled = msgspec.structs.replace(row, label="London")
        assert (relabelled.label, row.label) == ("London", None)
        with pytest.raises(AttributeError):
            row.label = "Changed"  # type: ignore[misc]
