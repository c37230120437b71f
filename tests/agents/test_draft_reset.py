"""Which writes set an agent back to draft, and that they say so in their names
(`agents.repository.update_settings_and_reset_draft` / `update_settings_keep_status`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cuecard.agents import repository
from cuecard.core.db import utcnow
from tests.config_helpers import publish

Headers = dict[str, str]


async def _published(client: httpx.AsyncClient, headers: Headers, create_agent: Any) -> Any:
    agent = await create_agent(description="You help callers.")
    await publish(client, headers, agent["id"])
    return agent


async def _status(client: httpx.AsyncClient, headers: Headers, agent_id: str) -> str:
    response = await client.get(f"/api/v1/agents/{agent_id}", headers=headers)
    status: str = response.json()["data"]["current_status"]
    return status


class TestUpdateAgentDraftReset:
    async def test_a_changed_setting_sets_a_published_agent_to_draft(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any
    ) -> None:
        agent = await _published(client, headers, create_agent)

        response = await client.patch(
            f"/api/v1/agents/{agent['id']}", json={"idle_time_seconds": 42}, headers=headers
        )

        assert response.json()["data"]["current_status"] == "draft"

    async def test_a_patch_without_fields_leaves_a_published_agent_published(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any
    ) -> None:
        agent = await _published(client, headers, create_agent)

        response = await client.patch(f"/api/v1/agents/{agent['id']}", json={}, headers=headers)

        assert response.status_code == 200
        assert response.json()["data"]["current_status"] == "published"
        assert await _status(client, headers, agent["id"]) == "published"


class TestRepositoryNames:
    async def test_keep_status_writes_the_setting_and_a_new_revision_only(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await _published(client, headers, create_agent)
        async with app.state.db.transaction() as uow:
            before = await uow.one(
                "SELECT draft_revision FROM agents WHERE id = :id", {"id": agent["id"]}
            )
            row = await repository.update_settings_keep_status(
                uow, agent["id"], {"llm_temperature": 0.3}, utcnow()
            )
        assert before is not None and row is not None

        assert row.current_status == "published"
        assert row.llm_temperature == 0.3
        assert row.draft_revision == before["draft_revision"] + 1

    async def test_reset_draft_says_so_and_does_it(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await _published(client, headers, create_agent)
        async with app.state.db.transaction() as uow:
            row = await repository.update_settings_and_reset_draft(uow, agent["id"], {}, utcnow())

        assert row is not None and row.current_status == "draft"
        assert await _status(client, headers, agent["id"]) == "draft"

    async def test_only_declared_settings_can_be_written(self, agent: Any, app: Any) -> None:
        async with app.state.db.transaction() as uow:
            with pytest.raises(ValueError, match="current_status"):
                await repository.update_settings_keep_status(
                    uow, agent["id"], {"current_status": "published"}, utcnow()
                )
