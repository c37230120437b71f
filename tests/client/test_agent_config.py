"""The client's agent-configuration resources: one scenario through both twins (AsyncClient
in-process, Client over real HTTP), plus a client-side mirror check."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cuecard.actions.schemas import Action as ServerAction
from cuecard.client import Action, AsyncClient, Client, ValidationError
from cuecard.client._config_models import Action as ClientAction
from tests.client.live import LiveServer
from tests.config_helpers import KNOWLEDGE, RACHEL_ULTRA, register_number

VOICE = {"voice_id": RACHEL_ULTRA, "conversation_speed": 1.2, "who_speaks_first": "agent",
         "similarity": 0.7, "stability": 0.7}  # fmt: skip
ACTION = {"node_id": "book", "name": "Book", "description": "Books a slot.", "type": "webhook",
          "url": "https://hooks.example.com/book", "authorization_scheme": "bearer",
          "authorization_token": "secret-1"}  # fmt: skip


def scenario_checks(results: dict[str, Any]) -> None:
    assert results["knowledge"].description == KNOWLEDGE["description"]
    assert results["voice"].voice["template"]["id"] == RACHEL_ULTRA
    assert results["calling"].direction == "inbound"
    assert [n["id"] for n in results["calling"].phone_numbers] == [results["number"]]
    assert results["eligibility"].eligible is False
    assert isinstance(results["action"], Action)
    assert results["action"].has_authorization_token is True
    assert [a.id for a in results["actions"]] == [results["action"].id]
    assert {i.identifier for i in results["integrations"]} >= {"crm"}
    assert any(g.display_name == "Rachel" for g in results["voices"])
    assert [n.id for n in results["numbers"]] == [results["number"]]
    assert results["after_delete"] == []


class TestBothTwins:
    async def test_async_client_in_process(self, app: Any, token: str) -> None:
        number = await register_number(app, "+12125550170")
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient(
            "http://t", token, http_client=httpx.AsyncClient(transport=transport)
        ) as c:
            agent = await c.agents.create("Bot")
            results = {
                "number": number,
                "knowledge": await c.agent_config.update_knowledge(agent.id, **KNOWLEDGE),
                "voice": await c.agent_config.update_voice(agent.id, **VOICE),
                "calling": await c.agent_config.update_calling(agent.id, "inbound", [number]),
                "eligibility": await c.agent_config.optimized_costs_eligibility(agent.id),
                "action": await c.actions.upsert(agent.id, **ACTION),
                "actions": await c.actions.list(agent.id),
                "integrations": await c.actions.integrations(),
                "voices": await c.agent_config.voice_templates(quality_tier="ultra"),
                "numbers": await c.agent_config.phone_numbers(),
            }
            await c.actions.delete(agent.id, results["action"].id)
            results["after_delete"] = await c.actions.list(agent.id)
            with pytest.raises(ValidationError) as refused:
                await c.agent_config.update_advanced_settings(
                    agent.id, enable_initial_message_cache=True
                )
        assert refused.value.code == "OPTIMIZED_COSTS_NOT_ELIGIBLE"
        scenario_checks(results)

    async def test_sync_client_over_http(self, server: LiveServer, token: str, app: Any) -> None:
        number = await register_number(app, "+12125550171")
        with Client(server.url, token) as c:
            agent = c.agents.create("Bot")
            results = {
                "number": number,
                "knowledge": c.agent_config.update_knowledge(agent.id, **KNOWLEDGE),
                "voice": c.agent_config.update_voice(agent.id, **VOICE),
                "calling": c.agent_config.update_calling(agent.id, "inbound", [number]),
                "eligibility": c.agent_config.optimized_costs_eligibility(agent.id),
                "action": c.actions.upsert(agent.id, **ACTION),
                "actions": c.actions.list(agent.id),
                "integrations": c.actions.integrations(),
                "voices": c.agent_config.voice_templates(quality_tier="ultra"),
                "numbers": c.agent_config.phone_numbers(),
            }
            c.actions.delete(agent.id, results["action"].id)
            results["after_delete"] = c.actions.list(agent.id)
        scenario_checks(results)


def test_the_client_mirrors_every_field_of_the_server_action() -> None:
    assert set(ServerAction.model_fields) - {"agent_id"} <= set(ClientAction.model_fields)
