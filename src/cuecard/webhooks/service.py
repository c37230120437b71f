"""Webhook rules: Talkover's fields and bounds, secrets encrypted and never echoed, toggling,
the synchronous test, the logs and the manual retry of a failed delivery."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import msgspec

from cuecard.agents.repository import AgentRow
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.core.config import Settings
from cuecard.core.db import UnitOfWork, format_timestamp, new_id, utcnow
from cuecard.core.egress import literal_refused
from cuecard.core.errors import AppError, NotFound, ValidationFailed
from cuecard.webhooks import crypto, repository
from cuecard.webhooks.delivery import WebhookRow, build_request, send
from cuecard.webhooks.events import AVAILABLE_EVENTS, TEST_EVENT
from cuecard.webhooks.repository import WebhookLogRow
from cuecard.webhooks.schemas import (
    RetryQueued,
    TestResult,
    Webhook,
    WebhookCreate,
    WebhookList,
    WebhookLog,
    WebhookStatus,
    WebhookUpdate,
)


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"
    message = "Webhook not found."


class LogNotFound(NotFound):
    code = "LOG_NOT_FOUND"
    message = "Log not found."


class LogNotRetriable(AppError):
    status_code = 422
    code = "LOG_NOT_RETRIABLE"
    message = "Log cannot be retried"


class WebhookTestFailed(AppError):
    status_code = 422
    code = "WEBHOOK_TEST_FAILED"


def _uuid(value: str) -> str | None:
    try:
        parsed = str(uuid.UUID(value))
    except ValueError:
        return None
    return parsed if parsed == value.lower() else None


def to_webhook(row: WebhookRow) -> Webhook:
    events = json.loads(row.events)
    return Webhook(
        id=row.id,
        agent_id=row.agent_id,
        name=row.name,
        webhook_url=row.webhook_url,
        events=events,
        timeout=row.timeout,
        max_retries=row.max_retries,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
        events_count=len(events),
        status=row.status,
        http_method=row.http_method,
        authorization_scheme=row.authorization_scheme,
        payload_templates=json.loads(row.payload_templates),
        has_secret=row.secret_encrypted is not None,
    )


async def _scoped(uow: UnitOfWork, agent: AgentRow, webhook_id: str) -> WebhookRow:
    webhook_id_ = _uuid(webhook_id)
    row = await repository.get(uow, agent.id, webhook_id_) if webhook_id_ else None
    if row is None:
        raise WebhookNotFound()
    return row


def _refuse_private(url: str | None, settings: Settings) -> None:
    if url is not None and literal_refused(url, settings.allow_private_targets):
        raise ValidationFailed(
            {"webhook_url": ["The webhook url must not point to a private or loopback address."]}
        )


def _columns(key: bytes, webhook_id: str, data: WebhookCreate | WebhookUpdate) -> dict[str, Any]:
    """The columns a create or update writes, from the fields the request set."""
    # A create writes every field (defaults too); an update only those the request sent.
    fields = data.model_dump(exclude_unset=isinstance(data, WebhookUpdate), exclude_none=True)
    values: dict[str, Any] = {}
    for name in (
        "name",
        "webhook_url",
        "timeout",
        "max_retries",
        "http_method",
        "authorization_scheme",
    ):
        if name in fields:
            values[name] = fields[name]
    if "events" in fields:
        values["events"] = json.dumps(fields["events"])
    if "enabled" in fields:
        values["enabled"] = fields["enabled"]
        values["status"] = WebhookStatus.ACTIVE if fields["enabled"] else WebhookStatus.DISABLED
    if "custom_headers" in fields:
        values["custom_headers"] = json.dumps(fields["custom_headers"])
    if "payload_templates" in fields:
        values["payload_templates"] = json.dumps(fields["payload_templates"])
    if "webhook_secret" in fields:
        values["secret_encrypted"] = crypto.encrypt(key, webhook_id, fields["webhook_secret"])
    if "authorization_value" in fields:
        values["authorization_encrypted"] = crypto.encrypt(
            key, webhook_id, fields["authorization_value"]
        )
    return values


def _audit_changes(data: WebhookCreate | WebhookUpdate) -> dict[str, Any]:
    """What changed, secrets named but never written out."""
    fields = data.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    for secret in ("webhook_secret", "authorization_value"):
        if secret in fields:
            fields[secret] = "[set]"
    if "custom_headers" in fields:
        fields["custom_headers"] = [h["key"] for h in fields["custom_headers"]]
    return fields


async def list_webhooks(uow: UnitOfWork, agent: AgentRow) -> WebhookList:
    rows = await repository.for_agent(uow, agent.id)
    return WebhookList(webhooks=[to_webhook(r) for r in rows], available_events=AVAILABLE_EVENTS)


async def create_webhook(
    uow: UnitOfWork,
    caller: Caller,
    settings: Settings,
    key: bytes,
    agent: AgentRow,
    data: WebhookCreate,
) -> Webhook:
    _refuse_private(data.webhook_url, settings)
    webhook_id = new_id()
    now = utcnow()
    row = await repository.insert(
        uow,
        {
            "id": webhook_id,
            "agent_id": agent.id,
            "status": WebhookStatus.ACTIVE if data.enabled else WebhookStatus.DISABLED,
            "http_method": "POST",
            "authorization_scheme": "none",
            "custom_headers": "[]",
            "payload_templates": "{}",
            "secret_encrypted": None,
            "authorization_encrypted": None,
            **_columns(key, webhook_id, data),
            "enabled": data.enabled,
            "created_at": now,
            "updated_at": now,
        },
    )
    await audit.record(
        uow,
        caller,
        "webhook.created",
        agent_id=agent.id,
        target_type="webhook",
        target_id=webhook_id,
        changes=_audit_changes(data),
    )
    return to_webhook(row)


async def get_webhook(uow: UnitOfWork, agent: AgentRow, webhook_id: str) -> Webhook:
    return to_webhook(await _scoped(uow, agent, webhook_id))


async def update_webhook(
    uow: UnitOfWork,
    caller: Caller,
    settings: Settings,
    key: bytes,
    agent: AgentRow,
    webhook_id: str,
    data: WebhookUpdate,
) -> Webhook:
    current = await _scoped(uow, agent, webhook_id)
    _refuse_private(data.webhook_url, settings)
    values = _columns(key, current.id, data)
    values["updated_at"] = utcnow()
    row = await repository.update(uow, agent.id, current.id, values)
    if row is None:
        raise WebhookNotFound()
    await audit.record(
        uow,
        caller,
        "webhook.updated",
        agent_id=agent.id,
        target_type="webhook",
        target_id=current.id,
        changes=_audit_changes(data),
    )
    return to_webhook(row)


async def delete_webhook(uow: UnitOfWork, caller: Caller, agent: AgentRow, webhook_id: str) -> None:
    current = await _scoped(uow, agent, webhook_id)
    if not await repository.delete(uow, agent.id, current.id):
        raise WebhookNotFound()
    await audit.record(
        uow,
        caller,
        "webhook.deleted",
        agent_id=agent.id,
        target_type="webhook",
        target_id=current.id,
        changes={"name": current.name},
    )


async def toggle_webhook(
    uow: UnitOfWork, caller: Caller, agent: AgentRow, webhook_id: str
) -> Webhook:
    current = await _scoped(uow, agent, webhook_id)
    enabled = not current.enabled
    row = await repository.update(
        uow,
        agent.id,
        current.id,
        {
            "enabled": enabled,
            "status": WebhookStatus.ACTIVE if enabled else WebhookStatus.DISABLED,
            "updated_at": utcnow(),
        },
    )
    if row is None:
        raise WebhookNotFound()
    await audit.record(
        uow,
        caller,
        "webhook.toggled",
        agent_id=agent.id,
        target_type="webhook",
        target_id=current.id,
        changes={"enabled": enabled},
    )
    return to_webhook(row)


async def test_webhook(
    uow: UnitOfWork, settings: Settings, key: bytes, agent: AgentRow, webhook_id: str
) -> TestResult:
    """Send the documented test payload now and report how the target answered."""
    webhook = await _scoped(uow, agent, webhook_id)
    payload = {
        "event": TEST_EVENT,
        "agent_id": agent.id,
        "agent_name": agent.name,
        "webhook_id": webhook.id,
        "webhook_name": webhook.name,
        "timestamp": format_timestamp(utcnow()),
        "test": True,
    }
    body, headers = build_request(webhook, key, TEST_EVENT, payload, None)
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        outcome = await send(client, webhook, body, headers, settings.allow_private_targets)
    result = TestResult(status_code=outcome.status_code, response_time=outcome.duration_ms)
    if not outcome.ok:
        raise WebhookTestFailed(
            f"Webhook test failed: {outcome.error}", extra={"data": result.model_dump()}
        )
    return result


def to_log(row: WebhookLogRow) -> WebhookLog:
    sent = row.request_payload or row.payload
    try:
        request_payload = json.loads(sent)
    except ValueError:
        request_payload = sent
    return WebhookLog.model_validate(
        {
            **msgspec.structs.asdict(row),
            "request_payload": request_payload,
            "response_headers": json.loads(row.response_headers) if row.response_headers else None,
        }
    )


async def list_logs(
    uow: UnitOfWork, agent: AgentRow, webhook_id: str, page: int, per_page: int
) -> tuple[list[WebhookLog], int]:
    webhook = await _scoped(uow, agent, webhook_id)
    rows, total = await repository.logs_page(uow, webhook.id, per_page, (page - 1) * per_page)
    return [to_log(row) for row in rows], total


async def retry_log(
    uow: UnitOfWork,
    caller: Caller,
    settings: Settings,
    agent: AgentRow,
    webhook_id: str,
    log_id: str,
) -> RetryQueued:
    """Queue one more attempt of a failed delivery, with the webhook's current config."""
    webhook = await _scoped(uow, agent, webhook_id)
    log_id_ = _uuid(log_id)
    original = await repository.get_log(uow, webhook.id, log_id_) if log_id_ else None
    if original is None:
        raise LogNotFound()
    now = utcnow()
    too_old = original.created_at < now - timedelta(days=settings.webhook_log_retention_days)
    if original.status != "failed" or too_old or not webhook.enabled:
        raise LogNotRetriable()
    new_log = new_id()
    await repository.insert_log(
        uow,
        {
            "id": new_log,
            "webhook_id": webhook.id,
            "event_id": original.event_id,
            "event": original.event,
            "attempt": original.attempt + 1,
            "status": "pending",
            "payload": original.payload,
            "original_log_id": original.id,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    await audit.record(
        uow,
        caller,
        "webhook.log_retried",
        agent_id=agent.id,
        target_type="webhook_log",
        target_id=original.id,
        changes={"log_id": new_log},
    )
    return RetryQueued(log_id=new_log, original_log_id=original.id, queued_at=now)
