from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.conftest import TokenFactory, bearer

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]


async def versions(app: Any, agent_id: str) -> list[dict[str, Any]]:
    async with app.state.db.transaction() as uow:
        return await uow.all(
            "SELECT version, snapshot, config_hash FROM agent_versions "
            "WHERE agent_id = :id ORDER BY version",
            {"id": agent_id},
        )


class TestPublishAgent:
    async def test_publish_freezes_version_1(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any], app: Any
    ) -> None:
        await client.post(f"/api/v1/agents/{agent['id']}/trainings", headers=headers,
                          json={"node_id": "n", "subject": "S", "instructions": "I"})  # fmt: skip

        response = await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)

        assert response.status_code == 200
        body = response.json()
        assert body["message"] == "Agent published successfully"
        assert body["data"]["current_status"] == "published"
        assert body["data"]["is_ready_to_publish"] is True
        assert body["data"]["version"] == 1
        assert set(body["data"]) == {
            "id", "name", "current_status", "is_ready_to_publish", "updated_at", "version"
        }  # fmt: skip
        [stored] = await versions(app, agent["id"])
        snapshot = json.loads(stored["snapshot"])
        assert [t["subject"] for t in snapshot["trainings"]] == ["S"]
        assert snapshot["agent"]["name"] == agent["name"]

    async def test_versions_only_grow_and_old_snapshots_never_change(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any], app: Any
    ) -> None:
        trainings = f"/api/v1/agents/{agent['id']}/trainings"
        await client.post(trainings, headers=headers,
                          json={"node_id": "n", "subject": "v1", "instructions": "I"})  # fmt: skip
        await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)
        first = (await versions(app, agent["id"]))[0]

        await client.post(trainings, headers=headers,
                          json={"node_id": "n", "subject": "v2", "instructions": "I"})  # fmt: skip
        second = await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)

        assert second.json()["data"]["version"] == 2
        stored = await versions(app, agent["id"])
        assert stored[0] == first
        assert [t["subject"] for t in json.loads(stored[1]["snapshot"])["trainings"]] == ["v2"]

    async def test_publishing_a_published_agent_makes_no_new_version(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: CreateAgent,
        app: Any,
    ) -> None:  # fmt: skip
        agent = await create_agent(description="Prompt.")
        await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)
        again = await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)

        assert again.json()["data"]["version"] == 1
        assert len(await versions(app, agent["id"])) == 1

    async def test_agent_without_instructions_is_not_ready(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any], app: Any
    ) -> None:
        await client.post(f"/api/v1/agents/{agent['id']}/trainings", headers=headers,
                          json={"subject": "S", "instructions": "I",
                                "current_status": "inactive"})  # fmt: skip

        response = await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)

        assert response.status_code == 422
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert "agent" in response.json()["errors"]
        got = (await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)).json()
        assert got["data"]["current_status"] == "draft"
        assert got["data"]["published_version"] is None
        assert await versions(app, agent["id"]) == []

    async def test_read_only_token_cannot_publish(
        self, client: httpx.AsyncClient, create_agent: CreateAgent, make_token: TokenFactory
    ) -> None:
        agent = await create_agent(description="Prompt.")
        reader = bearer(await make_token(read_only=True))

        response = await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=reader)

        assert response.status_code == 403


class TestUnpublishAgent:
    async def test_unpublish_returns_to_draft_and_keeps_versions(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: CreateAgent,
        app: Any,
    ) -> None:  # fmt: skip
        agent = await create_agent(description="Prompt.")
        await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)

        response = await client.post(f"/api/v1/agents/{agent['id']}/unpublish", headers=headers)

        assert response.status_code == 200
        assert response.json()["message"] == "Agent unpublished successfully"
        assert response.json()["data"]["current_status"] == "draft"
        assert response.json()["data"]["version"] == 1
        assert len(await versions(app, agent["id"])) == 1

    async def test_unpublishing_a_draft_is_harmless(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.post(f"/api/v1/agents/{agent['id']}/unpublish", headers=headers)

        assert response.status_code == 200
        assert response.json()["data"]["current_status"] == "draft"
        assert response.json()["data"]["version"] is None
