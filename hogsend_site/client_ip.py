"""The client's address, for per-IP limits, audit rows and stored clicks.

`X-Forwarded-For` is anyone's to write: a client sends whatever it likes and
each proxy appends the address it saw. So the header is read only when the
socket peer (`REMOTE_ADDR`) is one of `TRUSTED_PROXIES` (addresses or CIDRs,
empty by default), and then from the right: the right-most entry that is not
itself a trusted proxy is the client. Entries further left were written by
that client and are ignored, so a visitor cannot pick a fresh address per
request to dodge a limit or plant one in a click row.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_LENGTH = 64  # LinkClick.ip_address, AuditLog.ip


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False)
                 for entry in entries if entry and entry.strip())


def trusted_networks() -> tuple[IPNetwork, ...]:
    """`TRUSTED_PROXIES` parsed (a bad entry raises at the first request, loudly)."""
    entries = getattr(settings, "TRUSTED_PROXIES", None) or ()
    if isinstance(entries, str):
        entries = entries.split(",")
    return _networks(tuple(str(entry) for entry in entries))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(text: str, networks: tuple[IPNetwork, ...]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)


def client_ip(request: Any) -> str:
    """The address that sent `request` (see the module docstring), at most 64 characters."""
    remote = (request.META.get("REMOTE_ADDR") or "").strip()
    networks = trusted_networks()
    if not networks or not _trusted(remote, networks):
        return remote[:MAX_LENGTH]
    hops = [hop.strip() for hop in (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")]
    client = remote
    for hop in reversed([hop for hop in hops if hop]):
        if _address(hop) is None:
            # Garbage where an address should be: the last trusted hop is all we know.
            break
        client = hop
        if not _trusted(hop, networks):
            break
    return client[:MAX_LENGTH]
