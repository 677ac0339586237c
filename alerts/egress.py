"""Where outbound webhooks may connect: public addresses only, pinned at connect time.

An endpoint URL is typed by staff, so without a guard the delivery worker is a
request-forgery proxy into the private network (the cloud metadata service at
169.254.169.254, an admin port on localhost, a database on 10.x). The policy:

* only http(s) URLs;
* every address the host resolves to must be public: loopback, private
  (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10), unspecified,
  multicast, reserved, documentation, carrier-grade NAT (100.64/10) and the
  same addresses wrapped in IPv6 (IPv4-mapped, NAT64, 6to4, IPv4-compatible)
  are refused, however the address is spelled (`0x7f000001`, `2130706433`,
  `[::1]`, a name that resolves there);
* hosts named in `WEBHOOK_ALLOWED_HOSTS` skip the address check (an internal
  receiver the operator means to reach, or a test's localhost server).

The check runs when an endpoint is saved (`url_check`, a clear form error) and
again at every delivery (`post`), because DNS can change after the save. The
delivery resolves once, checks every address, then connects to a checked
address itself, so a rebinding resolver cannot answer "public" to the check
and "internal" to the connect; the Host header and TLS SNI/certificate check
still use the URL's name. Redirects are never followed (a 3xx is the answer).
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from socket import SOCK_STREAM, create_connection, gaierror, getaddrinfo, socket
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Not flagged by the stdlib's registry in every supported Python: IPv4-compatible
# (deprecated, ::a.b.c.d), site-local (deprecated) and local-use NAT64.
_ALSO_REFUSED = tuple(ipaddress.ip_network(net) for net in (
    "::/96", "fec0::/10", "64:ff9b:1::/48"))


class Refused(Exception):
    """This URL may not be called (scheme or address); the message says why."""


def allowed_hosts() -> frozenset[str]:
    """`WEBHOOK_ALLOWED_HOSTS`, lower-cased, IPv6 brackets dropped."""
    names = getattr(settings, "WEBHOOK_ALLOWED_HOSTS", None) or ()
    return frozenset(name.strip().strip("[]").lower() for name in names if name.strip())


def address_refusal(ip: IPAddress) -> str | None:
    """None for a public address; otherwise the kind of address it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_refusal(embedded)
    kinds = (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
             ("unspecified", ip.is_unspecified), ("multicast", ip.is_multicast),
             ("carrier-grade NAT", ip in _CGNAT), ("private", ip.is_private),
             ("reserved", ip.is_reserved or any(ip in net for net in _ALSO_REFUSED)),
             ("non-public", not ip.is_global))
    return next((kind for kind, hit in kinds if hit), None)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line

    @classmethod
    def of(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise Refused(f"{url!r} is not an http(s) URL")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise Refused(f"{url!r} has an invalid port") from exc
        if not parts.hostname:
            raise Refused(f"{url!r} names no host")
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        return cls(parts.scheme, parts.hostname, port, path)


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order, without repeats."""
    infos = getaddrinfo(host, port, type=SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def addresses_check(host: str, addresses: Iterable[str]) -> None:
    """Refuse when any address is not public (a name with one internal address
    could be answered with it on the next lookup)."""
    for address in addresses:
        refusal = address_refusal(ipaddress.ip_address(address.split("%", 1)[0]))
        if refusal is not None:
            shown = "" if host == address else f" resolves to {address}, which"
            raise Refused(f"{host}{shown} is not a public address ({refusal}); only public "
                          "addresses, or hosts in WEBHOOK_ALLOWED_HOSTS, may receive webhooks")


def url_check(url: str) -> None:
    """Save-time check of an endpoint URL; raises `Refused`.

    A name that does not resolve (yet) is let through: delivery resolves and
    checks again before every connection, which is the check that holds.
    """
    target = Target.of(url)
    if target.host in allowed_hosts():
        return
    try:
        addresses = resolve(target.host, target.port)
    except (gaierror, UnicodeError):
        return
    addresses_check(target.host, addresses)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, read_limit: int,
         allow: Iterable[str] = ()) -> Answer:
    """POST to `url` through a checked, pinned address; raises `Refused`,
    `OSError` or `http.client.HTTPException`. Reads at most `read_limit` bytes."""
    target = Target.of(url)
    addresses = resolve(target.host, target.port)
    if target.host not in allowed_hosts() | {h.lower() for h in allow}:
        addresses_check(target.host, addresses)
    connection = _connection(target, addresses, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.read(read_limit))
    finally:
        connection.close()


def _connection(target: Target, addresses: list[str],
                timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _PinnedHTTPSConnection(target.host, target.port, addresses=addresses,
                                      timeout=timeout)
    return _PinnedHTTPConnection(target.host, target.port, addresses=addresses,
                                 timeout=timeout)


def _connect_first(addresses: list[str], port: int, timeout: float) -> socket:
    """A socket to the first checked address that answers (never a new lookup)."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the checked addresses; the Host header stays the URL's name."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect_first(self.addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked addresses; SNI and the certificate check use the name."""

    def __init__(self, host: str, port: int, *, addresses: list[str], timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.addresses = addresses

    def connect(self) -> None:
        sock = _connect_first(self.addresses, self.port, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
