"""Operator alerts, the jobs of on-event handlers, and outbound destinations."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from alerts import egress
from contacts.models import Contact
from hogsend_site.models import TimeStampedModel


class HandlerJob(TimeStampedModel):
    """One run of an on-event handler for one stored event.

    Deferred work like everything else: `due_at` (a grace window or a retry's
    backoff) and a `claimed_until` lease; retries are counted here, not by
    django-q2.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    handler = models.CharField(max_length=100)
    event = models.ForeignKey("tracking.UserEvent", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            # A re-dispatched event never runs a handler twice.
            models.UniqueConstraint(
                fields=["handler", "event"], name="handlerjob_handler_event_uniq"
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"], name="handlerjob_due_idx", condition=Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.handler} for event {self.event_id} ({self.status})"


class Alert(TimeStampedModel):
    """A page to the support queue: reopen requests, detractors, leads, stranded runs."""

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    kind = models.CharField(max_length=60)
    title = models.CharField(max_length=300)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    journey_run = models.ForeignKey(
        "journeys.JourneyRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    email_send = models.ForeignKey(
        "tracking.EmailSend", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    # The alert's own idempotency: a retried handler finds the same alert.
    dedupe_key = models.CharField(max_length=255, unique=True)
    acknowledged_by = models.CharField(max_length=150, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "kind", "created_at"], name="alert_queue_idx")]

    def __str__(self) -> str:
        return self.title


# --- Outbound destinations (alerts/destinations.py) ------------------------------------


def webhook_secret_new() -> str:
    """A Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_id_new() -> str:
    return "msg_" + secrets.token_hex(16)


class WebhookEndpoint(TimeStampedModel):
    """Where lifecycle events go: a signed webhook, or PostHog's capture API."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook (signed POST)"
        POSTHOG = "posthog", "PostHog capture (answers)"

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WEBHOOK)
    # Empty or "*": every catalogue event. Consumer events only by name or
    # prefix pattern ("support.followup_answered", "support.*").
    event_types = models.JSONField(default=list, blank=True)
    secret = models.CharField(max_length=100, default=webhook_secret_new, editable=False)
    disabled = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # One PostHog destination, created on demand by the answer capture.
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind="posthog"),
                name="webhookendpoint_one_posthog_uniq",
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.url

    def clean(self) -> None:
        types = self.event_types
        if not isinstance(types, list) or not all(isinstance(t, str) and t.strip() for t in types):
            raise ValidationError(
                {
                    "event_types": "A list of event names or patterns "
                    '("email.sent", "support.*", "*").'
                }
            )
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise ValidationError({"url": "An http(s) URL."})
        if self.kind == self.Kind.POSTHOG:
            return  # delivered to POSTHOG_HOST (the environment's), never to this URL
        try:
            egress.url_check(self.url)
        except egress.Refused as exc:
            raise ValidationError({"url": str(exc)}) from exc


class WebhookDelivery(TimeStampedModel):
    """One event for one endpoint: deferred work (`next_attempt_at` + `claimed_until`).

    Append-only history once final; retries are counted here (`attempts`).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        DELIVERED = "delivered"
        FAILED = "failed"
        DISCARDED = "discarded"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    webhook_id = models.CharField(
        max_length=64, unique=True, default=webhook_id_new, editable=False
    )
    event_type = models.CharField(max_length=200)
    # Unique per endpoint, NULLs distinct: per-hit events carry none.
    dedupe_key = models.CharField(max_length=255, null=True, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body_snippet = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "dedupe_key"], name="webhookdelivery_endpoint_dedupe_uniq"
            ),
        ]
        indexes = [
            # The clock: pending (or leased) deliveries whose attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due_idx",
                condition=Q(status__in=["pending", "sending"]),
            ),
            # Admin: an endpoint's deliveries, newest first.
            models.Index(fields=["endpoint", "-created_at"], name="webhookdelivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.DELIVERED, self.Status.FAILED, self.Status.DISCARDED)
