"""`trainings.repository.TrainingRow`, the typed row every trainings read returns, against the
table model, and as each database really hands it back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from cuecard import models
from cuecard.trainings import repository
from cuecard.trainings.repository import TrainingRow
from tests.row_types import column_types, field_types

Headers = dict[str, str]


class TestTrainingRowDeclaration:
    def test_fields_are_the_trainings_table_with_its_types_and_nullability(self) -> None:
        table = models.Training.__table__

        assert field_types(TrainingRow) == column_types(table)  # type: ignore[arg-type]

    def test_every_read_selects_the_fields_in_the_row_types_order(self) -> None:
        assert repository.COLUMNS.split(", ") == list(TrainingRow.__struct_fields__)


class TestTrainingRowsFromTheDatabase:
    async def test_a_listed_row_is_typed_on_this_backend(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent()
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/trainings",
            json={"node_id": "faq", "subject": "FAQ", "instructions": "Be brief.", "position": 2},
            headers=headers,
        )
        assert response.status_code in (200, 201), response.text
        async with app.state.db.transaction() as uow:
            (row,) = await repository.for_agent(uow, agent["id"])

        # SQLite hands the boolean back as 0: the row says False, as PostgreSQL's does.
        assert row.pinned is False
        assert row.position == 2 and row.node_id == "faq"
        assert isinstance(row.created_at, datetime) and row.created_at.tzinfo is not None
        assert row.created_at.astimezone(UTC) <= row.updated_at.astimezone(UTC)
        assert row.id == response.json()["data"]["id"]

    async def test_an_upserted_row_is_frozen(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent()
        async with app.state.db.transaction() as uow:
            row = await repository.upsert(
                uow,
                {"id": "0" * 8 + "-0000-4000-8000-" + "0" * 12, "agent_id": agent["id"],
                 "node_id": None, "subject": "S", "instructions": "I", "current_status": None,
                 "position": None, "pinned": True, "now": datetime.now(UTC)},
            )  # fmt: skip

        assert row.pinned is True and row.current_status == "active"
        changed = msgspec.structs.replace(row, subject="T")
        assert (changed.subject, row.subject) == ("T", "S")
        with pytest.raises(AttributeError):
            row.subject = "U"  # type: ignore[misc]
