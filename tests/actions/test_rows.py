"""`actions.repository.ActionRow` (and `ActionWithSecrets`, the invoke path's) against the table
model, and as each database really hands them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from cuecard import models
from cuecard.actions import repository
from cuecard.actions.repository import ActionRow, ActionWithSecrets
from tests.actions.helpers import SECRET_TOKEN, create_action, webhook
from tests.row_types import column_types, field_types

Headers = dict[str, str]
ACTIONS = column_types(models.Action.__table__)  # type: ignore[arg-type]
SECRETS = ("authorization_secret", "header_secrets")
# Computed by the SELECT (`authorization_secret IS NOT NULL`): never NULL.
HAS_TOKEN = {"has_authorization_token": (bool, False)}


class TestActionRowDeclaration:
    def test_fields_are_the_actions_table_but_its_secrets_and_say_whether_a_token_is_stored(
        self,
    ) -> None:
        public = {name: kind for name, kind in ACTIONS.items() if name not in SECRETS}

        assert field_types(ActionRow) == {**public, **HAS_TOKEN}

    def test_the_invoke_row_adds_the_secrets(self) -> None:
        assert field_types(ActionWithSecrets) == {**ACTIONS, **HAS_TOKEN}

    def test_every_read_selects_the_fields_in_the_row_types_order(self) -> None:
        selected = [column.split(" AS ")[-1] for column in repository.COLUMNS.split(", ")]

        assert selected == list(ActionRow.__struct_fields__)


class TestActionRowsFromTheDatabase:
    async def test_a_listed_row_is_typed_on_this_backend(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], app: Any
    ) -> None:
        with_token = await create_action(
            client, headers, agent["id"], webhook("https://hooks.example.com/a")
        )
        hold = {"node_id": "hold", "name": "Hold", "description": "Hold the line.",
                "type": "hold", "hold_duration": 30}  # fmt: skip
        without = await create_action(client, headers, agent["id"], hold)
        async with app.state.db.transaction() as uow:
            first, second = await repository.for_agent(uow, agent["id"])
            secret = await repository.with_secrets(uow, agent["id"], with_token["id"])

        assert (first.id, second.id) == (with_token["id"], without["id"])
        # SQLite hands the computed boolean back as 1/0: the row says True/False, as
        # PostgreSQL's does.
        assert first.has_authorization_token is True and second.has_authorization_token is False
        assert second.hold_duration == 30 and second.url is None
        assert (first.authorization_scheme, second.authorization_scheme) == ("bearer", "none")
        # The JSON columns stay text, as `Action.from_row` decodes them.
        names = [i["name"] for i in json.loads(first.input_schema)]
        assert names == ["date", "time", "attendees", "source"]
        assert json.loads(first.custom_header_keys) == ["X-Tenant"]
        assert isinstance(first.created_at, datetime) and first.created_at.tzinfo is not None
        assert first.created_at.astimezone(UTC) <= first.updated_at.astimezone(UTC)
        assert type(secret) is ActionWithSecrets and secret.has_authorization_token is True
        assert secret.authorization_secret and SECRET_TOKEN not in secret.authorization_secret
        assert secret.header_secrets is not None

    async def test_an_upserted_row_is_frozen(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], app: Any
    ) -> None:
        await create_action(client, headers, agent["id"], webhook("https://hooks.example.com/a"))
        async with app.state.db.transaction() as uow:
            row = await repository.upsert(
                uow,
                {"id": "0" * 8 + "-0000-4000-8000-" + "0" * 12, "agent_id": agent["id"],
                 "node_id": "schedule", "name": "Renamed", "description": "D", "type": "webhook",
                 "input_schema": None, "integration": None, "url": None,
                 "authorization_url": None, "authorization_scheme": None,
                 "authorization_header": None, "custom_header_keys": None,
                 "authorization_secret": None, "header_secrets": None, "speak_on_send": None,
                 "speak_on_receive": None, "execution_mode": None, "hold_duration": None,
                 "transfer_to": None, "current_status": None, "now": datetime.now(UTC)},
            )  # fmt: skip

        # The same node_id: updated in place, keeping what was left out (the token too).
        assert row.name == "Renamed" and row.url == "https://hooks.example.com/a"
        assert row.has_authorization_token is True and row.current_status == "active"
        changed = msgspec.structs.replace(row, name="Other")
        assert (changed.name, row.name) == ("Other", "Renamed")
        with pytest.raises(AttributeError):
            row.name = "Changed"  # type: ignore[misc]
