from __future__ import annotations

from typing import Any

import httpx

from tests.config_helpers import KNOWLEDGE, native, publish
from tests.conftest import TokenFactory, bearer

Headers = dict[str, str]


class TestUpdateAgentKnowledge:
    async def test_sets_the_fields_and_sets_the_agent_to_draft(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        await client.put(f"/api/v1/agents/{agent['id']}/knowledge", json=KNOWLEDGE, headers=headers)
        await publish(client, headers, agent["id"])

        changed = {**KNOWLEDGE, "description": "You sell Acme's new product line."}
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/knowledge", json=changed, headers=headers
        )

        assert response.status_code == 200
        body = response.json()
        assert body["message"] == "Agent knowledge updated successfully"
        for field, value in changed.items():
            assert body["data"][field] == value, field
        assert body["data"]["current_status"] == "draft"
        assert body["data"]["is_ready_to_publish"] is True
        draft = await native(client, headers, agent["id"])
        assert draft["system_prompt"] == "You sell Acme's new product line."
        assert draft["settings"]["llm_temperature"] == 0.8
        assert draft["settings"]["initial_message_delay"] == 2

    async def test_every_invalid_field_is_reported_with_the_documented_wording(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        body = {
            "interrupt_sensitivity": "extreme",
            "llm_temperature": 3,
            "initial_message_delay": 61,
            "initial_message": "Hey",
            "ask_if_human_present_on_idle": "maybe",
        }
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/knowledge", json=body, headers=headers
        )

        assert response.status_code == 422
        assert response.json()["message"] == "The given data was invalid."
        assert response.json()["errors"] == {
            "description": ["The description field is required."],
            "interrupt_sensitivity": ["The selected interrupt sensitivity is invalid."],
            "llm_temperature": ["The llm temperature must be between 0 and 2."],
            "initial_message_delay": ["The initial message delay must be between 0 and 60."],
            "initial_message": ["The initial message field must be at least 5 characters."],
            "ask_if_human_present_on_idle": [
                "The ask if human present on idle field must be true or false."
            ],
        }

    async def test_description_needs_five_characters_and_the_message_at_most_255(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        body = {**KNOWLEDGE, "description": "Hi", "initial_message": "x" * 256}
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/knowledge", json=body, headers=headers
        )

        assert response.json()["errors"] == {
            "description": ["The description field must be at least 5 characters."],
            "initial_message": [
                "The initial message field must not be greater than 255 characters."
            ],
        }

    async def test_left_out_initial_message_keeps_the_stored_one(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}/knowledge"
        await client.put(url, json=KNOWLEDGE, headers=headers)
        without = {k: v for k, v in KNOWLEDGE.items() if k != "initial_message"}

        response = await client.put(url, json=without, headers=headers)

        assert response.json()["data"]["initial_message"] == KNOWLEDGE["initial_message"]

    async def test_unknown_agent_read_only_token_and_no_token(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any],
        make_token: TokenFactory,
    ) -> None:  # fmt: skip
        missing = "8d3b0a4e-0000-4000-8000-000000000000"
        other = bearer(await make_token("other"))
        reader = bearer(await make_token(read_only=True))

        gone = await client.put(
            f"/api/v1/agents/{missing}/knowledge", json=KNOWLEDGE, headers=headers
        )
        elsewhere = await client.put(
            f"/api/v1/agents/{agent['id']}/knowledge", json=KNOWLEDGE, headers=other
        )
        refused = await client.put(
            f"/api/v1/agents/{agent['id']}/knowledge", json={}, headers=reader
        )
        anonymous = await client.put(f"/api/v1/agents/{agent['id']}/knowledge", json=KNOWLEDGE)

        assert (gone.status_code, gone.json()["message"]) == (404, "Agent not found")
        assert gone.json()["code"] == "AGENT_NOT_FOUND"
        assert elsewhere.status_code == 404
        assert refused.status_code == 403
        assert refused.json()["message"] == "You are not authorized to perform this action."
        assert (anonymous.status_code, anonymous.json()["message"]) == (401, "Unauthenticated.")
