"""Bearer API keys: `Authorization: Bearer hsk_...`, scopes `ingest` and `admin`;
publishable browser keys `pk_...` (scope `ingest-public`, hogsend_site/browser_keys.py).

A view lets publishable keys call some of its methods by naming them:
`publishable_methods = frozenset({"POST"})`. Nothing else accepts them.

Each process keeps the keys it has seen for `API_KEY_CACHE_SECONDS` (default 10),
so an ingest request costs no key query. A revoke (`api_keys_revoke`: the admin, the
admin API) or a saved or deleted key row forgets every cached key in the process
that made the change at once; other processes read it again within
`API_KEY_CACHE_SECONDS`, the longest a revoked key keeps working. Expiry is checked
against the clock on every request, cached or not.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from hogsend_site.browser_keys import (
    PUBLISHABLE_PREFIX,
    OriginError,
    is_own_origin,
    origins_normalise,
    publishable_origins_forget,
)
from hogsend_site.models import ApiKey

SECRET_PREFIX = "hsk_"
# last_used_at is bookkeeping, not an audit trail: write it at most this often.
LAST_USED_DEBOUNCE = timedelta(minutes=5)
API_KEY_CACHE_SECONDS = 10

# digest -> (_clock() when read, the row as read). Process-local: see above.
_known_keys: dict[str, tuple[float, ApiKey]] = {}
_clock = time.monotonic


def api_key_grant_check(
    *, scopes: list[str], allowed_origins: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """The scopes and origins a key may be created with, normalised, or ValueError
    (OriginError when the origins are at fault).

    `ingest-public` (a publishable key) stands alone and needs origins; a secret key
    takes none.
    """
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if not scopes or unknown:
        raise ValueError(f"scopes must be a non-empty subset of {ApiKey.Scope.values}")
    scopes = sorted(set(scopes))
    if ApiKey.Scope.INGEST_PUBLIC in scopes:
        if len(scopes) > 1:
            raise ValueError("ingest-public (a publishable key) cannot be combined "
                             "with other scopes")
        return scopes, origins_normalise(list(allowed_origins or []))
    if allowed_origins:
        raise OriginError("allowed origins are only for publishable keys (scope ingest-public)")
    return scopes, []


def api_key_create(
    *, name: str, scopes: list[str], expires_at: datetime | None = None,
    allowed_origins: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown exactly once.

    With scope `ingest-public` the key is a publishable browser key (`pk_...`),
    usable only from `allowed_origins`.
    """
    scopes, origins = api_key_grant_check(scopes=scopes, allowed_origins=allowed_origins)
    publishable = scopes == [ApiKey.Scope.INGEST_PUBLIC]
    secret = (PUBLISHABLE_PREFIX if publishable else SECRET_PREFIX) + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        prefix=secret[:12],
        digest=ApiKey.digest_of(secret),
        scopes=scopes,
        allowed_origins=origins,
        expires_at=expires_at,
    )
    if publishable:
        publishable_origins_forget()
    return key, secret


def api_keys_revoke(*, key_ids: list[int]) -> int:
    """Revoke keys now (idempotent: an already revoked key keeps its time)."""
    count = ApiKey.objects.filter(pk__in=key_ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    publishable_origins_forget()
    api_keys_forget()
    return count


def api_keys_forget() -> None:
    """After keys are revoked or changed: this process reads every key again, now
    and once more when the change commits (a request in between may have cached
    the row as it was)."""
    _known_keys.clear()
    transaction.on_commit(_known_keys.clear)


def _forget_on_change(sender: type[ApiKey], **kwargs: object) -> None:
    api_keys_forget()


# Admin edits (scopes, expiry) and deletes save the row; revokes use api_keys_revoke.
post_save.connect(_forget_on_change, sender=ApiKey, dispatch_uid="hogsend.api_keys_forget")
post_delete.connect(_forget_on_change, sender=ApiKey,
                    dispatch_uid="hogsend.api_keys_forget_deleted")


def _cache_seconds() -> float:
    return float(getattr(settings, "API_KEY_CACHE_SECONDS", API_KEY_CACHE_SECONDS))


def api_key_for(digest: str) -> ApiKey | None:
    """The key with this digest, from this process's cache while it is fresh.

    Unknown digests are not cached, so a key works the moment it is created.
    """
    now = _clock()
    cached = _known_keys.get(digest)
    if cached is not None and now - cached[0] < _cache_seconds():
        return cached[1]
    key = ApiKey.objects.filter(digest=digest).first()
    if key is None:
        _known_keys.pop(digest, None)
    elif _cache_seconds() > 0:
        _known_keys[digest] = (now, key)
    return key


class ApiKeyUser:
    """The authenticated principal of an API request (DRF's request.user)."""

    is_authenticated = True

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def __str__(self) -> str:
        return f"api-key:{self.key.prefix}"


class BearerKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise exceptions.AuthenticationFailed("Unauthorized")
        secret = secret.strip()
        # Lookup by digest is an index hit; compare_digest keeps the final check
        # constant-time regardless of how the row was found.
        key = api_key_for(ApiKey.digest_of(secret))
        if key is None or not key.matches(secret) or key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Unauthorized")
        if not key.is_usable:
            raise exceptions.AuthenticationFailed("API key expired")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_DEBOUNCE:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now  # the cached row: debounce in this process too
        return ApiKeyUser(key), key

    def authenticate_header(self, request) -> str:
        # Defining this makes DRF answer 401 (not 403) when the key is missing.
        return 'Bearer realm="hogsend"'


class BrowserKeyRefused(exceptions.APIException):
    """A key used where its kind may not be: 403 naming why (not DRF's
    PermissionDenied, which the error handler words as a missing scope)."""

    status_code = 403
    default_code = "forbidden"


class HasIngestScope(permissions.BasePermission):
    """The data plane's gate, and (as HasAdminScope) the admin plane's.

    Besides the scope it enforces the browser rules: a publishable key only on the
    view's `publishable_methods` and from one of its origins; a secret key never
    from a web page of another origin (a secret in a page is a leaked secret).
    """

    scope = ApiKey.Scope.INGEST

    def has_permission(self, request, view) -> bool:
        key = getattr(request, "auth", None)
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated()
        origin = request.headers.get("Origin")
        if key.is_publishable:
            opted_in = self.scope == ApiKey.Scope.INGEST and request.method in getattr(
                view, "publishable_methods", ())
            if not opted_in:
                raise BrowserKeyRefused("Forbidden: not allowed with a publishable key")
            # Fail closed: a key stored without origins, or with other scopes, is refused.
            if key.scopes != [ApiKey.Scope.INGEST_PUBLIC]:
                raise BrowserKeyRefused("Forbidden: insufficient scope")
            if not origin or origin not in (key.allowed_origins or ()):
                raise BrowserKeyRefused("Forbidden: origin not allowed for this publishable key")
            return True
        if origin and not is_own_origin(request, origin):
            raise BrowserKeyRefused(
                "Secret keys cannot be used from a browser; use a publishable key")
        return key.has_scope(self.scope)


class HasAdminScope(HasIngestScope):
    scope = ApiKey.Scope.ADMIN
