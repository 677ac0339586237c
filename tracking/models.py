"""Events, email sends, tracked links and raw clicks."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact
from hogsend_site.models import TimeStampedModel


class UserEvent(models.Model):
    """One stored event. Append-only; `id` order is insertion order."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # Canonical contact key at ingest time (userId, else anonymousId, else the uuid).
    user_key = models.CharField(max_length=255)
    event = models.CharField(max_length=200)
    properties = models.JSONField(default=dict, blank=True)
    # The caller's `{groupType: key}` map (e.g. `{"company": "acme"}`), kept
    # apart from `properties` so it never reaches a trigger's `where` or `user.properties`.
    groups = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=40, default="api")
    # Permanent: a key is never reusable, so a retry however late is still a duplicate.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            # Waits, lookbacks, guards and history: "this contact's events named X since T".
            models.Index(fields=["contact", "event", "occurred_at"],
                         name="event_contact_name_at_idx"),
            # The same for events stored without a contact (by key).
            models.Index(fields=["user_key", "event", "occurred_at"], name="event_key_name_at_idx"),
            # Weekly digest and admin lists: "events named X since T".
            models.Index(fields=["event", "occurred_at"], name="event_name_at_idx"),
        ]
        permissions = [
            ("replay_userevent", "Can replay stored events through the ingest pipeline"),
        ]

    def __str__(self) -> str:
        return f"{self.event} ({self.user_key})"


# tracking.semantic stores each confirmed answer under `sem:<send>:<event>` and
# its comment under `semc:<send>:<event>` (answer_comment_record). Nothing the
# person says later is dropped: each later note is `semnote:<send>:<day>:<n>`
# and each later, different answer `semchange:<click>` (as `<event>.changed`);
# neither reaches the journey, which acted on the first answer.
ANSWER_KEY_PREFIX = "sem:"
COMMENT_KEY_PREFIX = "semc:"
LATER_NOTE_KEY_PREFIX = "semnote:"
CHANGED_ANSWER_KEY_PREFIX = "semchange:"
CHANGED_SUFFIX = ".changed"
COMMENT_SUFFIX = ".comment"


class AnswerManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(idempotency_key__startswith=ANSWER_KEY_PREFIX)


class Answer(UserEvent):
    """Admin view of UserEvent: confirmed semantic answers only."""

    objects = AnswerManager()

    class Meta:
        proxy = True
        verbose_name = "answer"
        verbose_name_plural = "answers"


class BodyField(models.TextField):
    """A text column for email bodies (kilobytes each).

    On PostgreSQL, Django bulk-inserts through UNNEST of one array per column;
    psycopg builds a text array literal by escaping every element in Python,
    which for a batch of 100 bodies costs ~40x the plain parameters of a VALUES
    list. A field with `get_placeholder` makes Django use VALUES for the table.
    """

    def get_placeholder(self, value: object, compiler: object, connection: object) -> str:
        return "%s"


