"""Who is asking: the client's address, and the shortened forms of it that are kept.

``request.remote_addr`` is the client's address only because ``SIGNATORY_PROXY_FIX``
says how many reverse proxies to trust (``create_app`` installs Werkzeug's ``ProxyFix``
for that many hops); a raw ``X-Forwarded-For`` is never read here.

Two shortenings, for two uses:

- ``limit_key``: what a rate limit counts by. An IPv4 address whole; an IPv6 address by its
  /64, the block one subscriber usually holds, so a client cannot step through its own
  block to dodge a limit.
- ``address_prefix``: what is stored with a signature for the abuse reports, never the
  address itself: an IPv4 /24 or an IPv6 /48.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from flask import request

UNKNOWN = "unknown"


def client_address() -> str:
    """The client's address as the app sees it (after the trusted proxies), or ``unknown``."""
    return request.remote_addr or UNKNOWN


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return parsed.ipv4_mapped
    return parsed


# Asked for at every sign POST and rate-limited request, mostly for the same few addresses
# (a proxy, a busy office): remembered, as parsing and rebuilding costs more than a look-up.
@lru_cache(maxsize=4096)
def _network(address: str, v4: int, v6: int) -> str:
    parsed = _parse(address)
    if parsed is None:
        return UNKNOWN
    bits = v4 if parsed.version == 4 else v6
    return str(ipaddress.ip_network(f"{parsed}/{bits}", strict=False))


def limit_key(address: str) -> str:
    """The key a rate limit counts ``address`` under: IPv4 whole, IPv6 by its /64."""
    return _network(address, 32, 64)


def address_prefix(address: str) -> str:
    """The part of ``address`` kept for abuse reports: its IPv4 /24 or IPv6 /48."""
    return _network(address, 24, 48)
