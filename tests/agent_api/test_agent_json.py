"""GET agent writes the Agent object from its rows (`agent_json`); its bytes must stay pydantic's
for the same agent, since a write's If-Match compares GET's ETag with the model's."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic_core import to_json

from cuecard.agent_api import service
from cuecard.agent_api.service import EMBEDDED_TRAININGS
from cuecard.agents import repository as agents_repository
from tests.actions.helpers import create_action, webhook
from tests.config_helpers import RACHEL_ULTRA, publish, register_number

Headers = dict[str, str]
TRICKY = 'Quote " backslash \\ tab \t control \x01 line\u2028sep é ü 日本 🙂'


async def get_bytes(client: httpx.AsyncClient, headers: Headers, agent_id: str) -> bytes:
    response = await client.get(f"/api/v1/agents/{agent_id}", headers=headers)
    assert response.status_code == 200, response.text
    prefix, suffix = b'{"success":true,"data":', b"}"
    assert response.content.startswith(prefix) and response.content.endswith(suffix)
    return response.content[len(prefix) : -len(suffix)]


async def model_bytes(app: Any, agent_id: str) -> bytes:
    async with app.state.db.transaction() as uow:
        found = await uow.one("SELECT environment_id FROM agents WHERE id = :id", {"id": agent_id})
        assert found is not None
        row = await agents_repository.scoped(uow, found["environment_id"], agent_id)
        assert row is not None
        return to_json(await service.get_agent(uow, row), by_alias=True)


async def add_trainings(
    client: httpx.AsyncClient, headers: Headers, agent_id: str, count: int
) -> None:
    for i in range(count):
        response = await client.post(
            f"/api/v1/agents/{agent_id}/trainings",
            json={
                "node_id": f"n{i:03d}",
                "subject": f"{TRICKY} {i}",
                "instructions": f"{TRICKY}\nline two",
                "current_status": "inactive" if i % 3 else "active",
                "position": i - 5,
                "pinned": i % 2 == 0,
            },
            headers=headers,
        )
        assert response.status_code == 200, response.text


class TestAgentJson:
    async def test_a_plain_agent_is_the_models_bytes(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent(name=TRICKY[:200], description=None)

        assert await get_bytes(client, headers, agent["id"]) == await model_bytes(app, agent["id"])

    async def test_an_agent_with_everything_it_embeds_is_the_models_bytes(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent(
            name="Full", description=TRICKY, conversation_speed=2.9, llm_temperature=0.1,
            initial_message=TRICKY, idle_time_seconds=17,
        )  # fmt: skip
        agent_id = agent["id"]
        await add_trainings(client, headers, agent_id, EMBEDDED_TRAININGS + 2)
        voice = await client.put(
            f"/api/v1/agents/{agent_id}/voice",
            json={"voice_id": RACHEL_ULTRA, "conversation_speed": 1.3, "who_speaks_first": "agent",
                  "similarity": 0.75, "stability": 0.8, "ambient_background": "office"},
            headers=headers,
        )  # fmt: skip
        assert voice.status_code == 200, voice.text
        await create_action(client, headers, agent_id, webhook("https://hooks.example.com/a"))
        await publish(client, headers, agent_id)
        number = await register_number(app, "+1 (212) 555-0101")
        calling = await client.put(
            f"/api/v1/agents/{agent_id}/calling",
            json={"direction": "inbound", "phone_number_ids": [number]},
            headers=headers,
        )
        assert calling.status_code == 200, calling.text
        await publish(client, headers, agent_id)

        got = await get_bytes(client, headers, agent_id)

        assert got == await model_bytes(app, agent_id)
        data = httpx.Response(200, content=got).json()
        assert data["voice"]["id"] == RACHEL_ULTRA
        assert len(data["actions"]) == 1 and len(data["phone_numbers"]) == 1
        assert len(data["trainings"]) == EMBEDDED_TRAININGS
        assert data["trainings_count"] == EMBEDDED_TRAININGS + 2
        assert data["published_version"] == 2

    async def test_gets_etag_lets_a_write_through(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any
    ) -> None:
        agent = await create_agent(name="Etag", description=TRICKY, conversation_speed=0.1)
        await add_trainings(client, headers, agent["id"], 3)
        url = f"/api/v1/agents/{agent['id']}"
        etag = (await client.get(url, headers=headers)).headers["etag"]

        response = await client.patch(
            url, json={"label": "new"}, headers={**headers, "If-Match": etag}
        )

        assert response.status_code == 200, response.text
