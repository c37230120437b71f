from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.actions.helpers import SECRET_HEADER, SECRET_TOKEN, create_action, webhook
from tests.config_helpers import native, publish
from tests.conftest import TokenFactory, bearer
from tests.runtime import pipecat_flow_config as pipecat

Headers = dict[str, str]
URL = "https://hooks.example.com/schedule"
TRANSFER = {
    "node_id": "transfer",
    "name": "Transfer Call",
    "description": "Transfer the call to a human agent",
    "type": "transfer",
    "inputs": [{"name": "transfer_to", "type": "string", "required": True,
                "description": "Transfer to", "value": "+1234567890"}],
    "transfer_to": "+1234567890",
}  # fmt: skip


async def agent_status(client: httpx.AsyncClient, headers: Headers, agent_id: str) -> str:
    got = await client.get(f"/api/v1/agents/{agent_id}", headers=headers)
    status: str = got.json()["data"]["current_status"]
    return status


class TestCreateAction:
    async def test_creates_the_documented_action_object(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/actions", json=webhook(URL), headers=headers
        )

        assert response.status_code == 200
        assert response.json()["message"] == "Agent action created successfully"
        action = response.json()["data"]
        documented = {
            "id", "name", "label", "description", "type", "input_schema", "config",
            "action_trigger", "url", "authorization_url", "current_status", "created_at",
            "updated_at",
        }  # fmt: skip
        assert documented <= set(action)
        assert (action["name"], action["label"], action["type"]) == (
            "Schedule Meeting", "Schedule Meeting", "webhook"
        )  # fmt: skip
        assert [i["name"] for i in action["input_schema"]] == [
            "date",
            "time",
            "attendees",
            "source",
        ]
        assert action["input_schema"][0] == {
            "name": "date", "type": "string", "required": True, "description": "Meeting date"
        }  # fmt: skip
        assert (action["config"], action["action_trigger"]) == (None, None)
        assert action["current_status"] == "active"
        assert action["execution_mode"] == "during_call"
        assert action["custom_headers"] == [{"key": "X-Tenant"}]
        assert action["has_authorization_token"] is True

    async def test_same_node_id_updates_in_place_and_keeps_what_is_left_out(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        first = await create_action(
            client, headers, agent["id"], webhook(URL, current_status="inactive")
        )
        update = {k: v for k, v in webhook(URL).items() if k not in (
            "authorization_token", "custom_headers", "inputs")}  # fmt: skip
        update["name"] = "Book Meeting"

        response = await client.post(
            f"/api/v1/agents/{agent['id']}/actions", json=update, headers=headers
        )

        assert response.json()["message"] == "Agent action updated successfully"
        second = response.json()["data"]
        assert second["id"] == first["id"]
        assert second["name"] == "Book Meeting"
        assert second["current_status"] == "inactive"  # an upsert never re-activates
        assert second["input_schema"] == first["input_schema"]
        assert second["has_authorization_token"] is True
        assert second["custom_headers"] == [{"key": "X-Tenant"}]

    async def test_every_write_sets_the_agent_to_draft(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any
    ) -> None:
        agent = await create_agent(description="Prompt.")
        await publish(client, headers, agent["id"])
        action = await create_action(client, headers, agent["id"], webhook(URL))
        assert await agent_status(client, headers, agent["id"]) == "draft"

        await publish(client, headers, agent["id"])
        deleted = await client.delete(
            f"/api/v1/agents/{agent['id']}/actions/{action['id']}", headers=headers
        )

        assert deleted.status_code == 200
        assert deleted.json() == {"success": True, "message": "Agent action deleted successfully"}
        assert await agent_status(client, headers, agent["id"]) == "draft"

    async def test_every_invalid_field_at_once(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        body = {
            "type": "fax",
            "url": "not a url",
            "authorization_url": "ftp:/nowhere",
            "authorization_scheme": "magic",
            "execution_mode": "sometimes",
            "inputs": [{"type": "string"}, {"name": "2bad"}],
            "transfer_to": "555",
        }
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/actions", json=body, headers=headers
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "node_id": ["The node id field is required."],
            "name": ["The name field is required."],
            "description": ["The description field is required."],
            "type": ["The selected type is invalid."],
            "url": ["The url must be a valid URL."],
            "authorization_url": ["The authorization url must be a valid URL."],
            "authorization_scheme": ["The selected authorization scheme is invalid."],
            "execution_mode": ["The selected execution mode is invalid."],
            "inputs.0.name": ["The inputs.0.name field is required."],
            "inputs.1.name": ["The inputs.1.name field format is invalid."],
            "transfer_to": ["The transfer to field format is invalid."],
        }

    async def test_each_type_requires_what_it_needs(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        base = {"node_id": "n", "name": "A", "description": "D"}
        expected = {
            "webhook": {"url": ["The url field is required when type is webhook."]},
            "transfer": {
                "transfer_to": ["The transfer to field is required when type is transfer."]
            },
            "hold": {"hold_duration": ["The hold duration field is required when type is hold."]},
        }
        for kind, errors in expected.items():
            response = await client.post(
                f"/api/v1/agents/{agent['id']}/actions",
                json={**base, "type": kind},
                headers=headers,
            )
            assert response.json()["errors"] == errors, kind
        post_call = {**base, "type": "hold", "hold_duration": 30, "execution_mode": "post_call"}
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/actions", json=post_call, headers=headers
        )
        assert response.json()["errors"] == {
            "execution_mode": ["The selected execution mode is invalid."]
        }
        external = {**base, "type": "external", "execution_mode": "post_call",
                    "integration": {"id": "crm"}}  # fmt: skip
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/actions", json=external, headers=headers
        )
        assert response.status_code == 200
        assert response.json()["data"]["integration"] == {"id": "crm"}

    async def test_unknown_integration_and_duplicate_inputs(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        inputs = [{"name": "a"}, {"name": "a"}, {"name": "n", "type": "integer", "value": "x"}]
        body = webhook(URL, integration={"id": "fax-machine"}, inputs=inputs)
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/actions", json=body, headers=headers
        )

        assert response.json()["errors"] == {
            "integration.id": ["The selected integration id is invalid."],
            "inputs.1.name": ["The inputs.1.name field has a duplicate value."],
            "inputs.2.value": ["The inputs.2.value field must be an integer."],
        }

    async def test_read_only_token_gets_the_documented_403s(
        self, client: httpx.AsyncClient, agent: dict[str, Any], make_token: TokenFactory
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        created = await client.post(
            f"/api/v1/agents/{agent['id']}/actions", json=webhook(URL), headers=reader
        )
        deleted = await client.delete(
            f"/api/v1/agents/{agent['id']}/actions/8d3b0a4e-0000-4000-8000-000000000000",
            headers=reader,
        )

        assert (
            created.json()["message"] == "You are not authorized to create actions for this agent."
        )
        assert (
            deleted.json()["message"] == "You are not authorized to delete actions for this agent."
        )
        assert created.status_code == deleted.status_code == 403


class TestListAndDeleteActions:
    async def test_lists_active_and_inactive_oldest_first(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        empty = await client.get(f"/api/v1/agents/{agent['id']}/actions", headers=headers)
        await create_action(client, headers, agent["id"], webhook(URL))
        await create_action(
            client, headers, agent["id"], {**TRANSFER, "current_status": "inactive"}
        )

        response = await client.get(f"/api/v1/agents/{agent['id']}/actions", headers=headers)

        assert empty.json() == {"success": True, "data": []}
        assert [(a["type"], a["current_status"]) for a in response.json()["data"]] == [
            ("webhook", "active"), ("transfer", "inactive")
        ]  # fmt: skip
        agent_view = await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)
        assert [a["id"] for a in agent_view.json()["data"]["actions"]] == [
            a["id"] for a in response.json()["data"]
        ]

    async def test_unknown_action_and_another_environments_agent_are_404(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any],
        make_token: TokenFactory,
    ) -> None:  # fmt: skip
        action = await create_action(client, headers, agent["id"], webhook(URL))
        other = bearer(await make_token("other"))

        missing = await client.delete(
            f"/api/v1/agents/{agent['id']}/actions/8d3b0a4e-0000-4000-8000-000000000000",
            headers=headers,
        )
        foreign = await client.delete(
            f"/api/v1/agents/{agent['id']}/actions/{action['id']}", headers=other
        )

        assert (missing.status_code, missing.json()["message"]) == (404, "Action not found")
        assert missing.json()["code"] == "ACTION_NOT_FOUND"
        assert (foreign.status_code, foreign.json()["code"]) == (404, "AGENT_NOT_FOUND")
        assert (
            len(
                (await client.get(f"/api/v1/agents/{agent['id']}/actions", headers=headers)).json()[
                    "data"
                ]
            )
            == 1
        )


