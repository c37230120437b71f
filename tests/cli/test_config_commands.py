"""`cuecard agents knowledge|voice|calling|...` and `cuecard actions ...` against a real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cuecard.client import Client
from tests.cli.conftest import Cuecard
from tests.client.live import LiveServer
from tests.config_helpers import RACHEL_ULTRA, register_number


@pytest.fixture
def api(server: LiveServer, token: str) -> Any:
    with Client(server.url, token) as client:
        yield client


class TestAgentConfigCommands:
    async def test_knowledge_voice_calling_and_eligibility(
        self, remote: Cuecard, api: Client, app: Any
    ) -> None:
        agent_id = api.agents.create("Bot").id
        number = await register_number(app, "+12125550180")

        knowledge = remote(
            "agents",
            "knowledge",
            agent_id,
            "--description",
            "Answers for Acme.",
            "--temperature",
            "0.3",
        )
        voice = remote(
            "agents",
            "voice",
            agent_id,
            "--voice-id",
            RACHEL_ULTRA,
            "--speed",
            "1.4",
            "--stability",
            "0.6",
            "--similarity",
            "0.7",
        )
        calling = remote(
            "agents", "calling", agent_id, "--direction", "inbound", "--phone-number", number
        )
        eligibility = remote("agents", "eligibility", agent_id, "--json")
        templates = remote("agents", "voice-templates", "--quality-tier", "ultra")
        numbers = remote("agents", "numbers")
        refused = remote("agents", "advanced", agent_id, "--initial-message-cache")

        for result in (knowledge, voice, calling, eligibility, templates, numbers):
            assert result.exit_code == 0, result.output
        agent = api.agents.get(agent_id)
        assert (agent.description, agent.llm_temperature) == ("Answers for Acme.", 0.3)
        assert agent.conversation_speed == 1.4
        assert agent.voice is not None and agent.voice["template"]["id"] == RACHEL_ULTRA
        assert [n["id"] for n in agent.phone_numbers] == [number]
        assert "+12125550180" in calling.stdout
        assert json.loads(eligibility.stdout)["eligible"] is False
        assert "21m00Tcm4TlvDq8ikWAM" in templates.stdout
        assert f"{number}\t+12125550180\tboth\t{agent_id}" in numbers.stdout
        assert refused.exit_code == 1
        assert "call volume threshold" in refused.stderr
        shown = remote("agents", "get", agent_id)
        assert "voice: Rachel Voice" in shown.stdout
        assert "calling: inbound, +12125550180" in shown.stdout


class TestActionCommands:
    async def test_upsert_list_integrations_delete(
        self, remote: Cuecard, api: Client, tmp_path: Path
    ) -> None:
        agent_id = api.agents.create("Bot").id
        file = tmp_path / "book.yaml"
        file.write_text(
            "node_id: book\nname: Book\ndescription: Books.\ntype: webhook\n"
            "url: https://hooks.example.com/book\nauthorization_scheme: bearer\n"
        )

        created = remote(
            "actions",
            "upsert",
            "--agent",
            agent_id,
            "--file",
            str(file),
            "--header",
            "X-Tenant=acme",
            env={"CUECARD_ACTION_AUTHORIZATION_TOKEN": "tok-1"},
        )
        listed = remote("actions", "list", "--agent", agent_id)
        integrations = remote("actions", "integrations")

        assert created.exit_code == 0, created.output
        action_id = created.stdout.strip()
        [action] = api.actions.list(agent_id)
        assert action.id == action_id
        assert action.has_authorization_token is True
        assert action.custom_headers == [{"key": "X-Tenant"}]
        assert f"{action_id}\tbook\twebhook\tactive\tBook" in listed.stdout
        assert "crm" in integrations.stdout
        deleted = remote("actions", "delete", action_id, "--agent", agent_id)
        assert deleted.exit_code == 0
        assert api.actions.list(agent_id) == []

    async def test_invoke_refuses_loopback_by_default(
        self, remote: Cuecard, api: Client, tmp_path: Path
    ) -> None:
        agent_id = api.agents.create("Bot").id
        file = tmp_path / "a.json"
        file.write_text(
            json.dumps(
                {
                    "node_id": "a",
                    "name": "A",
                    "description": "D",
                    "type": "webhook",
                    "url": "http://127.0.0.1:9/x",
                }
            )
        )
        action_id = remote(
            "actions", "upsert", "--agent", agent_id, "--file", str(file)
        ).stdout.strip()

        result = remote("actions", "invoke", action_id, "--agent", agent_id, "--arguments", "{}")

        assert result.exit_code == 1
        assert "private or loopback" in result.stderr
