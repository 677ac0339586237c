"""Bearer API keys: `Authorization: Bearer hsk_...`, scopes `ingest` and `admin`."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from hogsend_site.models import ApiKey

SECRET_PREFIX = "hsk_"
# last_used_at is bookkeeping, not an audit trail: write it at most this often.
LAST_USED_DEBOUNCE = timedelta(minutes=5)


def api_key_create(
    *, name: str, scopes: list[str], expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown exactly once."""
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if not scopes or unknown:
        raise ValueError(f"scopes must be a non-empty subset of {ApiKey.Scope.values}")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        prefix=secret[:12],
        digest=ApiKey.digest_of(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    return key, secret


def api_keys_revoke(*, key_ids: list[int]) -> int:
    """Revoke keys now (idempotent: an already revoked key keeps its time)."""
    return ApiKey.objects.filter(pk__in=key_ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


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
        key = ApiKey.objects.filter(digest=ApiKey.digest_of(secret)).first()
        if key is None or not key.matches(secret) or key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Unauthorized")
        if not key.is_usable:
            raise exceptions.AuthenticationFailed("API key expired")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_DEBOUNCE:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiKeyUser(key), key

    def authenticate_header(self, request) -> str:
        # Defining this makes DRF answer 401 (not 403) when the key is missing.
        return 'Bearer realm="hogsend"'


class HasIngestScope(permissions.BasePermission):
    scope = ApiKey.Scope.INGEST

    def has_permission(self, request, view) -> bool:
        key = getattr(request, "auth", None)
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated()
        return key.has_scope(self.scope)


class HasAdminScope(HasIngestScope):
    scope = ApiKey.Scope.ADMIN
