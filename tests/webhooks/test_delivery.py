"""Delivery by the worker to real receivers on 127.0.0.1: events, signatures, the retry schedule,
a receiver that is down and comes back, manual retries, templates, retention, and the outbox's
transaction (a rolled-back write sends nothing)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from cuecard.agents import repository as agents_repository
from cuecard.auth.service import Caller
from cuecard.core.config import Settings
from cuecard.core.db import utcnow
from cuecard.trainings import service as trainings
from cuecard.trainings.schemas import TrainingCreate
from cuecard.webhooks.delivery import DeliveryWorker
from tests.webhooks.receiver import Receiver, verify_signature

Agent = dict[str, Any]


async def drain(worker: DeliveryWorker, until: Any, timeout: float = 20) -> None:
    """Run the worker until `until()` holds (the retry schedule needs real waiting)."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "deliveries did not arrive in time"
        await worker.run_once()
        await asyncio.sleep(0.02)


async def upsert(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    agent: Agent,
    node: str = "refunds",
    text: str = "Refunds within 30 days.",
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/agents/{agent['id']}/trainings",
        headers=headers,
        json={"node_id": node, "subject": "Refunds", "instructions": text},
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def logs(
    client: httpx.AsyncClient, headers: dict[str, str], agent: Agent, hook: Any, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/agents/{agent['id']}/webhooks/{hook['id']}/logs", headers=headers, params=params
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestConfigEvents:
    async def test_a_training_write_is_delivered_signed_with_its_event_id(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        worker: DeliveryWorker,
    ) -> None:
        hook = await create_webhook(receiver.url, webhook_secret="whsec-1")
        training = await upsert(client, headers, agent)
        await drain(worker, lambda: len(receiver.requests) == 1)

        [got] = receiver.requests
        payload = got.json
        assert payload["event"] == "event_training_updated"
        assert payload["agent_id"] == agent["id"]
        assert payload["training"]["id"] == training["id"] and payload["created"] is True
        assert got.headers["X-Cuecard-Event-Id"] == payload["event_id"]
        assert verify_signature("whsec-1", got.headers["X-Cuecard-Signature"], got.body)
        [entry] = (await logs(client, headers, agent, hook))["data"]
        assert (entry["status"], entry["http_status"], entry["attempt"]) == ("success", 200, 1)
        assert entry["request_payload"] == payload
        assert entry["response_body"] == '{"received": true}'
        assert entry["delivered_at"] is not None and entry["duration_ms"] >= 0

    async def test_publish_unpublish_and_delete_each_send_their_event(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        worker: DeliveryWorker,
    ) -> None:
        await create_webhook(
            receiver.url,
            events=["event_agent_published", "event_agent_unpublished", "event_training_deleted"],
        )
        training = await upsert(client, headers, agent)  # not subscribed: not sent
        base = f"/api/v1/agents/{agent['id']}"
        await client.post(f"{base}/publish", headers=headers)
        await client.post(f"{base}/unpublish", headers=headers)
        await client.delete(f"{base}/trainings/{training['id']}", headers=headers)
        await drain(worker, lambda: len(receiver.requests) >= 3)
        await worker.run_once()

        # One batch is sent concurrently: arrival order is not promised (timestamps are).
        got = {r.json["event"]: r.json for r in receiver.requests}
        assert sorted(receiver.events()) == [
            "event_agent_published",
            "event_agent_unpublished",
            "event_training_deleted",
        ]
        published = got["event_agent_published"]
        assert published["version"] == 1 and len(published["config_hash"]) == 64
        assert got["event_training_deleted"]["training"] == {"id": training["id"]}

    async def test_a_disabled_webhook_gets_nothing(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        worker: DeliveryWorker,
    ) -> None:
        await create_webhook(receiver.url, enabled=False)
        await upsert(client, headers, agent)
        assert await worker.run_once() == 0
        assert receiver.requests == []


class TestOutboxTransaction:
    async def test_a_rolled_back_write_sends_nothing(
        self,
        app: Any,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        worker: DeliveryWorker,
    ) -> None:
        hook = await create_webhook(receiver.url)
        async with app.state.db.transaction() as uow:
            token = await uow.one("SELECT id, environment_id FROM api_tokens")
            assert token is not None
            caller = Caller(token["id"], token["environment_id"], False)
            agent_row = await agents_repository.scoped(uow, caller.environment_id, agent["id"])
        assert agent_row is not None

        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with app.state.db.transaction() as uow:
                await trainings.upsert_training(
                    uow,
                    caller,
                    agent_row,
                    TrainingCreate(subject="Never", instructions="Rolled back."),
                    max_trainings=10_000,
                )
                raise Boom()  # the request fails after the event was queued

        assert await worker.run_once() == 0
        assert receiver.requests == []
        assert (await logs(client, headers, agent, hook))["data"] == []
        listed = await client.get(f"/api/v1/agents/{agent['id']}/trainings", headers=headers)
        assert listed.json()["data"] == []


class TestRetries:
    async def test_failed_attempts_follow_the_backoff_schedule(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        worker: DeliveryWorker,
        settings: Settings,
    ) -> None:
        receiver.status = 503
        hook = await create_webhook(receiver.url, max_retries=3)
        await upsert(client, headers, agent)
        await drain(worker, lambda: len(receiver.requests) == 4)
        await asyncio.sleep(settings.webhook_retry_base_seconds * 8)
        await worker.run_once()  # no fifth attempt: max_retries is 3

        assert len(receiver.requests) == 4
        assert len(set(receiver.event_ids())) == 1
        assert [r.headers["X-Cuecard-Attempt"] for r in receiver.requests] == ["1", "2", "3", "4"]
        base = settings.webhook_retry_base_seconds
        for n, (before, after) in enumerate(zip(receiver.requests, receiver.requests[1:]), 1):
            planned = base * 2 ** (n - 1)  # half of it is jitter
            assert planned / 2 - 0.05 <= after.at - before.at <= planned + 0.3
        entries = (await logs(client, headers, agent, hook))["data"]
        assert [(e["attempt"], e["status"]) for e in entries] == [
            (4, "failed"),
            (3, "retrying"),
            (2, "retrying"),
            (1, "retrying"),
        ]
        assert entries[0]["error"] == "HTTP 503 Service Unavailable"
        got = await client.get(
            f"/api/v1/agents/{agent['id']}/webhooks/{hook['id']}", headers=headers
        )
        assert got.json()["data"]["status"] == "error"

    async def test_a_receiver_that_is_down_and_comes_back_gets_every_event(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        worker: DeliveryWorker,
    ) -> None:
        hook = await create_webhook(receiver.url, max_retries=10)
        receiver.stop()
        for i in range(5):
            await upsert(client, headers, agent, node=f"n{i}")
        for _ in range(3):
            await worker.run_once()
            await asyncio.sleep(0.15)
        receiver.start()
        await drain(worker, lambda: len(set(receiver.event_ids())) == 5)

        assert sorted(r.json["training"]["node_id"] for r in receiver.requests) == [
            f"n{i}" for i in range(5)
        ]
        entries = (await logs(client, headers, agent, hook, per_page=100))["data"]
        assert {e["status"] for e in entries if e["attempt"] > 1} <= {"success", "retrying"}
        assert any(e["error"] and e["error"].startswith("Connection failed") for e in entries)
        assert sum(e["status"] == "success" for e in entries) == 5

    async def test_retry_queues_a_new_attempt_of_a_failed_log_only(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        worker: DeliveryWorker,
    ) -> None:
        receiver.status = lambda n: 500 if n == 1 else 200
        hook = await create_webhook(receiver.url, max_retries=0)
        await upsert(client, headers, agent)
        await drain(worker, lambda: len(receiver.requests) == 1)
        [failed] = (await logs(client, headers, agent, hook))["data"]
        assert failed["status"] == "failed"
        url = f"/api/v1/agents/{agent['id']}/webhooks/{hook['id']}/logs"

        queued = await client.post(f"{url}/{failed['id']}/retry", headers=headers)
        assert queued.status_code == 200, queued.text
        assert queued.json()["message"] == "Webhook retry queued successfully"
        data = queued.json()["data"]
        assert data["original_log_id"] == failed["id"] and data["queued_at"]
        await drain(worker, lambda: len(receiver.requests) == 2)
        entries = {e["id"]: e for e in (await logs(client, headers, agent, hook))["data"]}
        retried = entries[data["log_id"]]
        assert (retried["status"], retried["attempt"]) == ("success", 2)
        assert retried["original_log_id"] == failed["id"]
        assert receiver.requests[1].json["event_id"] == receiver.requests[0].json["event_id"]

        refused = await client.post(f"{url}/{retried['id']}/retry", headers=headers)
        assert refused.status_code == 422
        assert refused.json() == {
            "success": False,
            "message": "Log cannot be retried",
            "code": "LOG_NOT_RETRIABLE",
        }
        missing = await client.post(
            f"{url}/00000000-0000-0000-0000-000000000000/retry", headers=headers
        )
        assert missing.status_code == 404


class TestRequestShape:
    async def test_templates_headers_method_and_bearer_auth_reach_the_receiver(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        worker: DeliveryWorker,
    ) -> None:
        await create_webhook(
            receiver.url,
            http_method="PUT",
            authorization_scheme="bearer",
            authorization_value="tok-123",
            custom_headers=[{"key": "X-Team", "value": "support"}],
            payload_templates={
                "event_training_updated": {
                    "text": "Training {{training.subject}} changed",
                    "id": "{{training.id}}",
                    "created": "{{created}}",
                    "event_id": "{{event_id}}",
                }
            },
        )
        training = await upsert(client, headers, agent)
        await drain(worker, lambda: len(receiver.requests) == 1)
        [got] = receiver.requests
        assert got.method == "PUT"
        assert got.headers["Authorization"] == "Bearer tok-123"
        assert got.headers["X-Team"] == "support"
        assert got.json["text"] == "Training Refunds changed"
        assert (got.json["id"], got.json["created"]) == (training["id"], True)
        assert got.json["event_id"] == got.headers["X-Cuecard-Event-Id"]


class TestPrivateTargetsAtDelivery:
    async def test_a_loopback_target_is_refused_unless_allowed(
        self,
        app: Any,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        settings: Settings,
    ) -> None:
        hook = await create_webhook(receiver.url, max_retries=0)
        await upsert(client, headers, agent)
        strict = DeliveryWorker(
            app.state.db,
            replace(settings, allow_private_targets=False),
            settings.resolved_secret_key(),
        )
        try:
            assert await strict.run_once() == 1
        finally:
            await strict.close()
        assert receiver.requests == []
        [entry] = (await logs(client, headers, agent, hook))["data"]
        assert (entry["status"], entry["error"]) == (
            "failed",
            "Target address is private or loopback",
        )


class TestLogs:
    async def test_logs_page_newest_first_and_are_kept_30_days(
        self,
        app: Any,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: Agent,
        create_webhook: Any,
        receiver: Receiver,
        worker: DeliveryWorker,
    ) -> None:
        hook = await create_webhook(receiver.url)
        for i in range(3):
            await upsert(client, headers, agent, node=f"n{i}")
        await drain(worker, lambda: len(receiver.requests) == 3)
        page = await logs(client, headers, agent, hook, per_page=2)
        assert page["pagination"] == {"current_page": 1, "per_page": 2, "total": 3, "last_page": 2}
        assert page["data"][0]["request_payload"]["training"]["node_id"] == "n2"
        bad = await client.get(
            f"/api/v1/agents/{agent['id']}/webhooks/{hook['id']}/logs",
            headers=headers,
            params={"per_page": 101},
        )
        assert bad.status_code == 422

        old = utcnow() - timedelta(days=31)
        async with app.state.db.transaction() as uow:
            await uow.write(
                "UPDATE webhook_logs SET created_at = :old WHERE id = :id",
                {"old": old, "id": page["data"][0]["id"]},
            )
        worker._last_cleanup = 0.0
        await worker.run_once()
        assert (await logs(client, headers, agent, hook))["pagination"]["total"] == 2
