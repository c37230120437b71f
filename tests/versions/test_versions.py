from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory, bearer
from tests.runtime.helpers import add_training, native, publish

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]
Headers = dict[str, str]
Agent = dict[str, Any]


async def trainings(client: httpx.AsyncClient, headers: Headers, agent_id: object) -> list[Any]:
    response = await client.get(f"/api/v1/agents/{agent_id}/trainings", headers=headers)
    data: list[Any] = response.json()["data"]
    return data


async def restore(
    client: httpx.AsyncClient, headers: Headers, agent_id: object, version: object
) -> httpx.Response:
    return await client.post(
        f"/api/v1/agents/{agent_id}/versions/{version}/restore", headers=headers
    )


class TestListVersions:
    async def test_newest_first_with_meta(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], node_id="n", instructions="1")
        for i in range(3):
            await add_training(client, headers, agent["id"], node_id="n", instructions=str(i))
            await publish(client, headers, agent["id"])
        response = await client.get(f"/api/v1/agents/{agent['id']}/versions", headers=headers)
        body = response.json()
        assert [v["version"] for v in body["data"]] == [3, 2, 1]
        assert [v["is_latest"] for v in body["data"]] == [True, False, False]
        assert body["meta"] == {"current_page": 1, "per_page": 20, "total": 3, "last_page": 1}
        page = await client.get(
            f"/api/v1/agents/{agent['id']}/versions?per_page=2&page=2", headers=headers
        )
        assert [v["version"] for v in page.json()["data"]] == [1]
        assert page.json()["meta"]["last_page"] == 2

    async def test_an_agent_never_published_has_none(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await client.get(f"/api/v1/agents/{agent['id']}/versions", headers=headers)
        assert response.json()["data"] == []
        assert response.json()["meta"]["total"] == 0

    async def test_it_names_the_token_that_published(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent, app: Any
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        async with app.state.db.transaction() as uow:
            token = await uow.one("SELECT id FROM api_tokens")
        data = (await client.get(f"/api/v1/agents/{agent['id']}/versions", headers=headers)).json()
        assert data["data"][0]["published_by"] == {"token_id": token["id"], "label": None}

    async def test_a_read_only_token_may_list(
        self, client: httpx.AsyncClient, make_token: TokenFactory, agent: Agent
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        response = await client.get(f"/api/v1/agents/{agent['id']}/versions", headers=reader)
        assert response.status_code == 200

    async def test_a_bad_page_size_is_422(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/versions?per_page=500", headers=headers
        )
        assert response.status_code == 422
        assert response.json()["errors"] == {
            "per_page": ["The per page must be between 1 and 100."]
        }


class TestGetVersion:
    async def test_it_has_the_snapshot_and_the_config_hash_the_runtime_gets(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="Base.", llm_temperature=0.4)
        active = await add_training(client, headers, agent["id"], subject="On")
        off = await add_training(
            client, headers, agent["id"], subject="Off", current_status="inactive"
        )
        await publish(client, headers, agent["id"])
        response = await client.get(f"/api/v1/agents/{agent['id']}/versions/1", headers=headers)
        assert response.status_code == 200
        version = response.json()["data"]
        assert version["version"] == 1
        assert version["published_at"].endswith("Z")
        snapshot = version["snapshot"]
        assert snapshot["agent"]["description"] == "Base."
        assert snapshot["agent"]["llm_temperature"] == 0.4
        assert {(t["id"], t["current_status"]) for t in snapshot["trainings"]} == {
            (active["id"], "active"),
            (off["id"], "inactive"),
        }
        config = await client.get(
            f"/api/v1/agents/{agent['id']}/runtime-config?version=1", headers=headers
        )
        assert config.headers["ETag"] == f'"{version["config_hash"]}"'

    @pytest.mark.parametrize("version", ["2", "0", "abc", "1.5"])
    async def test_a_version_that_does_not_exist_is_404(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent, version: str
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/versions/{version}", headers=headers
        )
        assert response.status_code == 404
        assert response.json()["code"] == "VERSION_NOT_FOUND"

    async def test_numbers_start_at_1_and_only_grow(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"])
        assert await publish(client, headers, agent["id"]) == 1
        await client.post(f"/api/v1/agents/{agent['id']}/unpublish", headers=headers)
        assert await publish(client, headers, agent["id"]) == 2
        assert (await restore(client, headers, agent["id"], 1)).status_code == 200
        assert await publish(client, headers, agent["id"]) == 3

    async def test_another_environment_cannot_see_them(
        self, client: httpx.AsyncClient, headers: Headers, make_token: TokenFactory, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        stranger = bearer(await make_token("other"))
        response = await client.get(f"/api/v1/agents/{agent['id']}/versions/1", headers=stranger)
        assert response.status_code == 404
        assert response.json()["code"] == "AGENT_NOT_FOUND"


class TestRestore:
    async def test_the_draft_becomes_equal_to_the_version(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="v1 prompt", llm_temperature=0.2)
        a = await add_training(client, headers, agent["id"], node_id="a", instructions="v1")
        b = await add_training(client, headers, agent["id"], subject="B", pinned=True, position=3)
        await publish(client, headers, agent["id"])
        v1 = await native(client, headers, agent["id"], 1)

        url = f"/api/v1/agents/{agent['id']}"
        await client.patch(url, json={"description": "v2", "llm_temperature": 1.0}, headers=headers)
        await add_training(client, headers, agent["id"], node_id="a", instructions="changed")
        await client.delete(f"{url}/trainings/{b['id']}", headers=headers)
        c = await add_training(client, headers, agent["id"], subject="C")
        assert (await native(client, headers, agent["id"]))["config_hash"] != v1["config_hash"]

        response = await restore(client, headers, agent["id"], 1)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["message"] == "Agent restored to version 1; publish it to make it live."
        result = body["data"]
        assert result["restored_version"] == 1
        assert result["recreated_training_ids"] == [b["id"]]
        assert result["updated_training_ids"] == [a["id"]]
        assert result["deactivated_training_ids"] == [c["id"]]
        assert result["agent"]["description"] == "v1 prompt"
        assert result["agent"]["llm_temperature"] == 0.2

        draft = await native(client, headers, agent["id"])
        assert draft["config_hash"] == v1["config_hash"]
        assert draft["system_prompt"] == v1["system_prompt"]

    async def test_deleted_trainings_come_back_with_their_ids_and_fields(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        gone = await add_training(
            client, headers, agent["id"], node_id="x", subject="Gone", instructions="Back.",
            position=7, pinned=True,
        )  # fmt: skip
        await publish(client, headers, agent["id"])
        await client.delete(f"/api/v1/agents/{agent['id']}/trainings/{gone['id']}", headers=headers)
        await restore(client, headers, agent["id"], 1)
        (back,) = await trainings(client, headers, agent["id"])
        for field in ("id", "node_id", "subject", "instructions", "position", "pinned"):
            assert back[field] == gone[field], field
        assert back["created_at"] == gone["created_at"]
        assert back["current_status"] == "active"

    async def test_trainings_the_version_lacks_are_set_inactive_never_deleted(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Old")
        await publish(client, headers, agent["id"])
        new = await add_training(client, headers, agent["id"], node_id="n", subject="New")
        await restore(client, headers, agent["id"], 1)
        kept = {t["id"]: t for t in await trainings(client, headers, agent["id"])}
        assert kept[new["id"]]["current_status"] == "inactive"
        assert kept[new["id"]]["instructions"] == new["instructions"]
        assert kept[new["id"]]["node_id"] == "n"

    async def test_a_node_id_taken_since_goes_back_to_the_versions_training(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        first = await add_training(client, headers, agent["id"], node_id="x", subject="First")
        await publish(client, headers, agent["id"])
        await client.delete(
            f"/api/v1/agents/{agent['id']}/trainings/{first['id']}", headers=headers
        )
        second = await add_training(client, headers, agent["id"], node_id="x", subject="Second")

        result = (await restore(client, headers, agent["id"], 1)).json()["data"]
        assert result["detached_training_ids"] == [second["id"]]
        by_id = {t["id"]: t for t in await trainings(client, headers, agent["id"])}
        assert by_id[first["id"]]["node_id"] == "x"
        assert by_id[first["id"]]["current_status"] == "active"
        assert by_id[second["id"]]["node_id"] is None
        assert by_id[second["id"]]["current_status"] == "inactive"
        assert by_id[second["id"]]["subject"] == "Second"

    async def test_it_publishes_nothing(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="One")
        await publish(client, headers, agent["id"])
        await add_training(client, headers, agent["id"], subject="Two")
        await publish(client, headers, agent["id"])
        published = await native(client, headers, agent["id"], "published")

        response = await restore(client, headers, agent["id"], 1)
        assert response.json()["data"]["agent"]["current_status"] == "draft"
        assert response.json()["data"]["agent"]["published_version"] == 2
        assert (await native(client, headers, agent["id"], "published")) == published
        versions = await client.get(f"/api/v1/agents/{agent['id']}/versions", headers=headers)
        assert versions.json()["meta"]["total"] == 2

    async def test_publishing_a_restore_makes_a_new_version_with_the_old_hash(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], node_id="n", instructions="old")
        await publish(client, headers, agent["id"])
        await add_training(client, headers, agent["id"], node_id="n", instructions="new")
        await publish(client, headers, agent["id"])
        await restore(client, headers, agent["id"], 1)
        assert await publish(client, headers, agent["id"]) == 3
        listed = (
            await client.get(f"/api/v1/agents/{agent['id']}/versions", headers=headers)
        ).json()
        hashes = {v["version"]: v["config_hash"] for v in listed["data"]}
        assert hashes[3] == hashes[1] != hashes[2]

    async def test_a_read_only_token_cannot_restore(
        self, client: httpx.AsyncClient, headers: Headers, make_token: TokenFactory, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        reader = bearer(await make_token(read_only=True))
        response = await restore(client, reader, agent["id"], 1)
        assert response.status_code == 403
        assert response.json()["code"] == "UNAUTHORIZED"

    async def test_a_version_that_does_not_exist_is_404_and_changes_nothing(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        before = await native(client, headers, agent["id"])
        response = await restore(client, headers, agent["id"], 1)
        assert response.status_code == 404
        assert response.json()["code"] == "VERSION_NOT_FOUND"
        after = await client.get(
            f"/api/v1/agents/{agent['id']}/runtime-config?version=draft", headers=headers
        )
        assert after.headers["X-Cuecard-Cache"] == "hit"  # the draft revision did not move
        assert after.json() == before


class TestDiff:
    async def test_draft_against_published(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="Base.")
        kept = await add_training(client, headers, agent["id"], subject="Kept")
        changed = await add_training(client, headers, agent["id"], node_id="n", instructions="a")
        removed = await add_training(client, headers, agent["id"], subject="Removed")
        await publish(client, headers, agent["id"])

        url = f"/api/v1/agents/{agent['id']}"
        await client.patch(url, json={"llm_temperature": 0.1}, headers=headers)
        await add_training(
            client, headers, agent["id"], node_id="n", instructions="b", current_status="inactive"
        )
        await client.delete(f"{url}/trainings/{removed['id']}", headers=headers)
        added = await add_training(client, headers, agent["id"], subject="Added")

        response = await client.get(f"{url}/diff", headers=headers)
        assert response.status_code == 200, response.text
        diff = response.json()["data"]
        assert diff["from"]["version"] == 1
        assert diff["to"]["version"] == "draft"
        assert diff["has_changes"] is True
        assert diff["settings"] == [{"field": "llm_temperature", "from": 0.7, "to": 0.1}]
        assert diff["trainings"]["added"] == [
            {"id": added["id"], "node_id": None, "subject": "Added"}
        ]
        assert diff["trainings"]["removed"] == [
            {"id": removed["id"], "node_id": None, "subject": "Removed"}
        ]
        assert diff["trainings"]["changed"] == [
            {
                "id": changed["id"],
                "node_id": "n",
                "subject": "Subject",
                "fields": ["instructions", "current_status"],
            }
        ]
        assert kept["id"] not in str(diff["trainings"])
        old = await native(client, headers, agent["id"], 1)
        new = await native(client, headers, agent["id"], "draft")
        assert diff["tokens"] == {
            "from": old["tokens"]["total"],
            "to": new["tokens"]["total"],
            "delta": new["tokens"]["total"] - old["tokens"]["total"],
        }
        assert (diff["from"]["config_hash"], diff["to"]["config_hash"]) == (
            old["config_hash"],
            new["config_hash"],
        )

    async def test_between_two_versions(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="One")
        await publish(client, headers, agent["id"])
        two = await add_training(client, headers, agent["id"], subject="Two words more")
        await publish(client, headers, agent["id"])
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/diff?from=1&to=2", headers=headers
        )
        diff = response.json()["data"]
        assert [t["id"] for t in diff["trainings"]["added"]] == [two["id"]]
        assert diff["tokens"]["delta"] > 0
        back = await client.get(f"/api/v1/agents/{agent['id']}/diff?from=2&to=1", headers=headers)
        assert back.json()["data"]["tokens"]["delta"] == -diff["tokens"]["delta"]

    async def test_nothing_changed_since_publish(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"])
        await publish(client, headers, agent["id"])
        diff = (await client.get(f"/api/v1/agents/{agent['id']}/diff", headers=headers)).json()
        data = diff["data"]
        assert data["has_changes"] is False
        assert data["tokens"]["delta"] == 0
        assert data["from"]["config_hash"] == data["to"]["config_hash"]

    async def test_against_published_of_an_agent_never_published_is_409(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await client.get(f"/api/v1/agents/{agent['id']}/diff", headers=headers)
        assert response.status_code == 409
        assert response.json()["code"] == "AGENT_NOT_PUBLISHED"

    async def test_bad_sides_are_422_and_a_missing_version_404(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}/diff"
        response = await client.get(f"{url}?from=yesterday&to=now", headers=headers)
        assert response.status_code == 422
        assert response.json()["errors"] == {
            "from": ["The selected from is invalid."],
            "to": ["The selected to is invalid."],
        }
        response = await client.get(f"{url}?from=4", headers=headers)
        assert response.status_code == 404

    async def test_a_read_only_token_may_diff(
        self, client: httpx.AsyncClient, make_token: TokenFactory, agent: Agent
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/diff?from=draft&to=draft", headers=reader
        )
        assert response.status_code == 200
        assert response.json()["data"]["has_changes"] is False
