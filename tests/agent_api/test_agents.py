from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory, bearer

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]

FULL_AGENT = {
    "name": "SupportBot",
    "label": "Support Bot",
    "description": "You answer support calls for Acme.",
    "language": "pt-BR",
    "initial_message": "Hello, how can I help?",
    "interrupt_sensitivity": "high",
    "endpointing_sensitivity": "medium",
    "ivr_navigation_mode": "standard",
    "conversation_speed": 1.5,
    "initial_message_delay": 2,
    "ask_if_human_present_on_idle": True,
    "idle_time_seconds": 30,
    "max_idle_check_count": 4,
    "max_call_duration_seconds": 600,
    "say_goodbye_on_max_duration": False,
    "user_inactivity_timeout_seconds": 60,
    "initial_idle_time_seconds": 10,
    "initial_max_idle_check_count": 0,
    "llm_temperature": 0.2,
    "enable_recording": True,
    "direction": "outbound",
    "who_speaks_first": "user",
    "phone_number_ids": [],
}


class TestCreateAgent:
    async def test_only_name_is_required_and_the_rest_defaults(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.post("/api/v1/agents", json={"name": "Bot"}, headers=headers)

        assert response.status_code == 201
        body = response.json()
        assert body["message"] == "Agent created successfully"
        data = body["data"]
        assert data["label"] == "Bot"
        assert data["language"] == "en-US"
        assert data["interrupt_sensitivity"] == "medium"
        assert data["direction"] == "inbound"
        assert data["who_speaks_first"] == "agent"
        assert data["conversation_speed"] == 1.0
        assert data["current_status"] == "draft"
        assert data["voice"] is None
        assert data["trainings"] == [] and data["actions"] == [] and data["phone_numbers"] == []
        assert data["is_sandbox"] is False
        assert data["is_ready_to_publish"] is False
        assert data["training_budget_tokens"] == 2000

    async def test_every_documented_field_round_trips(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        created = (await client.post("/api/v1/agents", json=FULL_AGENT, headers=headers)).json()
        fetched = await client.get(f"/api/v1/agents/{created['data']['id']}", headers=headers)

        for data in (created["data"], fetched.json()["data"]):
            for field, value in FULL_AGENT.items():
                if field != "phone_number_ids":
                    assert data[field] == value, field
            assert data["is_ready_to_publish"] is True  # it has a description

    async def test_validation_uses_the_documented_messages(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        body = {
            "language": "xx-XX",
            "interrupt_sensitivity": "extreme",
            "direction": "sideways",
            "conversation_speed": 9,
            "initial_message_delay": 61,
            "llm_temperature": 3,
            "idle_time_seconds": 0,
            "who_speaks_first": "nobody",
            "enable_recording": "maybe",
            "phone_number_ids": ["8d3b0a4e-0000-4000-8000-000000000000"],
        }
        response = await client.post("/api/v1/agents", json=body, headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "name": ["The name field is required."],
            "language": ["The selected language is invalid."],
            "interrupt_sensitivity": ["The selected interrupt sensitivity is invalid."],
            "direction": ["The selected direction is invalid."],
            "conversation_speed": ["The conversation speed must be between 0.1 and 3.0."],
            "initial_message_delay": ["The initial message delay must be between 0 and 60."],
            "llm_temperature": ["The llm temperature must be between 0 and 2."],
            "idle_time_seconds": ["The idle time seconds must be between 1 and 300."],
            "who_speaks_first": ["The selected who speaks first is invalid."],
            "enable_recording": ["The enable recording field must be true or false."],
            "phone_number_ids": ["The selected phone number ids are invalid."],
        }

    async def test_name_longer_than_255_is_rejected(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.post("/api/v1/agents", json={"name": "n" * 256}, headers=headers)

        assert response.json()["errors"] == {
            "name": ["The name field must not be greater than 255 characters."]
        }

    async def test_read_only_token_cannot_create(
        self, client: httpx.AsyncClient, make_token: TokenFactory
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        response = await client.post("/api/v1/agents", json={"name": "Bot"}, headers=reader)

        assert response.status_code == 403
        assert response.json()["message"] == "You are not authorized to perform this action."


class TestListAgents:
    async def test_paginates_newest_first_with_meta(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: CreateAgent
    ) -> None:
        for i in range(5):
            await create_agent(name=f"bot-{i}")

        first = (await client.get("/api/v1/agents?per_page=2", headers=headers)).json()
        last = (await client.get("/api/v1/agents?per_page=2&page=3", headers=headers)).json()
        beyond = (await client.get("/api/v1/agents?per_page=2&page=4", headers=headers)).json()

        assert [a["name"] for a in first["data"]] == ["bot-4", "bot-3"]
        assert first["meta"] == {"current_page": 1, "per_page": 2, "total": 5, "last_page": 3}
        assert [a["name"] for a in last["data"]] == ["bot-0"]
        assert beyond["data"] == []

    async def test_default_page_size_is_20(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        body = (await client.get("/api/v1/agents", headers=headers)).json()

        assert body == {
            "success": True,
            "data": [],
            "meta": {"current_page": 1, "per_page": 20, "total": 0, "last_page": 1},
        }

    async def test_filters_by_status_direction_and_search(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: CreateAgent
    ) -> None:
        sales = await create_agent(name="Sales", label="Outbound Sales", direction="outbound")
        await create_agent(name="Support", description="Helps.")
        await client.post(f"/api/v1/agents/{sales['id']}/trainings", headers=headers,
                          json={"subject": "Pitch", "instructions": "Be brief."})  # fmt: skip
        await client.post(f"/api/v1/agents/{sales['id']}/publish", headers=headers)

        async def names(query: str) -> list[str]:
            body = (await client.get(f"/api/v1/agents?{query}", headers=headers)).json()
            return [a["name"] for a in body["data"]]

        assert await names("status=published") == ["Sales"]
        assert await names("status=draft") == ["Support"]
        assert await names("direction=outbound") == ["Sales"]
        assert await names("search=SALES") == ["Sales"]  # label or name, any case
        assert await names("search=%25") == []  # LIKE wildcards are matched literally

    async def test_list_items_embed_their_trainings(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await client.post(f"/api/v1/agents/{agent['id']}/trainings", headers=headers,
                          json={"subject": "S", "instructions": "I"})  # fmt: skip

        body = (await client.get("/api/v1/agents", headers=headers)).json()

        assert [t["subject"] for t in body["data"][0]["trainings"]] == ["S"]

    @pytest.mark.parametrize(
        ("query", "errors"),
        [
            ("per_page=0", {"per_page": ["The per page must be between 1 and 100."]}),
            ("per_page=101", {"per_page": ["The per page must be between 1 and 100."]}),
            ("per_page=abc", {"per_page": ["The per page field must be an integer."]}),
            ("page=0", {"page": ["The page field must be at least 1."]}),
            ("status=archived", {"status": ["The selected status is invalid."]}),
            ("direction=up", {"direction": ["The selected direction is invalid."]}),
        ],
    )
    async def test_invalid_query_is_422(
        self, client: httpx.AsyncClient, headers: dict[str, str], query: str,
        errors: dict[str, list[str]],
    ) -> None:  # fmt: skip
        response = await client.get(f"/api/v1/agents?{query}", headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"] == errors

    async def test_environments_see_only_their_agents(
        self, client: httpx.AsyncClient, create_agent: CreateAgent, make_token: TokenFactory
    ) -> None:
        await create_agent(name="Mine")
        outsider = bearer(await make_token("other"))

        body = (await client.get("/api/v1/agents", headers=outsider)).json()

        assert body["data"] == [] and body["meta"]["total"] == 0


class TestGetAgent:
    async def test_embeds_active_and_inactive_trainings(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        for subject, status in [("a", "active"), ("b", "inactive")]:
            await client.post(f"/api/v1/agents/{agent['id']}/trainings", headers=headers,
                              json={"subject": subject, "instructions": "x",
                                    "current_status": status})  # fmt: skip

        data = (await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)).json()["data"]

        assert [(t["subject"], t["current_status"]) for t in data["trainings"]] == [
            ("a", "active"),
            ("b", "inactive"),
        ]
        assert data["is_ready_to_publish"] is True

    async def test_uppercase_id_finds_the_agent(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.get(f"/api/v1/agents/{agent['id'].upper()}", headers=headers)

        assert response.status_code == 200

    @pytest.mark.parametrize("agent_id", ["00000000-0000-4000-8000-000000000000", "nope", "%20"])
    async def test_unknown_or_malformed_id_is_404(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent_id: str
    ) -> None:
        response = await client.get(f"/api/v1/agents/{agent_id}", headers=headers)

        assert response.status_code == 404
        assert response.json() == {
            "success": False,
            "message": "Agent not found",
            "code": "AGENT_NOT_FOUND",
        }

    async def test_other_environment_gets_404(
        self, client: httpx.AsyncClient, agent: dict[str, Any], make_token: TokenFactory
    ) -> None:
        outsider = bearer(await make_token("other"))

        response = await client.get(f"/api/v1/agents/{agent['id']}", headers=outsider)

        assert response.status_code == 404


class TestUpdateAgent:
    async def test_changes_only_sent_fields_and_resets_to_draft(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="Prompt.")
        await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)

        response = await client.patch(
            f"/api/v1/agents/{agent['id']}",
            json={"llm_temperature": 1.2, "training_budget_tokens": 500},
            headers=headers,
        )

        data = response.json()["data"]
        assert response.status_code == 200
        assert data["llm_temperature"] == 1.2 and data["training_budget_tokens"] == 500
        assert data["description"] == "Prompt." and data["name"] == agent["name"]
        assert data["current_status"] == "draft"

    async def test_invalid_update_changes_nothing(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.patch(
            f"/api/v1/agents/{agent['id']}",
            json={"llm_temperature": 5, "name": "Renamed"},
            headers=headers,
        )

        assert response.status_code == 422
        got = (await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)).json()
        assert got["data"]["name"] == agent["name"]


class TestDeleteAgent:
    async def test_deletes_agent_and_its_trainings(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await client.post(f"/api/v1/agents/{agent['id']}/trainings", headers=headers,
                          json={"subject": "S", "instructions": "I"})  # fmt: skip

        response = await client.delete(f"/api/v1/agents/{agent['id']}", headers=headers)

        assert response.json() == {"success": True, "message": "Agent deleted successfully"}
        gone = await client.get(f"/api/v1/agents/{agent['id']}/trainings", headers=headers)
        assert gone.status_code == 404

    async def test_published_agent_must_be_unpublished_first(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: CreateAgent
    ) -> None:
        agent = await create_agent(description="Prompt.")
        await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)

        refused = await client.delete(f"/api/v1/agents/{agent['id']}", headers=headers)
        await client.post(f"/api/v1/agents/{agent['id']}/unpublish", headers=headers)
        deleted = await client.delete(f"/api/v1/agents/{agent['id']}", headers=headers)

        assert refused.status_code == 409
        assert refused.json()["code"] == "AGENT_IS_PUBLISHED"
        assert deleted.status_code == 200

    async def test_other_environment_cannot_delete(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any],
        make_token: TokenFactory,
    ) -> None:  # fmt: skip
        outsider = bearer(await make_token("other"))

        response = await client.delete(f"/api/v1/agents/{agent['id']}", headers=outsider)

        assert response.status_code == 404
        assert (await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)).is_success
