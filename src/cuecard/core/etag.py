"""ETag on reads and If-Match on writes, for any resource: one helper every domain uses.

A resource's ETag is a hash of its JSON representation (what GET returns as `data`), so it
changes exactly when something a client can see changes, with no version column to keep.
A write that sends `If-Match` takes the resource's lock, recomputes the current ETag inside its
transaction and goes ahead only if it matches (else 412): two editors can no longer overwrite
each other. Without If-Match a write behaves as before.

Use, in a router:

    response.headers["ETag"] = etag_of(agent)                          # on a read
    await require_match(request, uow, f"agent:{id}", lambda: read())   # before a write
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from pydantic_core import to_json

from cuecard.core.db import UnitOfWork
from cuecard.core.errors import PreconditionFailed


def etag_of(resource: Any) -> str:
    """A strong ETag for a resource's JSON representation, or for that representation itself
    when `resource` is the bytes a read already encoded (`enveloped_with_etag` takes the same).

    pydantic's own serializer: the same resource always gives the same bytes (fields in model
    order), at a fraction of the cost of `json.dumps(..., sort_keys=True)` on a big list."""
    return _tag(_representation(resource))


def _representation(resource: Any) -> bytes:
    return resource if isinstance(resource, bytes) else to_json(resource, by_alias=True)


def _tag(representation: bytes) -> str:
    return '"' + hashlib.sha256(representation).hexdigest()[:32] + '"'


def enveloped_with_etag(resource: Any) -> Response:
    """`{"success": true, "data": resource}` with the resource's ETag, serialised once (or not
    at all: `resource` may be its JSON bytes, see `etag_of`).

    The same bytes as returning `Envelope(data=resource)` and setting `etag_of(resource)`, which
    serialised the resource twice and had FastAPI validate it again against the response model
    first (bench/README.md, "Where the time goes": a third of a list request's serialisation).
    The route keeps its response model for the OpenAPI document."""
    data = _representation(resource)
    return enveloped(data, headers={"ETag": _tag(data)})


def enveloped(data: bytes, headers: dict[str, str] | None = None) -> Response:
    """`{"success": true, "data": ...}` around a representation already encoded."""
    return Response(
        b'{"success":true,"data":' + data + b"}", media_type="application/json", headers=headers
    )


def _candidates(if_match: str) -> list[str]:
    return [part.strip() for part in if_match.split(",") if part.strip()]


async def require_match(
    request: Request,
    uow: UnitOfWork,
    lock_key: str,
    current: Callable[[], Awaitable[Any]],
) -> None:
    """412 unless the request's If-Match names the resource's current ETag (or is `*` and the
    resource exists). No If-Match: nothing to check. Call it before the write, in the write's
    unit of work: the lock holds until the transaction ends, so the check and the write are one
    step for every writer that checks."""
    if_match = request.headers.get("if-match")
    if if_match is None:
        return
    await uow.lock(lock_key)
    resource = await current()
    tags = _candidates(if_match)
    if resource is not None and ("*" in tags or etag_of(resource) in tags):
        return
    raise PreconditionFailed()
