"""Operator alerts and the jobs of on-event handlers."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

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
            models.UniqueConstraint(fields=["handler", "event"], name="handlerjob_handler_event_uniq")
        ]
        indexes = [
            models.Index(fields=["due_at"], name="handlerjob_due_idx", condition=Q(status="pending")),
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
        "journeys.JourneyRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
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
