"""Idempotency-Key on every POST, PUT, PATCH and DELETE (Stripe's semantics).

The first request with a key claims it in its own committed transaction (so every worker and
server sees the claim), runs, and records its response in the same transaction as its writes:
the write is committed if and only if its response is remembered. Within 24 hours:

- the same key with the same request (method, path, query, body) replays the first response,
  status and body, with `Idempotent-Replayed: true`, and writes nothing;
- the same key with another request is 422 IDEMPOTENCY_KEY_REUSED;
- while the first request still runs it is 409 IDEMPOTENCY_KEY_IN_PROGRESS (Retry-After: 1).

What is not remembered, so a retry runs again: 401 (the token was not accepted), 429 and 503
(nothing ran), 5xx. A claim whose server died mid-request is taken over after its lease.
Keys belong to the token that sent them (a keyed hash of the bearer token).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from cuecard.core.db import Database, UnitOfWork, new_id, parse_timestamp, utcnow
from cuecard.core.errors import Conflict, ValidationFailed

HEADER = "idempotency-key"
METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TTL = timedelta(hours=24)
LEASE = timedelta(minutes=2)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_NOT_REMEMBERED = frozenset({401, 408, 429})
_KEPT_HEADERS = ("content-type", "etag", "location")


class IdempotencyKeyReused(ValidationFailed):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = "This Idempotency-Key was already used for a different request."

    def __init__(self) -> None:
        super().__init__({"Idempotency-Key": [self.message]}, self.message)


class IdempotencyKeyInProgress(Conflict):
    code = "IDEMPOTENCY_KEY_IN_PROGRESS"
    message = "A request with this Idempotency-Key is still running; retry shortly."
    retry_after_seconds = 1


def remembered(status_code: int) -> bool:
    return status_code < 500 and status_code not in _NOT_REMEMBERED


@dataclass(frozen=True, slots=True)
class Claim:
    id: str


async def begin(db: Database, request: Request, key: str, secret: bytes) -> Claim | Response:
    """Claim `key` for this request, or the stored response to replay. Raises 409/422."""
    if not _KEY.match(key):
        raise ValidationFailed(
            {
                "Idempotency-Key": [
                    "The Idempotency-Key must be 1 to 255 printable ASCII characters."
                ]
            }
        )
    scope = hmac.new(
        secret, b"idempotency:" + request.headers.get("authorization", "").encode(), "sha256"
    ).hexdigest()
    body = await request.body()
    fingerprint = hashlib.sha256(
        b"\n".join(
            [
                request.method.encode(),
                request.scope.get("raw_path") or request.url.path.encode(),
                request.scope.get("query_string", b""),
                body,
            ]
        )
    ).hexdigest()
    now = utcnow()
    async with db.transaction() as uow:
        if random.random() < 0.01:  # noqa: S311 (housekeeping, not security)
            await uow.write("DELETE FROM idempotency_keys WHERE expires_at < :now", {"now": now})
        claim_id = new_id()
        rows = await uow.write(
            "INSERT INTO idempotency_keys (id, scope, key, fingerprint, state, created_at, "
            "lease_expires_at, expires_at) VALUES (:id, :scope, :key, :fingerprint, "
            "'running', :now, :lease_expires_at, :expires_at) "
            "ON CONFLICT (scope, key) DO NOTHING RETURNING id",
            {
                "id": claim_id,
                "scope": scope,
                "key": key,
                "fingerprint": fingerprint,
                "now": now,
                "lease_expires_at": now + LEASE,
                "expires_at": now + TTL,
            },
        )
        if rows:
            return Claim(claim_id)
        row = await uow.one(
            "SELECT id, fingerprint, state, status_code, response_headers, response_body, "
            "lease_expires_at, expires_at FROM idempotency_keys "
            "WHERE scope = :scope AND key = :key",
            {"scope": scope, "key": key},
        )
        if row is None:  # deleted between the insert and the select: the retry claims it
            raise IdempotencyKeyInProgress()
        lease_expires_at = parse_timestamp(row["lease_expires_at"])
        expired = parse_timestamp(row["expires_at"]) < now
        if expired or (row["state"] == "running" and lease_expires_at < now):
            # Expired, or abandoned by a server that died: this request takes it over.
            taken = await uow.write(
                "UPDATE idempotency_keys SET fingerprint = :fingerprint, state = 'running', "
                "status_code = NULL, response_headers = NULL, response_body = NULL, "
                "created_at = :now, lease_expires_at = :lease_expires_at, expires_at = :expires_at "
                "WHERE id = :id AND lease_expires_at = :seen RETURNING id",
                {
                    "id": row["id"],
                    "fingerprint": fingerprint,
                    "now": now,
                    "lease_expires_at": now + LEASE,
                    "expires_at": now + TTL,
                    "seen": lease_expires_at,
                },
            )
            if taken:
                return Claim(row["id"])
            raise IdempotencyKeyInProgress()
        if not hmac.compare_digest(row["fingerprint"], fingerprint):
            raise IdempotencyKeyReused()
        if row["state"] != "done":
            raise IdempotencyKeyInProgress()
        headers = json.loads(row["response_headers"] or "{}")
        headers["Idempotent-Replayed"] = "true"
        return Response(
            row["response_body"].encode(), status_code=row["status_code"], headers=headers
        )


async def record(uow: UnitOfWork, claim: Claim, response: Response) -> None:
    """Store the response in the request's own transaction, beside its writes."""
    headers = {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers}
    await uow.write(
        "UPDATE idempotency_keys SET state = 'done', status_code = :status, "
        "response_headers = :headers, response_body = :body WHERE id = :id",
        {
            "id": claim.id,
            "status": response.status_code,
            "headers": json.dumps(headers),
            "body": bytes(response.body).decode("utf-8"),
        },
    )


async def release(db: Database, claim: Claim) -> None:
    """Forget the claim: the request did not run to an answer worth replaying."""
    async with db.transaction() as uow:
        await uow.write("DELETE FROM idempotency_keys WHERE id = :id", {"id": claim.id})