class EmailSend(TimeStampedModel):
    class Status(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        DELIVERED = "delivered"
        OPENED = "opened"
        CLICKED = "clicked"
        BOUNCED = "bounced"
        COMPLAINED = "complained"
        FAILED = "failed"
        SUPPRESSED = "suppressed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The run that sent it (a plain id: tracking sits below journeys).
    journey_run_id = models.UUIDField(null=True, blank=True, db_index=True)
    journey_id = models.CharField(max_length=100, blank=True, default="")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="sends"
    )
    user_key = models.CharField(max_length=255, blank=True, default="")
    template_key = models.CharField(max_length=200)
    category = models.CharField(max_length=64, default="journey")
    from_email = models.CharField(max_length=320)
    to_email = models.CharField(max_length=320)
    subject = models.CharField(max_length=998)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=64, blank=True, default="")
    message_id = models.CharField(max_length=255, blank=True, default="")
    # Unique, NULLs distinct: failed and suppressed rows release their key. On
    # PostgreSQL migration 0010 drops the `_like` (varchar_pattern_ops) index Django
    # adds beside it: no query looks a send's key up by prefix, and every send paid
    # for its entry.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    html = BodyField(blank=True, default="")
    text = BodyField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    # Pixel and click hits past the per-send hourly caps (TRACKING_OPENS_PER_SEND_HOUR,
    # TRACKING_CLICKS_PER_SEND_HOUR): counted here instead of written as rows.
    opens_dropped = models.PositiveIntegerField(default=0)
    clicks_dropped = models.PositiveIntegerField(default=0)
    # The last click not written: the answer burst rule cannot see which link it hit
    # (tracking.semantic treats an answer clicked around it as a scanner's).
    last_click_dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Frequency cap, throttle and journey suppress: sends to an address since T
            # (suppress filters the journey on the few rows an address has).
            models.Index(fields=["to_email", "created_at"], name="send_to_created_idx"),
            # Provider webhooks find their send by message id.
            models.Index(fields=["message_id"], name="send_message_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template_key} → {self.to_email} ({self.status})"

    POST_DISPATCH = frozenset({"sent", "delivered", "opened", "clicked", "bounced", "complained"})

    @property
    def was_dispatched(self) -> bool:
        return self.status in self.POST_DISPATCH

    @property
    def is_erased(self) -> bool:
        """Its recipient was erased (contacts/erasure.py blanks the address; every
        send is written with one): its pixel and answer page record nothing more."""
        return not self.to_email


class TrackedLink(TimeStampedModel):
    """A rewritten link of one send. The random id is the only authorisation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email_send = models.ForeignKey(
        EmailSend, null=True, blank=True, on_delete=models.CASCADE, related_name="links"
    )
    original_url = models.TextField()
    click_count = models.PositiveIntegerField(default=0)
    # Semantic links only: the answer this click means.
    event = models.CharField(max_length=200, blank=True, default="")
    event_properties = models.JSONField(default=dict, blank=True)
    semantic_emitted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.event or 'link'} → {self.original_url}"

    @property
    def is_semantic(self) -> bool:
        return bool(self.event)

    @property
    def is_erased(self) -> bool:
        """Its URL was erased with the person it named or was sent to (contacts/erasure.py)."""
        return not self.original_url


class LinkClick(models.Model):
    """A raw hit on a tracked link (append-only), and, for a human click on a
    semantic link, the deferred answer confirmation it schedules."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed"
        # A later, different answer: stored as `<event>.changed`; the journey kept the first.
        CHANGED = "changed"
        BURST = "burst"
        # Nothing new: the latest answer again, or a change past the day's cap.
        LOST = "lost"
        SKIPPED = "skipped"

    tracked_link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="clicks")
    ip_address = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.TextField(blank=True, default="")
    destination_url = models.TextField(blank=True, default="")
    method = models.CharField(max_length=8, default="GET")
    is_bot = models.BooleanField(default=False)
    clicked_at = models.DateTimeField(default=timezone.now)
    # Deferred work (one mechanism: due time + claim lease): set only for
    # semantic clicks that may confirm an answer, ~30 s after the click.
    confirm_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            # Burst rule: clicks of one send's links in a ±30 s window.
            models.Index(fields=["tracked_link", "clicked_at"], name="click_link_at_idx"),
            # The clock: confirmations that are due.
            models.Index(
                fields=["confirm_at"], name="click_confirm_due_idx",
                condition=Q(outcome="", confirm_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"click {self.tracked_link_id} at {self.clicked_at:%Y-%m-%d %H:%M:%S}"


class PendingEvent(TimeStampedModel):
    """A per-hit tracking event (`email.link_clicked`, `email.opened`) not yet ingested.

    Written in the hit's own transaction, so a lost broker message loses
    nothing: deferred work like everything else (`due_at` + `claimed_until`),
    ingested in batches by the clock (tracking.events_due) and deleted in the
    ingest's transaction. A row whose ingest keeps failing is retried with
    backoff and, after its last attempt, kept with `due_at` empty and its error.
    """

    email_send = models.ForeignKey(EmailSend, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=200)
    properties = models.JSONField(default=dict, blank=True)
    # When the hit happened: the stored event's `occurred_at`.
    occurred_at = models.DateTimeField(default=timezone.now)
    # Empty once the row has used up its attempts (kept for inspection; prune).
    due_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [
            # The clock: pending events that are due.
            models.Index(fields=["due_at"], name="pendingevent_due_idx",
                         condition=Q(due_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.event} for send {self.email_send_id}"


class ProviderEvent(models.Model):
    """A processed ESP webhook event (bounce, complaint, delivery), stored once.

    `dedupe_key` makes a redelivered webhook a no-op: the provider's event id
    when it has one, else message id + type + recipient. A bounce or complaint
    is also stored once per provider, message and recipient, whichever webhook
    reported it (`provider_event_counted_once`).
    """

    esp_name = models.CharField(max_length=40)
    dedupe_key = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=32)
    # permanent | transient | complaint | "" (delivery and other kinds)
    bounce_class = models.CharField(max_length=16, blank=True, default="")
    message_id = models.CharField(max_length=255, blank=True, default="")
    recipient = models.CharField(max_length=320, blank=True, default="")
    email_send = models.ForeignKey(
        EmailSend, null=True, blank=True, on_delete=models.SET_NULL, related_name="provider_events"
    )
    # "applied" | "skipped:<why>" — what processing did with it.
    outcome = models.CharField(max_length=64, blank=True, default="")
    description = models.TextField(blank=True, default="")
    occurred_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            # Admin: a recipient's bounce history.
            models.Index(fields=["recipient", "created_at"], name="provider_event_rcpt_idx"),
        ]
        constraints = [
            # Postmark posts one hard bounce to its Bounce webhook (with an ID) and
            # again to SubscriptionChange (without): it must count once. Rows stored
            # twice before this rule are marked "skipped:duplicate" by migration 0007.
            models.UniqueConstraint(
                fields=["esp_name", "message_id", "recipient", "bounce_class"],
                condition=Q(bounce_class__in=["permanent", "complaint"]) & ~Q(message_id="")
                & ~Q(recipient="") & ~Q(outcome="skipped:duplicate"),
                name="provider_event_counted_once"),
        ]

    def __str__(self) -> str:
        return f"{self.esp_name} {self.event_type} {self.recipient}"
