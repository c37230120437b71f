"""The webhooks' typed rows (`delivery.WebhookRow`, `delivery.ClaimedRow`,
`repository.WebhookLogRow`) against the table models, and as each database really hands them
back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from cuecard import models
from cuecard.webhooks import delivery, repository
from cuecard.webhooks.delivery import ClaimedRow, DeliveryWorker, WebhookRow
from cuecard.webhooks.repository import WebhookLogRow
from tests.row_types import column_types, field_types
from tests.webhooks.receiver import Receiver

Headers = dict[str, str]
WEBHOOKS = column_types(models.Webhook.__table__)  # type: ignore[arg-type]
LOGS = column_types(models.WebhookLog.__table__)  # type: ignore[arg-type]


class TestWebhookRowDeclarations:
    def test_a_webhook_is_the_webhooks_table_with_its_types_and_nullability(self) -> None:
        assert field_types(WebhookRow) == WEBHOOKS

    def test_a_log_is_the_webhook_logs_table_with_its_types_and_nullability(self) -> None:
        assert field_types(WebhookLogRow) == LOGS

    def test_every_read_selects_the_fields_in_the_row_types_order(self) -> None:
        assert delivery.WEBHOOK_COLUMNS.split(", ") == list(WebhookRow.__struct_fields__)
        assert repository.LOG_COLUMNS.split(", ") == list(WebhookLogRow.__struct_fields__)

    def test_a_claimed_delivery_is_part_of_its_log_and_its_webhooks_timeout(self) -> None:
        from_log = ("id", "webhook_id", "event", "attempt", "payload", "original_log_id")

        assert field_types(ClaimedRow) == {
            **{name: LOGS[name] for name in from_log},
            "timeout": WEBHOOKS["timeout"],
        }


async def _training(client: httpx.AsyncClient, headers: Headers, agent_id: str) -> None:
    response = await client.post(
        f"/api/v1/agents/{agent_id}/trainings",
        json={"node_id": "refunds", "subject": "Refunds", "instructions": "Within 30 days."},
        headers=headers,
    )
    assert response.status_code == 200, response.text


class TestWebhookRowsFromTheDatabase:
    async def test_a_webhook_row_is_typed_on_this_backend(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any],
        create_webhook: Any, app: Any,
    ) -> None:  # fmt: skip
        hook = await create_webhook("https://hooks.example.com/in", webhook_secret="whsec-1")
        toggled = await client.patch(
            f"/api/v1/agents/{agent['id']}/webhooks/{hook['id']}/toggle", headers=headers
        )
        assert toggled.status_code == 200, toggled.text
        async with app.state.db.transaction() as uow:
            (row,) = await repository.for_agent(uow, agent["id"])

        assert row.id == hook["id"] and row.agent_id == agent["id"]
        # SQLite hands the boolean back as 0: the row says False, as PostgreSQL's does.
        assert row.enabled is False and row.status == "disabled"
        assert type(row.timeout) is int and type(row.max_retries) is int
        # The JSON columns stay text: the service and the worker decode them.
        assert json.loads(row.events) == ["event_training_updated"]
        assert (json.loads(row.custom_headers), json.loads(row.payload_templates)) == ([], {})
        assert row.secret_encrypted and "whsec-1" not in row.secret_encrypted
        assert row.authorization_encrypted is None
        assert isinstance(row.created_at, datetime) and row.created_at.tzinfo is not None
        assert row.created_at.astimezone(UTC) <= row.updated_at.astimezone(UTC)
        with pytest.raises(AttributeError):
            row.enabled = True  # type: ignore[misc]

    async def test_a_log_row_is_typed_before_and_after_its_delivery(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any],
        create_webhook: Any, app: Any, receiver: Receiver, worker: DeliveryWorker,
    ) -> None:  # fmt: skip
        hook = await create_webhook(receiver.url)
        await _training(client, headers, agent["id"])
        async with app.state.db.transaction() as uow:
            (pending,), total = await repository.logs_page(uow, hook["id"], 10, 0)

        assert total == 1 and (pending.status, pending.attempt) == ("pending", 1)
        assert isinstance(pending.next_attempt_at, datetime)
        assert pending.next_attempt_at.tzinfo is not None
        assert (pending.delivered_at, pending.http_status, pending.duration_ms) == (
            None,
            None,
            None,
        )
        assert json.loads(pending.payload)["event"] == "event_training_updated"

        assert await worker.run_once() == 1
        async with app.state.db.transaction() as uow:
            sent = await repository.get_log(uow, hook["id"], pending.id)

        assert sent is not None and (sent.status, sent.http_status) == ("success", 200)
        assert sent.next_attempt_at is None
        assert isinstance(sent.delivered_at, datetime) and sent.delivered_at.tzinfo is not None
        assert sent.delivered_at.astimezone(UTC) >= sent.created_at.astimezone(UTC)
        assert type(sent.duration_ms) is int
        assert sent.request_payload is not None and sent.response_headers is not None
        assert json.loads(sent.request_payload) == json.loads(sent.payload)
        assert msgspec.structs.replace(sent, attempt=2).attempt == 2 and sent.attempt == 1
        # The API shows the same log from the typed row.
        listed = await client.get(
            f"/api/v1/agents/{agent['id']}/webhooks/{hook['id']}/logs", headers=headers
        )
        assert listed.json()["data"][0]["delivered_at"] is not None
        assert listed.json()["data"][0]["request_payload"]["event"] == "event_training_updated"
