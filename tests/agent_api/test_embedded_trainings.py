"""An agent embeds at most its first 100 trainings, so agent GETs and lists stay bounded."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cuecard.agent_api.service import EMBEDDED_TRAININGS

BIG = EMBEDDED_TRAININGS + 2


@pytest.fixture
async def big_agent(
    client: httpx.AsyncClient, headers: dict[str, str], create_agent: Any
) -> dict[str, Any]:
    """BIG trainings; only the last one is active, so readiness depends on one not embedded."""
    agent = await create_agent(name="Big")
    for i in range(BIG):
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/trainings",
            json={
                "node_id": f"n{i:03d}",
                "subject": f"t{i:03d}",
                "instructions": "x",
                "current_status": "active" if i == BIG - 1 else "inactive",
            },
            headers=headers,
        )
        assert response.status_code == 200, response.text
    return agent


def assert_bounded(agent: dict[str, Any]) -> None:
    assert len(agent["trainings"]) == EMBEDDED_TRAININGS
    assert agent["trainings_count"] == BIG
    assert [t["subject"] for t in agent["trainings"]] == [
        f"t{i:03d}" for i in range(EMBEDDED_TRAININGS)
    ]
    assert agent["is_ready_to_publish"] is True  # its one active training is not embedded


class TestEmbeddedTrainings:
    async def test_get_agent_embeds_the_first_100_and_counts_them_all(
        self, client: httpx.AsyncClient, headers: dict[str, str], big_agent: dict[str, Any]
    ) -> None:
        response = await client.get(f"/api/v1/agents/{big_agent['id']}", headers=headers)

        assert response.status_code == 200
        assert_bounded(response.json()["data"])

    async def test_list_agents_bounds_each_agent(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        big_agent: dict[str, Any],
        create_agent: Any,
    ) -> None:
        small = await create_agent(name="Small")
        await client.post(
            f"/api/v1/agents/{small['id']}/trainings",
            json={"subject": "only", "instructions": "x"},
            headers=headers,
        )

        listed = (await client.get("/api/v1/agents", headers=headers)).json()["data"]

        by_name = {a["name"]: a for a in listed}
        assert_bounded(by_name["Big"])
        assert [t["subject"] for t in by_name["Small"]["trainings"]] == ["only"]
        assert by_name["Small"]["trainings_count"] == 1

    async def test_update_agent_answers_the_bounded_agent(
        self, client: httpx.AsyncClient, headers: dict[str, str], big_agent: dict[str, Any]
    ) -> None:
        response = await client.patch(
            f"/api/v1/agents/{big_agent['id']}", json={"label": "Bigger"}, headers=headers
        )

        assert response.status_code == 200
        assert_bounded(response.json()["data"])

    async def test_an_agent_of_exactly_100_embeds_them_all(
        self, client: httpx.AsyncClient, headers: dict[str, str], big_agent: dict[str, Any]
    ) -> None:
        trainings = (
            await client.get(f"/api/v1/agents/{big_agent['id']}/trainings", headers=headers)
        ).json()["data"]
        for training in trainings[EMBEDDED_TRAININGS:]:
            await client.delete(
                f"/api/v1/agents/{big_agent['id']}/trainings/{training['id']}", headers=headers
            )

        agent = (await client.get(f"/api/v1/agents/{big_agent['id']}", headers=headers)).json()

        assert len(agent["data"]["trainings"]) == EMBEDDED_TRAININGS
        assert agent["data"]["trainings_count"] == EMBEDDED_TRAININGS
        assert agent["data"]["is_ready_to_publish"] is False  # the active one was deleted

    async def test_the_trainings_list_still_has_every_training(
        self, client: httpx.AsyncClient, headers: dict[str, str], big_agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{big_agent['id']}/trainings"

        whole = (await client.get(url, headers=headers)).json()["data"]
        last = (await client.get(url + "?page=2&per_page=100", headers=headers)).json()

        assert len(whole) == BIG
        assert [t["subject"] for t in last["data"]] == [f"t{i:03d}" for i in range(100, BIG)]
