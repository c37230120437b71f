"""The one declaration of agent settings (`cuecard.agents.settings`) against what users see:
the API's defaults and messages, the runtime config, the table, and the client's mirror."""

from __future__ import annotations

import typing
from enum import StrEnum
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cuecard import models
from cuecard.agent_api import schemas
from cuecard.agents.settings import (
    AGENT_NAME,
    API_SETTINGS,
    REQUIRED,
    RUNTIME_SETTINGS,
    SETTINGS,
    Setting,
)
from cuecard.client import _models as client_models
from cuecard.client._settings import AGENT_SETTINGS, NAME_DEFAULT, REQUIRED_DEFAULT, SettingSpec

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _as_client_spec(setting: Setting) -> SettingSpec:
    enum = issubclass(setting.type, StrEnum)
    defaults = {id(REQUIRED): REQUIRED_DEFAULT, id(AGENT_NAME): NAME_DEFAULT}
    return SettingSpec(
        name=setting.name,
        type="string" if enum else _JSON_TYPES[setting.type],
        default=defaults.get(id(setting.default), setting.default),
        nullable=setting.nullable,
        minimum=setting.ge,
        maximum=setting.le,
        max_length=setting.max_length,
        choices=tuple(member.value for member in setting.type) if enum else None,
    )  # fmt: skip


def _breaking_value(setting: Setting) -> Any:
    """A value the setting's rule refuses."""
    if issubclass(setting.type, StrEnum):
        return "not-a-choice"
    if setting.type is bool:
        return "maybe"
    if setting.max_length is not None:
        return "x" * (setting.max_length + 1)
    assert setting.le is not None, setting.name
    return setting.le + 1


WITH_MESSAGE = [s for s in API_SETTINGS if s.message is not None]


class TestClientMirror:
    def test_the_client_declares_the_settings_the_server_accepts(self) -> None:
        assert list(AGENT_SETTINGS) == [_as_client_spec(s) for s in API_SETTINGS]

    def test_the_client_settings_type_lists_every_setting_but_name(self) -> None:
        keys = set(typing.get_type_hints(client_models.AgentSettings))
        assert keys == {s.name for s in API_SETTINGS} - {"name"} | {"phone_number_ids"}

    def test_the_client_agent_model_reads_every_setting(self) -> None:
        assert {s.name for s in API_SETTINGS} <= set(client_models.Agent.model_fields)


class TestDeclarationAgainstTheServer:
    def test_the_read_model_shows_every_setting_the_api_takes(self) -> None:
        assert {s.name for s in API_SETTINGS} <= set(schemas.Agent.model_fields)

    def test_every_setting_is_a_column_of_agents_with_its_nullability(self) -> None:
        table: sa.Table = models.Agent.__table__  # type: ignore[assignment]
        bookkeeping = {"id", "environment_id", "current_status", "is_sandbox", "draft_revision",
                       "published_version", "created_at", "updated_at"}  # fmt: skip
        assert set(table.columns.keys()) - bookkeeping == {s.name for s in SETTINGS}
        for setting in SETTINGS:
            assert table.columns[setting.name].nullable == setting.nullable, setting.name

    def test_rules_without_a_message_are_only_free_text(self) -> None:
        silent = {s.name for s in API_SETTINGS if s.message is None}
        assert silent == {"description", "initial_message"}


class TestCreateAndUpdate:
    async def test_create_stores_every_declared_default(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.post("/api/v1/agents", json={"name": "Bot"}, headers=headers)

        data = response.json()["data"]
        for setting in API_SETTINGS:
            if setting.default is AGENT_NAME:
                assert data[setting.name] == "Bot", setting.name
            elif setting.default is not REQUIRED:
                assert data[setting.name] == setting.default, setting.name

    @pytest.mark.parametrize("setting", WITH_MESSAGE, ids=lambda s: s.name)
    async def test_create_refuses_a_bad_value_with_the_declared_message(
        self, client: httpx.AsyncClient, headers: dict[str, str], setting: Setting
    ) -> None:
        body = {"name": "Bot", setting.name: _breaking_value(setting)}
        response = await client.post("/api/v1/agents", json=body, headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"] == {setting.name: [setting.message]}

    async def test_update_refuses_every_bad_value_with_the_declared_messages(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        body = {s.name: _breaking_value(s) for s in WITH_MESSAGE}
        response = await client.patch(f"/api/v1/agents/{agent['id']}", json=body, headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"] == {s.name: [s.message] for s in WITH_MESSAGE}

    async def test_the_runtime_gets_exactly_the_runtime_settings(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/runtime-config?version=draft", headers=headers
        )

        assert response.status_code == 200, response.text
        settings = response.json()["settings"]
        shaped = {"voice", "enable_initial_message_cache"}  # runtime/agent_config.py
        assert set(settings) == set(RUNTIME_SETTINGS) | shaped
        assert list(settings)[: len(RUNTIME_SETTINGS)] == list(RUNTIME_SETTINGS)  # in order
        for name in RUNTIME_SETTINGS:
            assert settings[name] == agent[name], name
