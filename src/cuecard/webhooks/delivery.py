"""Sending deliveries: the signature, the request, and the worker that drains the outbox.

The queue is `webhook_logs` itself: each `pending` row is one attempt due at `next_attempt_at`.
A worker claims due rows in one short transaction by pushing `next_attempt_at` past the attempt's
timeout (a lease), sends them outside any transaction, then records the outcome in another. On
PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so any number of servers share the queue and
each row goes to one of them; on SQLite the claim's write transaction is the lock. A worker that
dies mid-send leaves its rows pending: their lease runs out and another worker sends them again
(at least once; the payload's `event_id` lets a receiver drop the repeat).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Any

import httpx
import msgspec

from cuecard import __version__
from cuecard.core.config import Settings
from cuecard.core.db import Database, Row, UnitOfWork, new_id, typed, utcnow
from cuecard.core.egress import TargetRefused, resolve
from cuecard.core.metrics import WEBHOOK_DELIVERIES_FAILED, WEBHOOK_DELIVERIES_PENDING
from cuecard.webhooks import crypto

log = logging.getLogger("cuecard.webhooks")

SIGNATURE_HEADER = "X-Cuecard-Signature"
_EXCERPT_CHARS = 2000
_MAX_RESPONSE_HEADERS = 50
_LEASE_MARGIN_SECONDS = 10
_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def render_template(template: Any, payload: dict[str, Any]) -> Any:
    """A payload template: strings holding `{{a.b}}` take the payload's value at that path.

    A string that is exactly one placeholder keeps the value's JSON type; inside longer text
    values are written out. Unknown paths become null (or an empty string inside text).
    """
    if isinstance(template, dict):
        return {key: render_template(value, payload) for key, value in template.items()}
    if isinstance(template, list):
        return [render_template(value, payload) for value in template]
    if not isinstance(template, str):
        return template
    whole = _TEMPLATE.fullmatch(template.strip())
    if whole:
        return _lookup(payload, whole.group(1))

    def text(match: re.Match[str]) -> str:
        value = _lookup(payload, match.group(1))
        if value is None:
            return ""
        return value if isinstance(value, str) else json.dumps(value)

    return _TEMPLATE.sub(text, template)


def _lookup(payload: Any, path: str) -> Any:
    node = payload
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status_code: int | None
    duration_ms: int
    body: bytes
    response_body: str | None = None
    response_headers: dict[str, str] | None = None
    error: str | None = None


def _auth_header(webhook: WebhookRow, secret_key: bytes) -> tuple[str, str] | None:
    scheme = webhook.authorization_scheme
    if scheme == "none" or not webhook.authorization_encrypted:
        return None
    value = crypto.decrypt(secret_key, webhook.id, webhook.authorization_encrypted)
    if scheme == "bearer":
        return "Authorization", f"Bearer {value}"
    if scheme == "basic":
        return "Authorization", "Basic " + base64.b64encode(value.encode()).decode()
    if scheme == "api_key":
        return "X-API-Key", value
    return "Authorization", value  # custom: sent as given


def build_request(
    webhook: WebhookRow,
    secret_key: bytes,
    event: str,
    payload: dict[str, Any],
    delivery_id: str | None,
) -> tuple[bytes, dict[str, str]]:
    templates = json.loads(webhook.payload_templates or "{}")
    document = render_template(templates[event], payload) if event in templates else payload
    body = json.dumps(document, separators=(",", ":")).encode()
    headers: dict[str, str] = {}
    for header in json.loads(webhook.custom_headers or "[]"):
        headers[header["key"]] = header["value"]
    auth = _auth_header(webhook, secret_key)
    if auth:
        headers[auth[0]] = auth[1]
    headers.update(
        {
            "Content-Type": "application/json",
            "User-Agent": f"Cuecard-Webhooks/{__version__}",
            "X-Cuecard-Event": event,
        }
    )
    if "event_id" in payload:
        headers["X-Cuecard-Event-Id"] = str(payload["event_id"])
    if delivery_id:
        headers["X-Cuecard-Delivery"] = delivery_id
    if webhook.secret_encrypted:
        secret = crypto.decrypt(secret_key, webhook.id, webhook.secret_encrypted)
        headers[SIGNATURE_HEADER] = sign(secret, int(time.time()), body)
    return body, headers


async def send(
    client: httpx.AsyncClient,
    webhook: WebhookRow,
    body: bytes,
    headers: dict[str, str],
    allow_private: bool,
) -> Outcome:
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        target = await resolve(webhook.webhook_url, allow_private)
    except TargetRefused as exc:
        return Outcome(False, None, elapsed(), body, error=str(exc))
    try:
        response = await client.request(
            webhook.http_method,
            target.url,
            content=body,
            headers={**headers, "Host": target.host_header},
            timeout=float(webhook.timeout),
            extensions=target.extensions,
        )
    except httpx.TimeoutException:
        return Outcome(False, None, elapsed(), body, error="Connection timeout")
    except httpx.HTTPError as exc:
        return Outcome(False, None, elapsed(), body, error=f"Connection failed: {exc}"[:500])
    text = response.text[:_EXCERPT_CHARS]
    response_headers = dict(list(response.headers.items())[:_MAX_RESPONSE_HEADERS])
    ok = 200 <= response.status_code < 300
    return Outcome(
        ok,
        response.status_code,
        elapsed(),
        body,
        response_body=text,
        response_headers=response_headers,
        error=None if ok else f"HTTP {response.status_code} {response.reason_phrase}".strip(),
    )


def backoff_seconds(settings: Settings, attempt: int) -> float:
    """The wait after failed attempt `attempt` (1-based): exponential, capped, half jittered."""
    growth: float = 2.0 ** (attempt - 1)
    delay = min(settings.webhook_retry_max_seconds, settings.webhook_retry_base_seconds * growth)
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not a secret)


class ClaimedRow(msgspec.Struct, frozen=True, gc=False):
    """A due delivery a worker claimed (`_CLAIM`): part of its `webhook_logs` row and its
    webhook's `timeout`; `tests/webhooks/test_rows.py` checks them against the table models."""

    id: str
    webhook_id: str
    event: str
    attempt: int
    payload: str
    original_log_id: str | None
    timeout: int


