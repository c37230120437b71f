"""GET /calls and /agents/{id}/calls as Talkover documents them, the call-detail and the
training-usage extensions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import TokenFactory, bearer

Agent = dict[str, Any]


async def report(
    client: httpx.AsyncClient, runtime: dict[str, str], agent: Agent, n: int, **fields: Any
) -> dict[str, Any]:
    body = {
        "event_id": f"open-{agent['id']}-{n}",
        "sid": f"CA{n:03d}",
        "from": "+15550000000",
        "to": f"+1555111{n:04d}",
        **fields,
    }
    response = await client.post(
        f"/api/v1/agents/{agent['id']}/runtime/calls", headers=runtime, json=body
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


class TestListCalls:
    async def test_filters_pagination_and_the_agent_object(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        create_agent: Any,
        runtime_headers: dict[str, str],
    ) -> None:
        sales = await create_agent(name="Sales", label="Sales Label", direction="outbound")
        support = await create_agent(name="Support")
        for n in range(3):
            await report(client, runtime_headers, sales, n)
        old = (datetime.now(UTC) - timedelta(days=10)).isoformat()
        await report(client, runtime_headers, support, 9, status="ringing", occurred_at=old)

        page = (await client.get("/api/v1/calls", headers=headers, params={"per_page": 2})).json()
        assert page["pagination"] == {
            "current_page": 1,
            "last_page": 2,
            "per_page": 2,
            "total": 4,
            "from": 1,
            "to": 2,
        }
        first = page["data"][0]
        assert first["agent"] == {"id": sales["id"], "name": "Sales", "label": "Sales Label"}
        assert first["direction"] == "outbound"  # the agent's, as the runtime did not say
        assert set(first) >= {
            "id",
            "sid",
            "to",
            "to_formatted",
            "from",
            "from_formatted",
            "is_testing",
            "direction",
            "status",
            "duration",
            "created_at",
            "updated_at",
        }

        async def count(**params: Any) -> int:
            response = await client.get("/api/v1/calls", headers=headers, params=params)
            assert response.status_code == 200, response.text
            return int(response.json()["pagination"]["total"])

        assert await count(agent_id=support["id"]) == 1
        assert await count(agent_id="not-a-uuid") == 0
        assert await count(status="ringing") == 1
        assert await count(direction="inbound") == 1
        assert await count(search="CA001") == 1
        assert await count(search="5551110002") == 1
        today = datetime.now(UTC).date().isoformat()
        assert await count(date_from=today) == 3
        assert await count(date_to=(datetime.now(UTC) - timedelta(days=5)).date().isoformat()) == 1

    async def test_bad_filters_are_422_in_laravel_words(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.get(
            "/api/v1/calls",
            headers=headers,
            params={"status": "nope", "direction": "up", "date_from": "yesterday", "per_page": 101},
        )
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert errors["status"] == ["The selected status is invalid."]
        assert errors["direction"] == ["The selected direction is invalid."]
        assert errors["date_from"] == ["The date from must be a valid date."]
        assert "per_page" in errors

    async def test_another_environments_calls_are_invisible(
        self,
        client: httpx.AsyncClient,
        agent: Agent,
        runtime_headers: dict[str, str],
        make_token: TokenFactory,
    ) -> None:
        await report(client, runtime_headers, agent, 1)
        other = bearer(await make_token("other"))
        listed = await client.get("/api/v1/calls", headers=other)
        assert listed.json()["data"] == [] and listed.json()["pagination"]["from"] is None
        response = await client.get(f"/api/v1/agents/{agent['id']}/calls", headers=other)
        assert response.status_code == 404
        assert response.json()["message"] == "Agent not found"


class TestAgentCalls:
    async def test_agent_calls_have_no_agent_object_and_read_only_may_read(
        self,
        client: httpx.AsyncClient,
        agent: Agent,
        runtime_headers: dict[str, str],
        make_token: TokenFactory,
    ) -> None:
        call = await report(client, runtime_headers, agent, 1)
        reader = bearer(await make_token(read_only=True))
        listed = await client.get(f"/api/v1/agents/{agent['id']}/calls", headers=reader)
        assert listed.status_code == 200
        [item] = listed.json()["data"]
        assert item["id"] == call["id"] and "agent" not in item
        detail = await client.get(
            f"/api/v1/agents/{agent['id']}/calls/{call['id']}", headers=reader
        )
        assert detail.json()["data"]["turns"] == []
        missing = await client.get(f"/api/v1/agents/{agent['id']}/calls/nope", headers=reader)
        assert missing.status_code == 404


class TestTrainingUsage:
    async def test_counts_turns_inline_and_retrieved_over_a_period(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        runtime_headers: dict[str, str],
    ) -> None:
        training = (
            await client.post(
                f"/api/v1/agents/{agent['id']}/trainings",
                headers=headers,
                json={"subject": "S", "instructions": "I"},
            )
        ).json()["data"]
        base = f"/api/v1/agents/{agent['id']}"
        for n in range(2):
            call = await report(client, runtime_headers, agent, n)
            turns = [
                {
                    "event_id": f"t{n}-{i}",
                    "inline_training_ids": [training["id"]],
                    "retrieved_training_ids": [training["id"]] if i == 0 else [],
                }
                for i in range(2)
            ]
            response = await client.post(
                f"{base}/runtime/calls/{call['id']}/turns",
                headers=runtime_headers,
                json={"turns": turns},
            )
            assert response.status_code == 200, response.text

        usage = await client.get(f"{base}/trainings/{training['id']}/usage", headers=headers)
        assert usage.json()["data"] == {
            "training_id": training["id"],
            "date_from": None,
            "date_to": None,
            "turns": 4,
            "inline": 4,
            "retrieved": 2,
            "calls": 2,
        }
        past = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
        earlier = await client.get(
            f"{base}/trainings/{training['id']}/usage",
            headers=headers,
            params={"date_from": past, "date_to": past},
        )
        assert earlier.json()["data"]["turns"] == 0
        unknown = await client.get(
            f"{base}/trainings/00000000-0000-0000-0000-000000000000/usage", headers=headers
        )
        assert unknown.status_code == 404
        backwards = await client.get(
            f"{base}/trainings/{training['id']}/usage",
            headers=headers,
            params={"date_from": "2026-02-02", "date_to": "2026-02-01"},
        )
        assert backwards.json()["errors"] == {
            "date_to": ["The date to must be a date after or equal to date from."]
        }
