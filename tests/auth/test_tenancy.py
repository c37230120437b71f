"""Environment B can neither read nor write A's agents and trainings: it sees 404s."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TokenFactory, bearer


class TestTenancy:
    async def test_environment_b_sees_nothing_of_environment_a(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any],
        make_token: TokenFactory,
    ) -> None:  # fmt: skip
        base = f"/api/v1/agents/{agent['id']}"
        training = (
            await client.post(f"{base}/trainings", headers=headers,
                              json={"node_id": "n", "subject": "A's", "instructions": "x"})
        ).json()["data"]  # fmt: skip
        b = bearer(await make_token("environment-b"))

        attempts = [
            await client.get(base, headers=b),
            await client.get(f"{base}/trainings", headers=b),
            await client.post(f"{base}/trainings", headers=b,
                              json={"node_id": "n", "subject": "B's", "instructions": "y"}),
            await client.delete(f"{base}/trainings/{training['id']}", headers=b),
            await client.patch(base, headers=b, json={"name": "hijacked"}),
            await client.post(f"{base}/publish", headers=b),
            await client.post(f"{base}/unpublish", headers=b),
            await client.delete(base, headers=b),
        ]  # fmt: skip

        assert [r.status_code for r in attempts] == [404] * len(attempts)
        assert all(r.json()["message"] == "Agent not found" for r in attempts)
        mine = (await client.get(base, headers=headers)).json()["data"]
        assert mine["name"] == agent["name"]
        assert mine["current_status"] == "draft"
        assert [(t["subject"], t["id"]) for t in mine["trainings"]] == [("A's", training["id"])]