_CLAIM = (
    "SELECT l.id, l.webhook_id, l.event, l.attempt, l.payload, l.original_log_id, w.timeout "
    "FROM webhook_logs l JOIN webhooks w ON w.id = l.webhook_id "
    "WHERE l.status = 'pending' AND l.next_attempt_at <= :now AND w.enabled = :yes "
    "ORDER BY l.next_attempt_at LIMIT :limit"
)


class DeliveryWorker:
    """Drains due deliveries of one database. `run_once` for a single pass, `run` until stopped."""

    def __init__(
        self, db: Database, settings: Settings, secret_key: bytes, *, batch: int = 32
    ) -> None:
        self.db = db
        self.settings = settings
        self.secret_key = secret_key
        self.batch = batch
        self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self._last_cleanup = 0.0

    async def close(self) -> None:
        await self._client.aclose()

    async def _claim(self) -> list[ClaimedRow]:
        now = utcnow()
        lock = " FOR UPDATE OF l SKIP LOCKED" if self.db.dialect == "postgresql" else ""
        async with self.db.transaction() as uow:
            # Cheap check in autocommit first: an idle worker never takes SQLite's write lock.
            if await uow.one(_CLAIM.replace(":limit", "1"), {"now": now, "yes": True}) is None:
                return []
            rows = typed(
                ClaimedRow,
                await uow.write(_CLAIM + lock, {"now": now, "yes": True, "limit": self.batch}),
            )
            if rows:
                await uow.write_many(
                    "UPDATE webhook_logs SET next_attempt_at = :lease WHERE id = :id",
                    [
                        {
                            "id": row.id,
                            "lease": now + timedelta(seconds=row.timeout + _LEASE_MARGIN_SECONDS),
                        }
                        for row in rows
                    ],
                )
        return rows

    async def run_once(self) -> int:
        """Send every delivery due now (one claimed batch at a time); returns how many."""
        total = 0
        while True:
            rows = await self._claim()
            if not rows:
                break
            await asyncio.gather(*(self._deliver(row) for row in rows))
            total += len(rows)
        await self._cleanup_if_due()
        async with self.db.transaction() as uow:
            pending = await uow.one(
                "SELECT COUNT(*) AS n FROM webhook_logs WHERE status = 'pending'"
            )
        WEBHOOK_DELIVERIES_PENDING.set(int(pending["n"]) if pending else 0)
        return total

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery pass failed; retrying")
                sent = 0
            if not sent:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.webhook_poll_seconds)

    async def _deliver(self, claimed: ClaimedRow) -> None:
        async with self.db.transaction() as uow:
            webhook = typed_webhook(
                await uow.one(
                    f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = :id",
                    {"id": claimed.webhook_id},
                )
            )
        if webhook is None:
            return  # deleted meanwhile; its logs went with it
        payload = json.loads(claimed.payload)
        body, headers = build_request(webhook, self.secret_key, claimed.event, payload, claimed.id)
        headers["X-Cuecard-Attempt"] = str(claimed.attempt)
        outcome = await send(
            self._client, webhook, body, headers, self.settings.allow_private_targets
        )
        async with self.db.transaction() as uow:
            await record_outcome(uow, self.settings, webhook, claimed, outcome)

    async def _cleanup_if_due(self) -> None:
        if time.monotonic() - self._last_cleanup < 60:
            return
        self._last_cleanup = time.monotonic()
        cutoff = utcnow() - timedelta(days=self.settings.webhook_log_retention_days)
        async with self.db.transaction() as uow:
            await uow.write(
                "DELETE FROM webhook_logs WHERE created_at < :cutoff AND status <> 'pending'",
                {"cutoff": cutoff},
            )


