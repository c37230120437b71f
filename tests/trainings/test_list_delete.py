from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TokenFactory, bearer


def url(agent: dict[str, Any]) -> str:
    return f"/api/v1/agents/{agent['id']}/trainings"


async def add(client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any],
              subject: str, **fields: Any) -> dict[str, Any]:  # fmt: skip
    body = {"subject": subject, "instructions": f"About {subject}.", **fields}
    response = await client.post(url(agent), json=body, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


class TestListTrainings:
    async def test_empty_agent_lists_empty_array(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.get(url(agent), headers=headers)

        assert response.status_code == 200
        assert response.json() == {"success": True, "data": []}

    async def test_lists_active_and_inactive_oldest_first(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        for subject, status in [("one", "active"), ("two", "inactive"), ("three", "active")]:
            await add(client, headers, agent, subject, current_status=status)

        data = (await client.get(url(agent), headers=headers)).json()["data"]

        assert [t["subject"] for t in data] == ["one", "two", "three"]
        assert [t["current_status"] for t in data] == ["active", "inactive", "active"]

    async def test_filters_by_status(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await add(client, headers, agent, "on")
        await add(client, headers, agent, "off", current_status="inactive")

        response = await client.get(url(agent) + "?current_status=inactive", headers=headers)

        assert [t["subject"] for t in response.json()["data"]] == ["off"]

    async def test_invalid_status_filter_is_422(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.get(url(agent) + "?current_status=paused", headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "current_status": ["The selected current status is invalid."]
        }

    async def test_read_only_token_can_list(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any],
        make_token: TokenFactory,
    ) -> None:  # fmt: skip
        await add(client, headers, agent, "visible")
        reader = bearer(await make_token(read_only=True))

        response = await client.get(url(agent), headers=reader)

        assert [t["subject"] for t in response.json()["data"]] == ["visible"]

    async def test_other_environment_cannot_list(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any],
        make_token: TokenFactory,
    ) -> None:  # fmt: skip
        await add(client, headers, agent, "secret")
        outsider = bearer(await make_token("other"))

        response = await client.get(url(agent), headers=outsider)

        assert response.status_code == 404
        assert "secret" not in response.text


class TestDeleteTraining:
    async def test_deletes_and_sets_agent_to_draft(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        keep = await add(client, headers, agent, "keep")
        gone = await add(client, headers, agent, "gone")
        await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)

        response = await client.delete(f"{url(agent)}/{gone['id']}", headers=headers)

        assert response.status_code == 200
        assert response.json() == {
            "success": True,
            "message": "Agent training deleted successfully",
        }
        got = (await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)).json()
        assert got["data"]["current_status"] == "draft"
        assert [t["id"] for t in got["data"]["trainings"]] == [keep["id"]]

    async def test_training_of_another_agent_is_404(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any],
        create_agent: Any,
    ) -> None:  # fmt: skip
        other = await create_agent(name="Other")
        theirs = await add(client, headers, other, "theirs")

        response = await client.delete(f"{url(agent)}/{theirs['id']}", headers=headers)

        assert response.status_code == 404
        assert response.json() == {
            "success": False,
            "message": "Training not found",
            "code": "TRAINING_NOT_FOUND",
        }
        still = (await client.get(url(other), headers=headers)).json()["data"]
        assert [t["id"] for t in still] == [theirs["id"]]

    async def test_deleting_twice_is_404(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        training = await add(client, headers, agent, "once")
        await client.delete(f"{url(agent)}/{training['id']}", headers=headers)

        again = await client.delete(f"{url(agent)}/{training['id']}", headers=headers)

        assert again.status_code == 404

    async def test_read_only_token_gets_delete_message(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any],
        make_token: TokenFactory,
    ) -> None:  # fmt: skip
        training = await add(client, headers, agent, "stays")
        reader = bearer(await make_token(read_only=True))

        response = await client.delete(f"{url(agent)}/{training['id']}", headers=reader)

        assert response.status_code == 403
        assert response.json()["message"] == (
            "You are not authorized to delete training for this agent."
        )
        assert len((await client.get(url(agent), headers=headers)).json()["data"]) == 1

    async def test_other_environment_cannot_delete(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any],
        make_token: TokenFactory,
    ) -> None:  # fmt: skip
        training = await add(client, headers, agent, "mine")
        outsider = bearer(await make_token("other"))

        response = await client.delete(f"{url(agent)}/{training['id']}", headers=outsider)

        assert response.status_code == 404
        assert response.json()["message"] == "Agent not found"
        assert len((await client.get(url(agent), headers=headers)).json()["data"]) == 1
