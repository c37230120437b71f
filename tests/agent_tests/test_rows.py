"""`agent_tests.repository.AgentTestRow` and `AgentTestRunRow`, the typed rows every read of
`agent_tests` and `agent_test_runs` returns, against the table models, and as each database
really hands them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cuecard import models
from cuecard.agent_tests import repository
from cuecard.agent_tests.repository import AgentTestRow, AgentTestRunRow
from tests.row_types import column_types, field_types
from tests.runtime.helpers import add_training

Headers = dict[str, str]


class TestAgentTestRowDeclarations:
    @pytest.mark.parametrize(
        ("row_type", "model"),
        [(AgentTestRow, models.AgentTest), (AgentTestRunRow, models.AgentTestRun)],
        ids=["agent_tests", "agent_test_runs"],
    )
    def test_fields_are_the_table_with_its_types_and_nullability(
        self, row_type: type[Any], model: Any
    ) -> None:
        assert field_types(row_type) == column_types(model.__table__)

    def test_every_read_selects_the_fields_in_the_row_types_order(self) -> None:
        assert repository.TEST_COLUMNS.split(", ") == list(AgentTestRow.__struct_fields__)
        assert repository.RUN_COLUMNS.split(", ") == list(AgentTestRunRow.__struct_fields__)


class TestAgentTestRowsFromTheDatabase:
    async def test_stored_tests_and_runs_are_typed_on_this_backend(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent()
        training = await add_training(
            client, headers, agent["id"], subject="Refunds", instructions="Refunds take 5 days."
        )
        base = f"/api/v1/agents/{agent['id']}"
        test = {
            "conversation": [{"role": "user", "content": "can I get a refund"}],
            "expect": {"reach": [training["id"]]},
        }
        stored = await client.put(f"{base}/tests/refund", json=test, headers=headers)
        assert stored.status_code == 200, stored.text
        passing = await client.post(f"{base}/test-runs", json={}, headers=headers)
        failing = await client.post(
            f"{base}/test-runs",
            json={"tests": [{**test, "name": "nothing", "expect": {"reach": ["nowhere"]}}]},
            headers=headers,
        )
        assert passing.json()["data"]["passed"] is True, passing.text
        assert failing.json()["data"]["passed"] is False, failing.text
        async with app.state.db.transaction() as uow:
            (row,) = await repository.for_agent(uow, agent["id"])
            last = await repository.last_draft_run(uow, agent["id"])
            first = await repository.get_run(uow, agent["id"], passing.json()["data"]["id"])

        assert (row.id, row.name) == (stored.json()["data"]["id"], "refund")
        assert isinstance(row.created_at, datetime) and row.created_at.tzinfo is not None
        assert row.created_at.astimezone(UTC) <= row.updated_at.astimezone(UTC)
        # The definition stays the stored JSON text; `definition()` makes it the model.
        assert json.loads(row.definition)["expect"]["reach"] == [training["id"]]
        assert repository.definition(row).name == "refund"
        # SQLite hands the boolean back as 0/1: the rows say False and True, as PostgreSQL's do.
        assert last is not None and last.id == failing.json()["data"]["id"]
        assert last.passed is False and (last.total, last.failed) == (1, 1)
        assert first is not None and first.passed is True and first.failed == 0
        assert first.version == "draft" and type(first.draft_revision) is int
        assert first.draft_revision == passing.json()["data"]["draft_revision"]
        assert json.loads(first.result)["id"] == first.id
        assert first.created_at.tzinfo is not None