class TestListActionIntegrations:
    async def test_the_catalog(self, client: httpx.AsyncClient, headers: Headers) -> None:
        response = await client.get("/api/v1/action-integrations", headers=headers)

        assert response.status_code == 200
        items = response.json()["data"]
        assert {i["identifier"] for i in items} == {"calendar", "email-calendar", "crm"}
        assert set(items[0]) == {
            "identifier",
            "display_name",
            "description",
            "category",
            "icon_url",
        }


class TestActionsAtRunTime:
    async def test_active_actions_are_tools_in_every_format(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any
    ) -> None:
        agent = await create_agent(description="Prompt.")
        action = await create_action(client, headers, agent["id"], webhook(URL))
        await create_action(client, headers, agent["id"], TRANSFER)
        await create_action(client, headers, agent["id"], {
            **TRANSFER, "node_id": "off", "name": "Off", "current_status": "inactive"})  # fmt: skip

        openai = await native(client, headers, agent["id"], fmt="openai-messages")
        flows = await native(client, headers, agent["id"], fmt="pipecat-flows")
        config = await native(client, headers, agent["id"])

        assert [t["function"]["name"] for t in openai["tools"]] == [
            "schedule_meeting",
            "transfer_call",
        ]
        schedule = openai["tools"][0]
        assert schedule["type"] == "function"
        assert schedule["function"]["description"] == "Schedule a meeting with the customer"
        assert schedule["function"]["parameters"] == {
            "type": "object",
            "properties": {
                "date": {"type": "string", "description": "Meeting date"},
                "time": {"type": "string", "description": "Meeting time"},
                "attendees": {"type": "integer", "description": "How many come"},
            },
            "required": ["date", "time"],
        }  # the fixed `source` is Cuecard's to send, not the LLM's to fill
        assert openai["actions"]["schedule_meeting"]["invoke_endpoint"] == (
            f"/api/v1/agents/{agent['id']}/runtime/actions/{action['id']}/invoke"
        )
        assert (
            openai["actions"]["schedule_meeting"]["speak_on_send"]
            == "One moment while I book that."
        )
        assert openai["actions"]["transfer_call"]["transfer_to"] == "+1234567890"
        assert config["tools"] == openai["tools"] and config["actions"] == openai["actions"]
        parsed = pipecat.FlowConfig.model_validate(flows)
        assert [f.name for f in parsed.global_functions] == ["schedule_meeting", "transfer_call"]
        # pipecat's FlowConfig names a direct function the bot supplies; its schema is the tool's
        assert flows["global_functions"][0] == {"name": "schedule_meeting"}

    async def test_no_secret_reaches_a_config_version_diff_list_or_log(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any,
        caplog: pytest.LogCaptureFixture,
    ) -> None:  # fmt: skip
        caplog.set_level(logging.DEBUG)
        agent = await create_agent(description="Prompt.")
        await create_action(client, headers, agent["id"], webhook(URL))
        await publish(client, headers, agent["id"])
        await create_action(client, headers, agent["id"], webhook(URL, name="Renamed"))
        base = f"/api/v1/agents/{agent['id']}"

        seen = []
        for path, params in [
            (f"{base}/actions", {}), (base, {}), ("/api/v1/agents", {}),
            (f"{base}/versions/1", {}), (f"{base}/versions", {}), (f"{base}/diff", {}),
            (f"{base}/runtime-config", {"version": "draft"}),
            (f"{base}/runtime-config", {"version": "1", "format": "openai-messages"}),
            (f"{base}/runtime-config", {"version": "1", "format": "pipecat-flows"}),
        ]:  # fmt: skip
            response = await client.get(path, params=params, headers=headers)
            assert response.status_code == 200, path
            seen.append(response.text)
        restored = await client.post(f"{base}/versions/1/restore", headers=headers)
        seen.append(restored.text)

        for text in [*seen, caplog.text]:
            assert SECRET_TOKEN not in text and SECRET_HEADER not in text
        diff = (await client.get(f"{base}/diff", headers=headers)).json()["data"]
        assert diff["actions"]["changed"] == []  # restore put the name back
        async with app.state.db.transaction() as uow:
            rows = await uow.all("SELECT * FROM actions")
            versions = await uow.all("SELECT snapshot FROM agent_versions")
        stored = repr(rows) + repr(versions)
        assert SECRET_TOKEN not in stored and SECRET_HEADER not in stored  # encrypted at rest
        assert rows[0]["authorization_secret"].startswith("v1.")
