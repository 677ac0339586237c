"""Site-wide models: the abstract timestamped base and API keys."""

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

    name = models.CharField(max_length=120)
    # First characters of the secret, shown in the admin so staff can tell keys apart.
    prefix = models.CharField(max_length=16)
    # SHA-256 hex of the whole secret; the secret itself is never stored.
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.digest, self.digest_of(secret))

    def has_scope(self, scope: str) -> bool:
        scopes = set(self.scopes or [])
        return scope in scopes or self.Scope.ADMIN in scopes

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
