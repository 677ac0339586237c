"""Broadcasts: one template to every subscribed member of a list or every active
member of a bucket, now or at a set instant.

A `Campaign` row is the broadcast and its live counts; its deferred work is
`CampaignChunk` rows on the shared claim/lease machinery (hogsend_site/due.py):
one *plan* chunk due at the send time resolves the audience and cuts it into
*send* chunks of about CAMPAIGN_CHUNK_SIZE people, each a range of contact ids
that any worker may claim, so a large broadcast is drained by every worker at
once and in between the journeys' own batches.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from hogsend_site.models import TimeStampedModel


class Campaign(TimeStampedModel):
    class Status(models.TextChoices):
        # Its send time is in the future.
        SCHEDULED = "scheduled"
        # Due now; its plan chunk waits for a worker.
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        CANCELED = "canceled"
        # A definition found past its grace window at deploy (or a schedule the
        # clock reached that late): recorded, never sent.
        EXPIRED = "expired"
        # A chunk gave up after its attempts (see CampaignChunk.attempts).
        FAILED = "failed"

    class Origin(models.TextChoices):
        CODE = "code"  # define_campaign(...) in a definitions module
        API = "api"  # POST /v1/campaigns

    class AudienceKind(models.TextChoices):
        LIST = "list"
        BUCKET = "bucket"

    TERMINAL = frozenset({Status.SENT, Status.CANCELED, Status.EXPIRED, Status.FAILED})
    NOT_STARTED = frozenset({Status.SCHEDULED, Status.QUEUED})

    # A definition's own id (a slug), or a UUID for one created over the API.
    id = models.CharField(max_length=80, primary_key=True)
    name = models.CharField(max_length=200)
    origin = models.CharField(max_length=8, choices=Origin.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    audience_kind = models.CharField(max_length=8, choices=AudienceKind.choices)
    audience_id = models.CharField(max_length=80)
    template_key = models.CharField(max_length=200)
    # Empty: the template's default subject.
    subject = models.CharField(max_length=998, blank=True, default="")
    props = models.JSONField(default=dict, blank=True)
    # Empty: DEFAULT_FROM_EMAIL.
    from_email = models.CharField(max_length=320, blank=True, default="")
    send_at = models.DateTimeField()
    # The caller's key (API): a retried POST answers the campaign it created.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # People in the audience when sending started (emailable contacts resolved
    # then); the three counts below add up to it once sent, give or take people
    # who joined or left the audience while it was sending.
    total_recipients = models.PositiveIntegerField(null=True, blank=True)
    sent_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    # Why people were skipped: {"unsubscribed": 3, "frequency_capped": 1, ...}.
    skip_reasons = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.CharField(max_length=255, blank=True, default="")
    # A sentence for people: why it expired, failed or was canceled.
    note = models.TextField(blank=True, default="")
    # A code definition's hash of what it sends: a redeploy that changes it
    # updates a campaign that has not started.
    definition_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [
            # GET /v1/campaigns and the console: newest first, by status.
            models.Index(fields=["status", "-created_at"], name="campaign_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def processed(self) -> int:
        return self.sent_count + self.skipped_count + self.failed_count


class CampaignChunk(models.Model):  # no timestamps: a due row rewritten on the hot path
    """Deferred work of one campaign: the plan (seq 0), or one range of recipients.

    A send chunk covers the audience's contacts with `after_contact < id <=
    until_contact` (either bound open when null), resolved again when it runs, so
    people who left the audience or unsubscribed since the plan are skipped.
    """

    class Kind(models.TextChoices):
        PLAN = "plan"
        SEND = "send"

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        CANCELED = "canceled"
        FAILED = "failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="chunks")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    seq = models.PositiveIntegerField()
    after_contact = models.UUIDField(null=True, blank=True)
    until_contact = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "seq"], name="campaign_chunk_seq_uniq"),
        ]
        indexes = [
            # The clock's claim: pending chunks due now, oldest first.
            models.Index(fields=["due_at"], name="campaign_chunk_due_idx",
                         condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} #{self.seq} ({self.kind}, {self.status})"
