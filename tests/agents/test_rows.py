"""`agents.repository.AgentRow`, the typed row every agents read and write returns, against the
one declaration of agent settings (`agents.settings`, which builds `COLUMNS`), the table model,
and as each database really hands it back."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import httpx
import msgspec
import pytest

from cuecard import models
from cuecard.agents import repository
from cuecard.agents.repository import AgentRow
from cuecard.agents.settings import SETTINGS, Setting
from cuecard.core.db import format_timestamp, parse_timestamp, utcnow
from tests.row_types import column_types, field_types

Headers = dict[str, str]


def _row_type_of(setting: Setting) -> tuple[type[Any], bool]:
    # The row holds what the column holds: a StrEnum setting is its value, a str.
    kind = str if issubclass(setting.type, StrEnum) else setting.type
    return kind, setting.nullable


class TestAgentRowDeclaration:
    def test_fields_are_the_column_list_in_its_order(self) -> None:
        assert list(AgentRow.__struct_fields__) == repository.COLUMNS.split(", ")

    @pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
    def test_each_setting_has_its_declared_type_and_nullability(self, setting: Setting) -> None:
        assert field_types(AgentRow)[setting.name] == _row_type_of(setting)

    def test_fields_are_the_agents_table_with_its_types_and_nullability(self) -> None:
        table = models.Agent.__table__

        # Its timestamps stay the database's text, as the Agent object sends them.
        assert field_types(AgentRow) == column_types(table, stamps=str)  # type: ignore[arg-type]


class TestAgentRowsFromTheDatabase:
    async def test_a_scoped_row_is_typed_on_this_backend(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent(conversation_speed=2, enable_recording=True)
        async with app.state.db.transaction() as uow:
            found = await uow.one("SELECT environment_id FROM agents WHERE id = :id", agent)
            assert found is not None
            row = await repository.scoped(uow, found["environment_id"], agent["id"])

        assert row is not None and row.id == agent["id"]
        # SQLite hands booleans back as 0/1 and a whole REAL as an int: the row says what
        # PostgreSQL's does.
        assert row.enable_recording is True and row.is_sandbox is False
        assert row.ask_if_human_present_on_idle is False
        assert type(row.conversation_speed) is float and row.conversation_speed == 2.0
        assert row.language == "en-US" and row.current_status == "draft"
        assert format_timestamp(parse_timestamp(row.created_at)) == row.created_at
        assert row.created_at == agent["created_at"]
        assert row.published_version is None

    async def test_a_written_row_is_typed_and_frozen(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent()
        async with app.state.db.transaction() as uow:
            row = await repository.update_settings_keep_status(
                uow, agent["id"], {"say_goodbye_on_max_duration": False}, utcnow()
            )

        assert row is not None and row.say_goodbye_on_max_duration is False
        assert row.updated_at >= row.created_at  # the text sorts as the moments do
        renamed = msgspec.structs.replace(row, name="Other")
        assert (renamed.name, row.name) == ("Other", agent["name"])
        with pytest.raises(AttributeError):
            row.name = "Changed"  # type: ignore[misc]
