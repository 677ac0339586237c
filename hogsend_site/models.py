"""Site-wide models: the abstract timestamped base, API keys and the audit log."""

from __future__ import annotations

import hashlib
import hmac

from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ApiKey(TimeStampedModel):
    class Scope(models.TextChoices):
        INGEST = "ingest", "ingest"
        ADMIN = "admin", "admin (implies ingest)"
        # The only scope of a publishable browser key (`pk_...`), never combined.
        INGEST_PUBLIC = "ingest-public", "ingest-public (browser key)"

    name = models.CharField(max_length=120)
    # First characters of the secret, shown in the admin so staff can tell keys apart.
    prefix = models.CharField(max_length=16)
    # SHA-256 hex of the whole secret; the secret itself is never stored.
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Publishable keys only: the exact browser origins (`https://app.example.com`)
    # whose pages may use the key. Empty for secret keys.
    allowed_origins = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.digest, self.digest_of(secret))

    @property
    def is_publishable(self) -> bool:
        """A browser key: its secret is public, so it is judged by its own rules
        (origin allowlist, opted-in routes) and never holds another scope."""
        return self.Scope.INGEST_PUBLIC in (self.scopes or []) or self.prefix.startswith("pk_")

    def has_scope(self, scope: str) -> bool:
        if self.is_publishable:
            return False
        scopes = set(self.scopes or [])
        return scope in scopes or self.Scope.ADMIN in scopes

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class AuditLog(models.Model):
    """Append-only record of an admin-plane write: who did what to which resource.

    Written for every successful admin API POST/PUT/PATCH/DELETE (the actor is
    the API key's name) and by any staff action that records itself (the actor
    is the staff username). Rows are never updated.
    """

    actor = models.CharField(max_length=255)
    # HTTP method + route name, e.g. "PUT contact-preferences".
    action = models.CharField(max_length=120)
    resource = models.CharField(max_length=60)
    resource_id = models.CharField(max_length=255, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    ip = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /v1/admin/audit-logs?actor=… and ?resource=…, newest first.
            models.Index(fields=["actor", "-created_at"], name="auditlog_actor_idx"),
            models.Index(fields=["resource", "-created_at"], name="auditlog_resource_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor}: {self.action} {self.resource} {self.resource_id}".strip()

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("audit log rows are append-only")
        super().save(*args, **kwargs)
