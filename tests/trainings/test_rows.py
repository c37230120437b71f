"""`trainings.repository.TrainingRow`, the typed row every trainings read returns, against the
table model, and as each database really hands it back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
from pydantic_core import to_json

from cuecard import models
from cuecard.core.db import format_timestamp, parse_timestamp
from cuecard.trainings import repository
from cuecard.trainings.repository import TrainingRow
from cuecard.trainings.schemas import Training, encode_trainings
from tests.row_types import column_types, field_types

Headers = dict[str, str]


class TestTrainingRowDeclaration:
    def test_fields_are_the_trainings_table_with_its_types_and_nullability(self) -> None:
        table = models.Training.__table__

        assert field_types(TrainingRow) == column_types(table, stamps=str)  # type: ignore[arg-type]

    def test_every_read_selects_the_fields_in_the_row_types_order(self) -> None:
        assert repository.COLUMNS.split(", ") == list(TrainingRow.__struct_fields__)

    def test_its_fields_are_the_training_objects_in_its_order(self) -> None:
        assert list(TrainingRow.__struct_fields__) == list(Training.model_fields)


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
        # Timestamps are the canonical text on both backends, as the API sends them.
        assert format_timestamp(parse_timestamp(row.created_at)) == row.created_at
        assert row.created_at.endswith("Z") and row.created_at <= row.updated_at
        assert row.created_at == response.json()["data"]["created_at"]
        assert row.id == response.json()["data"]["id"]

    async def test_encoded_rows_are_the_training_models_bytes(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        """The list is encoded straight from the rows (`encode_trainings`); its bytes, and so
        its ETag, must stay the Training model's, whatever the text holds."""
        agent = await create_agent()
        texts = ["plain", 'quote " back \\ slash', "tab\t new\nline \r \b \f \x01 \x1f \x7f",
                 "é ü 日本語 😀 \u2028 \u2029 </script>", ""]  # fmt: skip
        for i, text in enumerate(texts):
            body = {"subject": f"S{i} {text}"[:255], "instructions": text or "x",
                    "node_id": f"n{i}", "position": i - 2, "pinned": i % 2 == 0}  # fmt: skip
            response = await client.post(
                f"/api/v1/agents/{agent['id']}/trainings", json=body, headers=headers
            )
            assert response.status_code in (200, 201), response.text
        async with app.state.db.transaction() as uow:
            rows = await repository.for_agent(uow, agent["id"])

        assert len(rows) == len(texts)
        assert encode_trainings(rows) == to_json(Training.from_rows(rows))
        listed = await client.get(f"/api/v1/agents/{agent['id']}/trainings", headers=headers)
        assert listed.content == b'{"success":true,"data":' + encode_trainings(rows) + b"}"

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
