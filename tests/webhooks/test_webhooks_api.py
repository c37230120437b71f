"""The 9 webhook operations, Talkover-exact, on both databases."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx

from cuecard.app import create_app
from cuecard.core.config import Settings
from cuecard.webhooks.events import CALL_EVENTS, CONFIG_EVENTS
from tests.conftest import TokenFactory, bearer
from tests.webhooks.receiver import Receiver, verify_signature

Agent = dict[str, Any]


def hooks(agent: Agent) -> str:
    return f"/api/v1/agents/{agent['id']}/webhooks"


class TestListAgentWebhooks:
    async def test_lists_webhooks_and_every_available_event(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
    ) -> None:
        created = await create_webhook("https://example.com/hook")
        response = await client.get(hooks(agent), headers=headers)
        assert response.status_code == 200
        data = response.json()["data"]
        assert [w["id"] for w in data["webhooks"]] == [created["id"]]
        events = data["available_events"]
        assert list(events)[:22] == list(CALL_EVENTS)
        assert len(CALL_EVENTS) == 22
        assert set(CONFIG_EVENTS) <= set(events)
        assert events["event_phone_call_started"] == "Phone call has started"

    async def test_another_environments_agent_is_not_found(
        self, client: httpx.AsyncClient, agent: Agent, make_token: TokenFactory
    ) -> None:
        other = bearer(await make_token("other"))
        response = await client.get(hooks(agent), headers=other)
        assert response.status_code == 404
        assert response.json()["message"] == "Agent not found in this environment."


class TestCreateWebhook:
    async def test_defaults_and_the_documented_object(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: Agent
    ) -> None:
        response = await client.post(
            hooks(agent),
            headers=headers,
            json={
                "name": "My Webhook",
                "webhook_url": "https://example.com/webhook",
                "webhook_secret": "s3cret-value",
                "events": ["event_phone_call_started", "event_phone_call_ended"],
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert body["message"] == "Webhook created successfully"
        data = body["data"]
        assert data["agent_id"] == agent["id"]
        assert (data["timeout"], data["max_retries"], data["enabled"]) == (30, 3, True)
        assert (data["events_count"], data["status"]) == (2, "active")
        assert data["http_method"] == "POST" and data["has_secret"] is True
        assert "s3cret-value" not in response.text
        assert "webhook_secret" not in data

    async def test_every_invalid_field_is_reported_in_laravel_words(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: Agent
    ) -> None:
        response = await client.post(
            hooks(agent),
            headers=headers,
            json={
                "name": "x" * 256,
                "events": [],
                "timeout": 4,
                "max_retries": 11,
                "http_method": "GET",
            },
        )
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert errors["webhook_url"] == ["The webhook url field is required."]
        assert errors["events"] == ["The events field must contain at least 1 items."]
        assert errors["name"] == ["The name field must not be greater than 255 characters."]
        assert errors["timeout"] == ["The timeout must be between 5 and 120."]
        assert errors["max_retries"] == ["The max retries must be between 0 and 10."]
        assert errors["http_method"] == ["The selected http method is invalid."]

    async def test_bad_url_and_unknown_event(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: Agent
    ) -> None:
        response = await client.post(
            hooks(agent),
            headers=headers,
            json={
                "name": "n",
                "webhook_url": "not a url",
                "events": ["event_nope"],
            },
        )
        errors = response.json()["errors"]
        assert errors["webhook_url"] == ["The webhook url must be a valid URL."]
        assert errors["events"] == ["The selected events is invalid."]

    async def test_read_only_token_cannot_create(
        self, client: httpx.AsyncClient, agent: Agent, make_token: TokenFactory
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        response = await client.post(
            hooks(agent),
            headers=reader,
            json={"name": "n", "webhook_url": "https://example.com", "events": ["event_action"]},
        )
        assert response.status_code == 403


class TestPrivateTargetsAreRefusedByDefault:
    async def test_loopback_url_is_refused_at_create_and_at_test(
        self,
        settings: Settings,
        headers: dict[str, str],
        agent: Agent,
        client: httpx.AsyncClient,
        create_webhook: Any,
        receiver: Receiver,
    ) -> None:
        hook = await create_webhook(receiver.url)  # allowed by this suite's settings
        strict = create_app(replace(settings, allow_private_targets=False))
        async with strict.router.lifespan_context(strict):
            transport = httpx.ASGITransport(app=strict)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                created = await c.post(
                    hooks(agent),
                    headers=headers,
                    json={
                        "name": "n",
                        "webhook_url": "http://127.0.0.1:9/x",
                        "events": ["event_action"],
                    },
                )
                tested = await c.post(f"{hooks(agent)}/{hook['id']}/test", headers=headers)
        assert created.status_code == 422
        assert created.json()["errors"]["webhook_url"] == [
            "The webhook url must not point to a private or loopback address."
        ]
        assert tested.status_code == 422
        assert tested.json()["message"] == (
            "Webhook test failed: Target address is private or loopback"
        )
        assert receiver.requests == []


class TestGetUpdateDeleteToggle:
    async def test_get_and_not_found(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
    ) -> None:
        hook = await create_webhook("https://example.com/a")
        got = await client.get(f"{hooks(agent)}/{hook['id']}", headers=headers)
        assert got.json()["data"] == hook
        for missing in ("00000000-0000-0000-0000-000000000000", "nope"):
            response = await client.get(f"{hooks(agent)}/{missing}", headers=headers)
            assert response.status_code == 404
            assert response.json()["message"] == "Webhook not found."

    async def test_update_changes_only_what_is_sent(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
    ) -> None:
        hook = await create_webhook("https://example.com/a", timeout=45)
        response = await client.put(
            f"{hooks(agent)}/{hook['id']}",
            headers=headers,
            json={"name": "Renamed", "enabled": False},
        )
        assert response.json()["message"] == "Webhook updated successfully"
        data = response.json()["data"]
        assert (data["name"], data["timeout"], data["enabled"]) == ("Renamed", 45, False)
        assert data["status"] == "disabled"
        empty = await client.put(
            f"{hooks(agent)}/{hook['id']}", headers=headers, json={"events": []}
        )
        assert empty.json()["errors"]["events"] == [
            "The events field must contain at least 1 items."
        ]

    async def test_toggle_flips_and_says_so(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
    ) -> None:
        hook = await create_webhook("https://example.com/a")
        url = f"{hooks(agent)}/{hook['id']}/toggle"
        off = (await client.patch(url, headers=headers)).json()
        on = (await client.patch(url, headers=headers)).json()
        assert (off["message"], off["data"]["enabled"], off["data"]["status"]) == (
            "Webhook disabled",
            False,
            "disabled",
        )
        assert (on["message"], on["data"]["enabled"], on["data"]["status"]) == (
            "Webhook enabled",
            True,
            "active",
        )

    async def test_delete_removes_it(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
    ) -> None:
        hook = await create_webhook("https://example.com/a")
        deleted = await client.delete(f"{hooks(agent)}/{hook['id']}", headers=headers)
        assert deleted.json() == {"success": True, "message": "Webhook deleted successfully"}
        again = await client.delete(f"{hooks(agent)}/{hook['id']}", headers=headers)
        assert again.status_code == 404


class TestTestWebhook:
    async def test_sends_the_documented_payload_signed(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
    ) -> None:
        hook = await create_webhook(receiver.url, webhook_secret="whsec-test")
        response = await client.post(f"{hooks(agent)}/{hook['id']}/test", headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["message"] == "Test webhook sent successfully"
        assert response.json()["data"]["status_code"] == 200
        assert isinstance(response.json()["data"]["response_time"], int)
        [got] = receiver.requests
        payload = got.json
        assert payload["event"] == "webhook.test" and payload["test"] is True
        assert (payload["agent_id"], payload["webhook_id"]) == (agent["id"], hook["id"])
        assert (payload["agent_name"], payload["webhook_name"]) == ("SupportBot", "Hook")
        assert verify_signature("whsec-test", got.headers["X-Cuecard-Signature"], got.body)
        assert not verify_signature("other", got.headers["X-Cuecard-Signature"], got.body)

    async def test_a_failing_target_is_reported(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
    ) -> None:
        receiver.status = 500
        hook = await create_webhook(receiver.url)
        response = await client.post(f"{hooks(agent)}/{hook['id']}/test", headers=headers)
        assert response.status_code == 422
        assert response.json()["success"] is False
        assert response.json()["message"] == "Webhook test failed: HTTP 500 Internal Server Error"
        receiver.stop()
        down = await client.post(f"{hooks(agent)}/{hook['id']}/test", headers=headers)
        assert down.json()["message"].startswith("Webhook test failed: Connection failed")


class TestTestWebhookTimeout:
    async def test_a_target_slower_than_the_timeout_is_a_connection_timeout(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
    ) -> None:
        receiver.delay = 6
        hook = await create_webhook(receiver.url, timeout=5)
        response = await client.post(f"{hooks(agent)}/{hook['id']}/test", headers=headers)
        assert response.status_code == 422
        assert response.json()["message"] == "Webhook test failed: Connection timeout"
        assert response.json()["data"]["response_time"] >= 5000


class TestRuntimeTokens:
    async def test_a_runtime_token_cannot_manage_webhooks(
        self, client: httpx.AsyncClient, agent: Agent, app: Any, settings: Settings
    ) -> None:
        from cuecard.auth import service as auth

        async with app.state.db.transaction() as uow:
            _, secret = await auth.create_token(
                uow,
                settings.resolved_secret_key(),
                settings.token_prefix,
                "default",
                runtime=True,
            )
        response = await client.get(hooks(agent), headers=bearer(secret))
        assert response.status_code == 403
        assert response.json()["code"] == "RUNTIME_TOKEN_FORBIDDEN"
