"""Publishable browser keys (`pk_...`): their origins, and CORS for the routes they may call.

A publishable key lives in a web page, so its secret is public. What keeps it in
its place is the server: it is accepted only from the exact origins stored on it
(`Origin` header), only on operations that opt in with `publishable_methods`
(hogsend_site.auth.HasIngestScope), and browsers get CORS answers only for the
publishable routes (`CORS_URLS_REGEX`) and only for origins some usable key
allows. A script outside a browser can forge `Origin`; the allowlist stops other
websites, not curl, which is why the key can only ingest.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from hogsend_site.models import ApiKey

PUBLISHABLE_PREFIX = "pk_"
MAX_ORIGINS = 50
DEFAULT_PORTS = {"http": 80, "https": 443}
# The allowed origins are read from the database at most this often per cache.
# Creating or revoking a key clears the shared cache at once; an expiry, or a
# process on a cache of its own (no REDIS_URL), may see a stale set for up to this
# long. CORS only lets a browser read answers: the key check on each request is
# never cached.
ORIGINS_CACHE_SECONDS = 60
ORIGINS_CACHE_KEY = "hogsend:publishable-origins"



class OriginError(ValueError):
    """An origin, or a key's list of them, that cannot be allowed."""


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def origin_normalise(value: str) -> str:
    """`scheme://host[:port]` the way a browser sends it in `Origin` (lower case, no
    default port), or OriginError saying what is wrong with `value`."""
    text = (value or "").strip()
    shown = repr(value)
    if not text:
        raise OriginError("an origin cannot be empty")
    if text.lower() == "null":
        raise OriginError("the 'null' origin (sandboxed frames, local files) cannot be allowed")
    if "*" in text:
        raise OriginError(f"{shown}: wildcards are not allowed; list each origin")
    if "://" not in text:
        raise OriginError(f"{shown} is not an origin: give scheme and host, "
                         f"e.g. https://{text.split('/')[0]}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise OriginError(f"{shown} is not an origin: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise OriginError(f"{shown}: the scheme must be http or https")
    if parts.username is not None or parts.password is not None:
        raise OriginError(f"{shown}: an origin has no user or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment or text.endswith(("?", "#")):
        raise OriginError(f"{shown}: an origin has no path, query or fragment "
                         f"(just {scheme}://host[:port])")
    host = parts.hostname or ""
    if not host:
        raise OriginError(f"{shown}: the host is missing")
    if ":" in host:  # an IPv6 literal, which the origin writes in brackets
        try:
            netloc_host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError as exc:
            raise OriginError(f"{shown}: {host!r} is not a valid IPv6 address") from exc
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise OriginError(f"{shown}: {host!r} is not a valid host name") from exc
        if not _HOST.match(host):
            raise OriginError(f"{shown}: {host!r} is not a valid host name")
        netloc_host = host
    if port is not None and port == 0:
        raise OriginError(f"{shown}: port 0 is not a port")
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{netloc_host}"
    return f"{scheme}://{netloc_host}:{port}"


def origins_normalise(values: list[str]) -> list[str]:
    """A key's allowlist: each origin normalised, duplicates dropped, sorted."""
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise OriginError("origins must be a list of strings")
    origins = sorted({origin_normalise(value) for value in values})
    if not origins:
        raise OriginError("a publishable key needs at least one origin "
                         "(e.g. https://app.example.com)")
    if len(origins) > MAX_ORIGINS:
        raise OriginError(f"at most {MAX_ORIGINS} origins per key")
    return origins


def usable_keys() -> list[ApiKey]:
    """Publishable keys that are neither revoked nor expired."""
    now = timezone.now()
    keys = ApiKey.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        prefix__startswith=PUBLISHABLE_PREFIX, revoked_at__isnull=True,
    ).only("prefix", "scopes", "allowed_origins")
    return [key for key in keys if key.is_publishable]


def publishable_origins() -> frozenset[str]:
    """Every origin some usable publishable key allows (cached, see above)."""
    origins = cache.get(ORIGINS_CACHE_KEY)
    if origins is None:
        origins = sorted({origin for key in usable_keys() for origin in key.allowed_origins or ()})
        cache.set(ORIGINS_CACHE_KEY, origins, ORIGINS_CACHE_SECONDS)
    return frozenset(origins)


def publishable_origins_forget() -> None:
    """After a key is created, revoked or changed: re-read the set on the next request."""
    transaction.on_commit(lambda: cache.delete(ORIGINS_CACHE_KEY))


def is_own_origin(request: HttpRequest, origin: str) -> bool:
    """The server's own pages (the Swagger UI at /v1/docs/, the admin): the origin of
    PUBLIC_BASE_URL, or of the address this request was sent to."""
    own = {f"{request.scheme}://{request.get_host()}", settings.PUBLIC_BASE_URL}
    for candidate in own:
        try:
            if origin_normalise(candidate) == origin:
                return True
        except ValueError:
            continue
    return False


@receiver(check_request_enabled, dispatch_uid="hogsend.publishable_cors")
def cors_allowed(sender: object, request: HttpRequest, **kwargs: object) -> bool:
    """django-cors-headers: a browser may read the answer when the route is a
    publishable one and some usable publishable key allows the page's origin."""
    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    origin = request.headers.get("Origin")
    return bool(origin) and origin in publishable_origins()