@asynccontextmanager
async def running_worker(
    db: Database, settings: Settings, secret_key: bytes
) -> AsyncIterator[DeliveryWorker | None]:
    """A worker running in the background for the block, if settings want one."""
    if not settings.webhook_worker:
        yield None
        return
    worker = DeliveryWorker(db, settings, secret_key)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="cuecard-webhook-worker")
    try:
        yield worker
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 5)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
        await worker.close()


class WebhookRow(msgspec.Struct, frozen=True, gc=False):
    """A row of `webhooks` as every read returns it (`WEBHOOK_COLUMNS` is its fields), secrets
    still encrypted; the JSON columns stay text (`events`, `custom_headers`, `payload_templates`:
    their readers decode them). `tests/webhooks/test_rows.py` fails when it drifts from the
    table model (`models/webhook.py`). Frozen and `gc=False` like `TrainingRow` (scalars only)."""

    id: str
    agent_id: str
    name: str
    webhook_url: str
    secret_encrypted: str | None
    events: str
    timeout: int
    max_retries: int
    enabled: bool
    status: str
    http_method: str
    authorization_scheme: str
    authorization_encrypted: str | None
    custom_headers: str
    payload_templates: str
    created_at: datetime
    updated_at: datetime


# The SELECT list is the row type's fields, in its order.
WEBHOOK_COLUMNS = ", ".join(WebhookRow.__struct_fields__)


def typed_webhooks(rows: list[Row]) -> list[WebhookRow]:
    # One call for the whole list, not strict: SQLite hands a boolean back as 0/1.
    return typed(WebhookRow, rows)


def typed_webhook(row: Row | None) -> WebhookRow | None:
    return None if row is None else typed_webhooks([row])[0]


async def record_outcome(
    uow: UnitOfWork, settings: Settings, webhook: WebhookRow, claimed: ClaimedRow, outcome: Outcome
) -> None:
    """Write what an attempt did; queue the next one if a retry is left."""
    now = utcnow()
    automatic = claimed.original_log_id is None
    retry = not outcome.ok and automatic and claimed.attempt <= webhook.max_retries
    status = "success" if outcome.ok else ("retrying" if retry else "failed")
    if status == "failed":
        WEBHOOK_DELIVERIES_FAILED.inc()
    updated = await uow.write(
        "UPDATE webhook_logs SET status = :status, http_status = :http_status, "
        "request_payload = :request, response_body = :body, response_headers = :headers, "
        "error = :error, duration_ms = :duration, delivered_at = :delivered, "
        "next_attempt_at = NULL WHERE id = :id AND status = 'pending' RETURNING id",
        {
            "id": claimed.id,
            "status": status,
            "http_status": outcome.status_code,
            "request": outcome.body.decode(),
            "body": outcome.response_body,
            "headers": json.dumps(outcome.response_headers)
            if outcome.response_headers is not None
            else None,
            "error": outcome.error,
            "duration": outcome.duration_ms,
            "delivered": now if outcome.ok else None,
        },
    )
    if not updated:
        return  # another worker already recorded this attempt (its lease had run out)
    if retry:
        await uow.write(
            "INSERT INTO webhook_logs (id, webhook_id, event_id, event, attempt, status, "
            "payload, next_attempt_at, created_at) SELECT :id, webhook_id, event_id, event, "
            ":attempt, 'pending', payload, :due, :now FROM webhook_logs WHERE id = :previous",
            {
                "id": new_id(),
                "attempt": claimed.attempt + 1,
                "due": now + timedelta(seconds=backoff_seconds(settings, claimed.attempt)),
                "now": now,
                "previous": claimed.id,
            },
        )
    health = "active" if outcome.ok else ("error" if not retry else None)
    if health is not None and webhook.enabled:
        await uow.write(
            "UPDATE webhooks SET status = :status WHERE id = :id AND enabled = :yes "
            "AND status <> :status",
            {"status": health, "id": webhook.id, "yes": True},
        )
