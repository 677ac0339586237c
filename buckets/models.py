"""Bucket memberships, the reconcile sweep's due checks, and each bucket's
deploy state (criteria hash and backfill progress)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from contacts.models import Contact
from hogsend_site.models import TimeStampedModel


class BucketMembership(TimeStampedModel):
    """One row per (contact, bucket), written on the person's first entry and
    kept from then on: `status` is where they are now, `entry_count` how often
    they joined."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        LEFT = "left"

    class Source(models.TextChoices):
        # Ingest: an event or a contact upsert touched what the criteria read.
        EVENT = "event"
        # The reconcile sweep: time alone changed the answer (a window, max_dwell).
        RECONCILE = "reconcile"
        # The backfill after a first deploy or a criteria change.
        BACKFILL = "backfill"
        # A staff member's add or remove.
        MANUAL = "manual"

    class LeaveReason(models.TextChoices):
        CRITERIA = "criteria"
        MAX_DWELL = "max_dwell"
        MANUAL = "manual"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE,
                                related_name="bucket_memberships")
    bucket_id = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices)
    # The latest entry and the latest leave (None until they first leave).
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    entry_count = models.PositiveIntegerField(default=1)
    # How the latest transition (entry or leave) happened.
    source = models.CharField(max_length=10, choices=Source.choices)
    leave_reason = models.CharField(max_length=10, choices=LeaveReason.choices, blank=True,
                                    default="")
    # The properties the criteria read, as they were at the latest entry.
    snapshot = models.JSONField(default=dict, blank=True)
    # An active member of a bucket with max_dwell leaves at this instant.
    max_dwell_at = models.DateTimeField(null=True, blank=True)
    # Removed by max_dwell or by staff while still matching: held out until an
    # evaluation finds them not matching (then they may join again).
    held_out = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "bucket_id"],
                                    name="bucket_membership_contact_uniq"),
        ]
        indexes = [
            # Members of a bucket (campaign audiences, console lists, counts by
            # status): "active members of X, newest first".
            models.Index(fields=["bucket_id", "status", "-entered_at"],
                         name="bucket_member_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.bucket_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class BucketCheck(models.Model):  # no timestamps: a due row rewritten on the hot path
    """Deferred work: look at one person's membership of one bucket again at
    `due_at`, when an event window closes or a max_dwell box ends.

    One row per (contact, bucket) at most, for members and non-members alike
    (someone active yesterday has a check for the day they turn dormant).
    Claimed by the reconcile sweep like every due row (`claimed_until`); every
    evaluation writes the next one, so time-driven joins and leaves never need a
    scan of all contacts.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    bucket_id = models.CharField(max_length=80)
    due_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bucket_id", "contact"],
                                    name="bucket_check_pair_uniq"),
        ]
        indexes = [
            # The sweep's claim: checks due now, oldest first.
            models.Index(fields=["due_at"], name="bucket_check_due_idx"),
        ]

    def __str__(self) -> str:
        return f"check {self.contact_id} in {self.bucket_id} at {self.due_at:%Y-%m-%d %H:%M}"


class BucketState(models.Model):  # one row per bucket; `updated_at` only
    """What this database knows about one bucket's deployment.

    `criteria_hash` is the definition's hash the memberships follow. A new
    bucket, or a changed hash, sets `due_at` and starts a backfill: deferred
    work that evaluates every contact, one page per claim, in contact-id order
    from `cursor`; `backfilled_hash` says which definition the last complete
    backfill used.
    """

    bucket_id = models.CharField(max_length=80, primary_key=True)
    criteria_hash = models.CharField(max_length=64, blank=True, default="")
    backfilled_hash = models.CharField(max_length=64, blank=True, default="")
    cursor = models.UUIDField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    backfill_started_at = models.DateTimeField(null=True, blank=True)
    backfill_finished_at = models.DateTimeField(null=True, blank=True)
    # Contacts the running (or last) backfill has evaluated.
    backfill_seen = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The backfill claim: buckets with a backfill page due.
            models.Index(fields=["due_at"], name="bucket_state_due_idx",
                         condition=Q(due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.bucket_id} ({'backfilling' if self.due_at else 'ready'})"


class BucketOverview(BucketState):
    """Admin page of every bucket in code (members, joins and leaves, manual
    add/remove). The rows shown come from the registry, not from this table: the
    proxy only gives the page its place in the admin index and its permissions."""

    class Meta:
        proxy = True
        verbose_name = "bucket"
        verbose_name_plural = "buckets"
