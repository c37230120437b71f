"""The outbound call of an action: refuses private and loopback targets (unless the operator
allows them), never follows redirects, bounds time and response size, logs no header.

The target's name is resolved once, checked, and the request goes to that address (core.egress),
so a name that answers a public address for the check and a private one a moment later (DNS
rebinding) cannot reach the private one.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

from cuecard import __version__
from cuecard.core import egress
from cuecard.core.errors import AppError


class TargetNotAllowed(AppError):
    status_code = 422
    code = "ACTION_TARGET_NOT_ALLOWED"


class ActionTimedOut(AppError):
    status_code = 504
    code = "ACTION_TIMEOUT"


class ActionUpstreamError(AppError):
    status_code = 502
    code = "ACTION_UPSTREAM_ERROR"


class ActionResponseTooLarge(AppError):
    status_code = 502
    code = "ACTION_RESPONSE_TOO_LARGE"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any
    duration_ms: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def check_target(url: str, allow_private: bool) -> egress.Target:
    """Where to send the call: the checked address (422 private, 502 unresolvable)."""
    try:
        return await egress.resolve(url, allow_private)
    except egress.PrivateTarget as refused:
        raise TargetNotAllowed(
            f"The action's url resolves to a private or loopback address ({refused.address}); "
            "Cuecard refuses such targets unless CUECARD_ALLOW_PRIVATE_TARGETS=true."
        ) from None
    except egress.UnresolvableTarget as unresolved:
        raise ActionUpstreamError(
            f"The action's host {unresolved.host!r} could not be resolved."
        ) from None
    except egress.TargetRefused:
        raise ActionUpstreamError("The action's url is not a valid http(s) URL.") from None


async def call(
    *,
    url: str,
    arguments: dict[str, Any],
    headers: dict[str, str],
    timeout_seconds: float,
    max_bytes: int,
    allow_private: bool,
) -> Answer:
    target = await check_target(url, allow_private)
    sent = {
        "User-Agent": f"cuecard/{__version__}",
        "Accept": "application/json, text/plain;q=0.9, */*;q=0.1",
        **headers,
        "Host": target.host_header,
    }
    started = time.perf_counter()
    try:
        async with (
            httpx.AsyncClient(follow_redirects=False, timeout=timeout_seconds) as client,
            client.stream(
                "POST", target.url, json=arguments, headers=sent, extensions=target.extensions
            ) as response,
        ):
            chunks: list[bytes] = []
            size = 0
            # Decoded bytes: the limit also bounds what a compressed answer expands to.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ActionResponseTooLarge(
                        f"The action's response is larger than {max_bytes} bytes."
                    )
                chunks.append(chunk)
            status = response.status_code
            content_type = response.headers.get("content-type", "")
            encoding = response.encoding or "utf-8"
    except httpx.TimeoutException:
        raise ActionTimedOut(f"The action did not answer within {timeout_seconds:g} s.") from None
    except httpx.HTTPError as exc:
        raise ActionUpstreamError(f"The action's url could not be reached: {exc}") from None
    raw = b"".join(chunks)
    text = raw.decode(encoding, errors="replace")
    body: Any = text
    if "json" in content_type or text[:1] in ("{", "["):
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    return Answer(status, body, (time.perf_counter() - started) * 1000)


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}")


def render(template: str, body: Any, arguments: dict[str, Any]) -> str:
    """speak_on_receive with `{{ field }}` / `{{ response.a.b }}` from the response JSON and
    `{{ arguments.x }}` from the call; a missing value renders as nothing."""

    def lookup(path: str) -> str:
        parts = path.split(".")
        root: Any = body
        if parts[0] == "arguments":
            root, parts = arguments, parts[1:]
        elif parts[0] == "response":
            parts = parts[1:]
        value = root
        for part in parts:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return ""
        if isinstance(value, str):
            return value
        if value is None:
            return ""
        return json.dumps(value, ensure_ascii=False)

    return _PLACEHOLDER.sub(lambda m: lookup(m.group(1)), template)
