from __future__ import annotations

import httpx


class TestCreateTraining:
    async def test_smoke(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, object]
    ) -> None:
        r = await client.post(
            f"/api/v1/agents/{agent['id']}/trainings",
            json={"subject": "S", "instructions": "I"},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["message"] == "Agent training created successfully"
