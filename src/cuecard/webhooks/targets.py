"""Where a delivery may go. Private, loopback, link-local and other non-public addresses are
refused unless CUECARD_ALLOW_PRIVATE_TARGETS=true, so a webhook cannot be aimed at the server's
own network. The name is resolved once and the request is sent to that address (with the original
Host and TLS server name), so a second, different DNS answer cannot slip past the check."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from cuecard.core.egress import is_public_address


class TargetRefused(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # with the host replaced by the address checked
    host_header: str
    sni_hostname: str | None


def literal_refused(url: str, allow_private: bool) -> bool:
    """A URL whose host is an address (or localhost) that would be refused: told at write time."""
    if allow_private:
        return False
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not is_public_address(host)
    except ValueError:
        return False  # a name: checked when it is resolved, at delivery


async def resolve(url: str, allow_private: bool) -> Target:
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise TargetRefused("Invalid webhook URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"Could not resolve host {host}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"Could not resolve host {host}")
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise TargetRefused("Target address is private or loopback")
    address = addresses[0]
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    is_name = host != address
    return Target(
        url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        host_header=parts.netloc.rpartition("@")[2],
        sni_hostname=host if parts.scheme == "https" and is_name else None,
    )
