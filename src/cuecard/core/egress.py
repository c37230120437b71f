"""Outbound calls (action invocations, webhook deliveries): where they may go.

Private, loopback, link-local, multicast and other non-global addresses are refused by both
callers unless CUECARD_ALLOW_PRIVATE_TARGETS=true. A target's name is resolved once, checked,
and the request is sent to that very address (with the original Host and TLS server name), so
a second, different DNS answer (rebinding) cannot slip past the check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class TargetRefused(Exception):
    """The URL is not one Cuecard may call."""


class InvalidTarget(TargetRefused):
    pass


class UnresolvableTarget(TargetRefused):
    def __init__(self, host: str) -> None:
        super().__init__(f"Could not resolve host {host}")
        self.host = host


class PrivateTarget(TargetRefused):
    def __init__(self, address: str) -> None:
        super().__init__("Target address is private or loopback")
        self.address = address


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # with the host replaced by the address checked
    host_header: str
    sni_hostname: str | None

    @property
    def extensions(self) -> dict[str, str]:
        """httpx request extensions: the TLS server name when the URL named a host."""
        return {"sni_hostname": self.sni_hostname} if self.sni_hostname else {}


def is_public_address(address: str) -> bool:
    """Whether `address` (an IP literal, maybe with an IPv6 zone) is globally routable unicast;
    an IPv4-mapped IPv6 address is judged as its IPv4 address. ValueError if it is no address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


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
        return False  # a name: checked when it is resolved, before the call


async def resolve(url: str, allow_private: bool) -> Target:
    """The address to send `url`'s request to, checked; TargetRefused (a subclass saying why)
    when the URL is malformed, its host does not resolve or resolves to a refused address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidTarget("Invalid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidTarget("Invalid URL")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise UnresolvableTarget(host) from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnresolvableTarget(host)
    if not allow_private:
        refused = sorted(a for a in set(addresses) if not is_public_address(a))
        if refused:
            raise PrivateTarget(refused[0])
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
