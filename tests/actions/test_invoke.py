"""The invoke endpoint against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import gzip
import logging
from typing import Any

import httpx
import pytest

from tests.actions.conftest import Receiver
from tests.actions.helpers import SECRET_HEADER, SECRET_TOKEN, create_action, webhook

Headers = dict[str, str]
Opened = tuple[httpx.AsyncClient, Headers]
ARGUMENTS = {"date": "2025-03-01", "time": "10:00", "attendees": 2, "ignored": "x"}


async def new_agent(client: httpx.AsyncClient, headers: Headers) -> str:
    response = await client.post("/api/v1/agents", json={"name": "Bot"}, headers=headers)
    agent_id: str = response.json()["data"]["id"]
    return agent_id


def invoke_url(agent_id: str, action_id: str) -> str:
    return f"/api/v1/agents/{agent_id}/runtime/actions/{action_id}/invoke"


class TestInvokeAction:
    async def test_calls_the_target_with_arguments_auth_and_headers(
        self, open_client: Opened, receiver: Receiver, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        client, headers = open_client
        agent_id = await new_agent(client, headers)
        action = await create_action(client, headers, agent_id, webhook(receiver.url))

        response = await client.post(
            invoke_url(agent_id, action["id"]), json={"arguments": ARGUMENTS}, headers=headers
        )

        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert (data["ok"], data["status"]) == (True, 200)
        assert data["body"] == {"confirmed": True, "slot": {"date": "2025-03-01", "time": "10:00"}}
        assert data["speak"] == "Booked for 2025-03-01 at 10:00, 2025-03-01."
        [sent] = receiver.requests
        assert sent["path"] == "/hooks/schedule"
        assert sent["json"] == {"date": "2025-03-01", "time": "10:00", "attendees": 2,
                                "source": "voice-agent"}  # fmt: skip
        assert sent["headers"]["Authorization"] == f"Bearer {SECRET_TOKEN}"
        assert sent["headers"]["X-Tenant"] == SECRET_HEADER
        assert SECRET_TOKEN not in response.text
        assert "invoked: HTTP 200" in caplog.text  # logged, without a secret
        assert SECRET_TOKEN not in caplog.text and SECRET_HEADER not in caplog.text

    async def test_basic_and_api_key_schemes(self, open_client: Opened, receiver: Receiver) -> None:
        client, headers = open_client
        agent_id = await new_agent(client, headers)
        basic = await create_action(client, headers, agent_id, webhook(
            receiver.url, node_id="b", authorization_scheme="basic",
            authorization_token="ana:s3cret", custom_headers=[]))  # fmt: skip
        key = await create_action(client, headers, agent_id, webhook(
            receiver.url, node_id="k", name="Key", authorization_scheme="api_key",
            authorization_header="X-Api-Token", authorization_token="k-123"))  # fmt: skip

        for action in (basic, key):
            response = await client.post(
                invoke_url(agent_id, action["id"]), json={"arguments": ARGUMENTS}, headers=headers
            )
            assert response.status_code == 200

        expected = "Basic " + base64.b64encode(b"ana:s3cret").decode()
        assert receiver.requests[0]["headers"]["Authorization"] == expected
        assert "X-Tenant" not in receiver.requests[0]["headers"]
        assert receiver.requests[1]["headers"]["X-Api-Token"] == "k-123"

    async def test_loopback_targets_are_refused_by_default(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], receiver: Receiver
    ) -> None:
        for url in (receiver.url, "http://localhost:9/x", "http://10.0.0.8/x", "http://[::1]:9/x"):
            action = await create_action(client, headers, agent["id"], webhook(url))
            response = await client.post(
                invoke_url(agent["id"], action["id"]),
                json={"arguments": ARGUMENTS},
                headers=headers,
            )
            assert response.status_code == 422, url
            assert response.json()["code"] == "ACTION_TARGET_NOT_ALLOWED"
            assert "CUECARD_ALLOW_PRIVATE_TARGETS" in response.json()["message"]
        assert receiver.requests == []

    async def test_arguments_are_checked_against_the_inputs(
        self, open_client: Opened, receiver: Receiver
    ) -> None:
        client, headers = open_client
        agent_id = await new_agent(client, headers)
        action = await create_action(client, headers, agent_id, webhook(receiver.url))

        response = await client.post(
            invoke_url(agent_id, action["id"]),
            json={"arguments": {"time": 10, "attendees": "two"}},
            headers=headers,
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "arguments.date": ["The arguments.date field is required."],
            "arguments.time": ["The arguments.time field must be a string."],
            "arguments.attendees": ["The arguments.attendees field must be an integer."],
        }
        not_an_object = await client.post(
            invoke_url(agent_id, action["id"]), json={"arguments": [1]}, headers=headers
        )
        assert not_an_object.status_code == 422
        assert receiver.requests == []

    async def test_an_error_answer_is_passed_on_without_speak(
        self, open_client: Opened, receiver: Receiver
    ) -> None:
        client, headers = open_client
        agent_id = await new_agent(client, headers)
        action = await create_action(client, headers, agent_id, webhook(receiver.url))
        receiver.status, receiver.body, receiver.content_type = 409, b"slot taken", "text/plain"

        response = await client.post(
            invoke_url(agent_id, action["id"]), json={"arguments": ARGUMENTS}, headers=headers
        )

        assert response.status_code == 200
        data = response.json()["data"]
        assert (data["ok"], data["status"], data["body"], data["speak"]) == (
            False, 409, "slot taken", None
        )  # fmt: skip

    async def test_timeout_and_size_limit(self, open_client: Opened, receiver: Receiver) -> None:
        client, headers = open_client
        agent_id = await new_agent(client, headers)
        action = await create_action(client, headers, agent_id, webhook(receiver.url))
        url = invoke_url(agent_id, action["id"])

        receiver.body = b'{"blob": "' + b"x" * 4096 + b'"}'
        too_large = await client.post(url, json={"arguments": ARGUMENTS}, headers=headers)
        receiver.body = gzip.compress(b'{"blob": "' + b"x" * 100_000 + b'"}')
        receiver.content_encoding = "gzip"
        bomb = await client.post(url, json={"arguments": ARGUMENTS}, headers=headers)
        receiver.body, receiver.delay, receiver.content_encoding = b"{}", 1.5, None
        too_slow = await client.post(url, json={"arguments": ARGUMENTS}, headers=headers)

        assert (too_large.status_code, too_large.json()["code"]) == (
            502,
            "ACTION_RESPONSE_TOO_LARGE",
        )
        # A small gzip body that expands past the limit is too large as well.
        assert (bomb.status_code, bomb.json()["code"]) == (502, "ACTION_RESPONSE_TOO_LARGE")
        assert (too_slow.status_code, too_slow.json()["code"]) == (504, "ACTION_TIMEOUT")

    async def test_inactive_transfer_and_unknown_actions(
        self, open_client: Opened, receiver: Receiver
    ) -> None:
        client, headers = open_client
        agent_id = await new_agent(client, headers)
        off = await create_action(
            client, headers, agent_id, webhook(receiver.url, current_status="inactive")
        )
        transfer = await create_action(client, headers, agent_id, {
            "node_id": "t", "name": "T", "description": "D", "type": "transfer",
            "transfer_to": "+12125550100"})  # fmt: skip

        inactive = await client.post(invoke_url(agent_id, off["id"]), json={}, headers=headers)
        not_invokable = await client.post(
            invoke_url(agent_id, transfer["id"]), json={}, headers=headers
        )
        unknown = await client.post(
            invoke_url(agent_id, "8d3b0a4e-0000-4000-8000-000000000000"), json={}, headers=headers
        )

        assert (inactive.status_code, inactive.json()["code"]) == (409, "ACTION_INACTIVE")
        assert (not_invokable.status_code, not_invokable.json()["code"]) == (
            422,
            "ACTION_NOT_INVOKABLE",
        )
        assert (unknown.status_code, unknown.json()["code"]) == (404, "ACTION_NOT_FOUND")
        assert receiver.requests == []


class TestSecretKey:
    async def test_credentials_stored_under_another_secret_key_are_refused_not_sent(
        self, settings: Any, receiver: Receiver
    ) -> None:
        from contextlib import AsyncExitStack

        from cuecard.app import create_app
        from cuecard.auth import service as auth
        from cuecard.core.config import Settings

        async def serve(stack: AsyncExitStack, secret: str) -> tuple[httpx.AsyncClient, Headers]:
            changed = {"secret_key": secret, "allow_private_targets": True}
            app = create_app(Settings(**{**settings.__dict__, **changed}))
            await stack.enter_async_context(app.router.lifespan_context(app))
            async with app.state.db.transaction() as uow:
                await auth.ensure_environment(uow, "default")
                _, token = await auth.create_token(uow, secret.encode(), "talq_", "default")
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://t")
            await stack.enter_async_context(client)
            return client, {"Authorization": f"Bearer {token}"}

        async with AsyncExitStack() as stack:
            first, headers = await serve(stack, "first-secret-key-0123456789")
            agent_id = await new_agent(first, headers)
            action = await create_action(first, headers, agent_id, webhook(receiver.url))
            second, other_headers = await serve(stack, "second-secret-key-0123456789")
            response = await second.post(
                invoke_url(agent_id, action["id"]),
                json={"arguments": ARGUMENTS},
                headers=other_headers,
            )

        assert response.status_code == 409
        assert response.json()["code"] == "ACTION_SECRETS_UNREADABLE"
        assert receiver.requests == []


class TestTheExampleBot:
    async def test_the_loader_runs_the_function_the_llm_calls_through_invoke(
        self, open_client: Opened, receiver: Receiver, repo_root: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:  # fmt: skip
        """What examples/pipecat_flows_loader.py's handler does, against the real app and a
        real receiver: the pipecat FlowManager test joins this after the flow issue."""
        import importlib.util
        import sys

        path = repo_root / "examples" / "pipecat_flows_loader.py"
        spec = importlib.util.spec_from_file_location("pipecat_flows_loader_actions", path)
        assert spec is not None and spec.loader is not None
        loader = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, loader)  # dataclasses look it up
        spec.loader.exec_module(loader)
        client, headers = open_client
        agent_id = await new_agent(client, headers)
        await create_action(client, headers, agent_id, webhook(receiver.url))
        await client.post(f"/api/v1/agents/{agent_id}/publish", headers=headers)
        await client.put(
            f"/api/v1/agents/{agent_id}/knowledge",
            json={"description": "You book meetings.", "interrupt_sensitivity": "low",
                  "ask_if_human_present_on_idle": False, "llm_temperature": 0.2,
                  "initial_message_delay": 0},
            headers=headers,
        )  # fmt: skip
        await client.post(f"/api/v1/agents/{agent_id}/publish", headers=headers)
        client.headers.update(headers)

        loaded = await loader.load_flow_config(client, agent_id, "published")
        [function] = loaded.document["global_functions"]
        action_set = await loader.load_actions(client, agent_id, "published")
        result = await loader.run_action(client, action_set.actions, function["name"], ARGUMENTS)

        assert function["name"] == "schedule_meeting"
        # With pipecat installed, describe() builds its Flow, which needs the action's handler.
        pipecat = importlib.util.find_spec("pipecat") is not None
        handlers = loader.action_handlers(client, action_set) if pipecat else None
        assert "global function schedule_meeting" in loader.describe(loaded, handlers)
        assert result["speak"] == "Booked for 2025-03-01 at 10:00, 2025-03-01."
        assert receiver.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET_TOKEN}"
