"""Contacts, their merge aliases, and email preferences (with an audit log)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from hogsend_site.models import TimeStampedModel


def normalize_email(email: str | None) -> str | None:
    """An address as stored and matched: trimmed and lower-cased; None when empty.

    It sits beside the column it fills, below both identity and preferences
    (which identity builds on), so both spell addresses the same way.
    """
    if email is None:
        return None
    email = email.strip().lower()
    return email or None


class Contact(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    # Normalised on write (trimmed, lower-cased); unique case-insensitively.
    email = models.CharField(max_length=320, null=True, blank=True)
    anonymous_id = models.CharField(max_length=200, null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Identity keys are unique among live contacts; a soft-deleted contact
            # frees its keys for a new one.
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(deleted_at__isnull=True, external_id__isnull=False),
                name="contact_external_id_live_uniq",
            ),
            models.UniqueConstraint(
                Lower("email"),
                condition=Q(deleted_at__isnull=True, email__isnull=False),
                name="contact_email_live_uniq",
            ),
            models.UniqueConstraint(
                fields=["anonymous_id"],
                condition=Q(deleted_at__isnull=True, anonymous_id__isnull=False),
                name="contact_anonymous_id_live_uniq",
            ),
        ]
        indexes = [
            # Admin list: most recently seen first.
            models.Index(fields=["-last_seen_at"], name="contact_last_seen_idx"),
        ]

    def __str__(self) -> str:
        return self.email or self.external_id or self.anonymous_id or str(self.id)

    @property
    def key(self) -> str:
        """The canonical key (userId, else anonymousId, else uuid) every history table stores."""
        return self.external_id or self.anonymous_id or str(self.id)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ContactAlias(TimeStampedModel):
    """A key that once belonged to a contact merged away into `contact`."""

    class Kind(models.TextChoices):
        EXTERNAL_ID = "external_id"
        EMAIL = "email"
        ANONYMOUS_ID = "anonymous_id"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="aliases")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=320)
    from_contact_id = models.UUIDField(null=True, blank=True)
    reason = models.CharField(max_length=40, default="merge")

    class Meta:
        verbose_name_plural = "contact aliases"
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="contact_alias_kind_value_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.kind}={self.value} → {self.contact_id}"


class EmailPreference(TimeStampedModel):
    """Subscription state for one (person key, address) pair; a person may own several rows."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="preferences"
    )
    user_key = models.CharField(max_length=255)
    email = models.CharField(max_length=320)
    unsubscribed_all = models.BooleanField(default=False)
    suppressed = models.BooleanField(default=False)
    bounce_count = models.PositiveIntegerField(default=0)
    # list/category id -> subscribed bool; an explicit False always wins.
    categories = models.JSONField(default=dict, blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)
    last_bounce_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_key", "email"], name="pref_user_email_uniq"),
        ]
        indexes = [
            # Send-time checks aggregate every row for an address.
            models.Index(fields=["email"], name="pref_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.user_key})"


class PreferenceChange(models.Model):
    """Append-only audit of every preference write: who, when, what, from where."""

    class Source(models.TextChoices):
        STAFF = "staff"
        API = "api"
        LINK = "link"
        BOUNCE = "bounce"
        COMPLAINT = "complaint"
        JOURNEY = "journey"

    preference = models.ForeignKey(
        EmailPreference, on_delete=models.CASCADE, related_name="changes"
    )
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL)
    source = models.CharField(max_length=20, choices=Source.choices)
    actor = models.CharField(max_length=255, blank=True, default="")
    # {"field": [before, after], ...}
    changes = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source}:{self.actor} {self.changes}"


class ErasureRecord(models.Model):
    """Append-only proof that a contact's personal data was erased: who, when, how much.

    Holds only the contact's id (the erased contact row itself stays, pseudonymised,
    so history tables keep their foreign keys) and row counts per kind.
    """

    contact_id = models.UUIDField(db_index=True)
    actor = models.CharField(max_length=255)
    # {"events": 12, "comments": 1, "sends": 3, ...}
    counts = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"erasure of {self.contact_id} by {self.actor}"
