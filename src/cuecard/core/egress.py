"""Outbound calls (action invocations, webhook deliveries): which addresses are public.

Private, loopback, link-local, multicast and other non-global addresses are refused by both
callers unless CUECARD_ALLOW_PRIVATE_TARGETS=true.
"""

from __future__ import annotations

import ipaddress


def is_public_address(address: str) -> bool:
    """Whether `address` (an IP literal, maybe with an IPv6 zone) is globally routable unicast;
    an IPv4-mapped IPv6 address is judged as its IPv4 address. ValueError if it is no address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast
