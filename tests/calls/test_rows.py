"""The typed rows `calls.repository` returns (`CallRow` and its listed, event, turn, turn-training
and usage rows) against the table models they read, and as each database really hands them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from cuecard import models
from cuecard.calls import repository
from cuecard.calls.repository import (
    CallEventRow,
    CallRow,
    CallTurnRow,
    ListedCallRow,
    TurnTrainingRow,
    UsageRow,
)
from cuecard.core.db import format_timestamp
from tests.row_types import column_types, field_types

Headers = dict[str, str]
Agent = dict[str, Any]


def _columns(model: Any) -> dict[str, tuple[type[Any], bool]]:
    return column_types(model.__table__)


def _nullable(kind: tuple[type[Any], bool]) -> tuple[type[Any], bool]:
    return kind[0], True


class TestCallRowDeclarations:
    def test_a_call_is_the_calls_table_with_its_types_and_nullability(self) -> None:
        assert field_types(CallRow) == _columns(models.Call)

    def test_every_call_read_selects_the_fields_in_the_row_types_order(self) -> None:
        assert repository.COLUMNS.split(", ") == [f"c.{n}" for n in CallRow.__struct_fields__]

    def test_a_listed_call_is_a_call_plus_its_agents_name_and_label(self) -> None:
        agents = _columns(models.Agent)

        assert field_types(ListedCallRow) == {
            **_columns(models.Call),
            "agent_name": agents["name"],
            "agent_label": agents["label"],
        }
        assert ListedCallRow.__struct_config__.frozen

    @pytest.mark.parametrize(
        ("row_type", "model", "left_out"),
        [
            (CallEventRow, models.CallEvent, {"id", "call_id", "seq", "created_at"}),
            (CallTurnRow, models.CallTurn, {"call_id", "created_at"}),
        ],
        ids=["event", "turn"],
    )
    def test_an_event_and_a_turn_are_their_tables_less_what_the_detail_does_not_show(
        self, row_type: type[msgspec.Struct], model: Any, left_out: set[str]
    ) -> None:
        table = _columns(model)

        # Left out: the call id the query filters on, when the report arrived, and (events) the
        # id and order key it sorts by.
        assert field_types(row_type) == {n: t for n, t in table.items() if n not in left_out}

    def test_a_turn_training_is_its_row_and_what_the_left_join_finds_of_the_training(
        self,
    ) -> None:
        used, trainings = _columns(models.CallTurnTraining), _columns(models.Training)

        # A deleted training leaves its usage behind: every trainings column may be None.
        assert field_types(TurnTrainingRow) == {
            "turn_id": used["turn_id"],
            "training_id": used["training_id"],
            "source": used["source"],
            "subject": _nullable(trainings["subject"]),
            "node_id": _nullable(trainings["node_id"]),
            "found": _nullable(trainings["id"]),
        }

    def test_usage_is_four_counts(self) -> None:
        assert field_types(UsageRow) == dict.fromkeys(
            ("turns", "inline", "retrieved", "calls"), (int, False)
        )


class TestCallRowsFromTheDatabase:
    async def test_a_reported_call_reads_back_typed_on_this_backend(
        self,
        app: Any,
        client: httpx.AsyncClient,
        headers: Headers,
        runtime_headers: Headers,
        create_agent: Any,
    ) -> None:
        agent: Agent = await create_agent(name="Rows", label="Rows Label")
        base = f"/api/v1/agents/{agent['id']}"
        kept, dropped = [
            (
                await client.post(
                    f"{base}/trainings",
                    headers=headers,
                    json={"node_id": node, "subject": node.title(), "instructions": "I"},
                )
            ).json()["data"]
            for node in ("kept", "dropped")
        ]
        opened = await client.post(
            f"{base}/runtime/calls",
            headers=runtime_headers,
            json={"event_id": "open-rows", "from": "+15550001111", "is_testing": True,
                  "version": 3, "context": {"crm_id": 7}},
        )  # fmt: skip
        assert opened.status_code == 201, opened.text
        call_id = opened.json()["data"]["id"]
        runtime = f"{base}/runtime/calls/{call_id}"
        events = await client.post(
            f"{runtime}/events",
            headers=runtime_headers,
            json={"events": [{"event_id": "e1", "event": "event_action", "data": {"n": 1}}]},
        )
        turns = await client.post(
            f"{runtime}/turns",
            headers=runtime_headers,
            json={"turns": [{"event_id": "t1", "user_text": "Hi", "latency_ms": 120,
                             "inline_training_ids": [kept["id"]],
                             "retrieved_training_ids": [dropped["id"]]}]},
        )  # fmt: skip
        closed = await client.post(
            f"{runtime}/close", headers=runtime_headers, json={"event_id": "c1", "duration": 42}
        )
        deleted = await client.delete(f"{base}/trainings/{dropped['id']}", headers=headers)
        for response in (events, turns, closed, deleted):
            assert response.status_code == 200, response.text

        async with app.state.db.transaction() as uow:
            call = await repository.get(uow, agent["id"], call_id)
            listed, total = await repository.page(
                uow, call.environment_id if call else "", agent_id=agent["id"], status=None,
                direction=None, search=None, since=None, before=None, limit=10, offset=0,
            )  # fmt: skip
            (event,) = await repository.events(uow, call_id)
            (turn,) = await repository.turns(uow, call_id)
            used = await repository.turn_trainings(uow, call_id)
            usage = await repository.usage(uow, agent["id"], kept["id"], None, None)

        assert call is not None and call.id == call_id
        # SQLite hands the boolean back as 1: the row says True, as PostgreSQL's does.
        assert call.is_testing is True
        assert (call.status, call.duration, call.version) == ("completed", 42, 3)
        assert call.direction == "inbound" and call.to_number is None
        assert call.reported_by_token_id is not None
        for moment in (call.created_at, call.updated_at, call.ended_at):
            assert isinstance(moment, datetime) and moment.tzinfo is not None
        # JSON columns stay the stored text; the service decodes them.
        assert call.context is not None and json.loads(call.context) == {"crm_id": 7}

        assert total == 1 and [type(row) for row in listed] == [ListedCallRow]
        assert (listed[0].agent_name, listed[0].agent_label) == ("Rows", "Rows Label")
        assert msgspec.structs.asdict(listed[0]) == {
            **msgspec.structs.asdict(call),
            "agent_name": "Rows",
            "agent_label": "Rows Label",
        }

        assert json.loads(event.data) == {"n": 1} and event.event == "event_action"
        assert event.occurred_at.tzinfo is not None
        assert (turn.seq, turn.user_text, turn.reply_text, turn.latency_ms) == (1, "Hi", None, 120)
        assert turn.occurred_at.tzinfo is not None

        by_source = {row.source: row for row in used}
        assert all(row.turn_id == turn.id for row in used)
        assert (by_source["inline"].subject, by_source["inline"].found) == ("Kept", kept["id"])
        assert by_source["retrieved"].training_id == dropped["id"]
        assert (by_source["retrieved"].subject, by_source["retrieved"].found) == (None, None)

        # Counts are ints on both databases (PostgreSQL's COUNT and SUM are bigints).
        assert usage == UsageRow(turns=1, inline=1, retrieved=0, calls=1)
        assert all(type(n) is int for n in msgspec.structs.astuple(usage))

    async def test_the_api_reads_the_typed_rows_as_it_did_the_dicts(
        self,
        app: Any,
        client: httpx.AsyncClient,
        headers: Headers,
        runtime_headers: Headers,
        agent: Agent,
    ) -> None:
        base = f"/api/v1/agents/{agent['id']}"
        opened = await client.post(
            f"{base}/runtime/calls",
            headers=runtime_headers,
            json={"event_id": "open-api", "to": "+15557654321", "context": {"a": [1]}},
        )
        call_id = opened.json()["data"]["id"]
        await client.post(
            f"{base}/runtime/calls/{call_id}/events",
            headers=runtime_headers,
            json={"events": [{"event_id": "e1", "event": "event_phone_call_connected"}]},
        )

        detail = (await client.get(f"{base}/calls/{call_id}", headers=headers)).json()["data"]
        listed = (await client.get("/api/v1/calls", headers=headers)).json()["data"]
        async with app.state.db.transaction() as uow:
            row = await repository.get(uow, agent["id"], call_id)

        # The connected event moved the call to answered (a replaced copy of the frozen row).
        assert detail["status"] == "answered" and detail["is_testing"] is False
        assert detail["to_formatted"] == "(555) 765-4321" and detail["context"] == {"a": [1]}
        assert detail["events"][0]["data"] == {} and detail["ended_at"] is None
        assert row is not None and row.status == "answered"
        assert detail["created_at"] == format_timestamp(row.created_at)
        assert detail["updated_at"] == format_timestamp(row.updated_at)
        assert listed[0]["agent"]["id"] == agent["id"] and listed[0]["status"] == "answered"

    async def test_a_row_is_frozen(
        self, app: Any, client: httpx.AsyncClient, runtime_headers: Headers, agent: Agent
    ) -> None:
        opened = await client.post(
            f"/api/v1/agents/{agent['id']}/runtime/calls",
            headers=runtime_headers,
            json={"event_id": "open-frozen"},
        )
        async with app.state.db.transaction() as uow:
            row = await repository.get(uow, agent["id"], opened.json()["data"]["id"])

        assert row is not None
        changed = msgspec.structs.replace(row, status="answered", updated_at=datetime.now(UTC))
        assert (changed.status, row.status) == ("answered", "initiated")
        with pytest.raises(AttributeError):
            row.status = "failed"  # type: ignore[misc]
