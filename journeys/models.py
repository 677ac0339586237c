"""Journey runs, their step journal, their timeline, and the admin switch."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Cast

from contacts.models import Contact
from hogsend_site.models import TimeStampedModel

LIVE_STATUSES = ("active", "waiting")
TERMINAL_STATUSES = ("completed", "failed", "exited")

# The last column of the run's two uniqueness indexes: one value for every live run
# and the run's own id for any other, so a person (key or contact) has at most one
# live run per journey, and the same index lists every run of theirs.
LIVE_OR_ID = Case(
    When(status__in=LIVE_STATUSES,
         then=Cast(Value(str(uuid.UUID(int=0))), output_field=models.UUIDField())),
    default=F("id"),
)


class JourneyRun(TimeStampedModel):
    """One enrollment of one contact in one journey.

    A waiting run is this row and its index entries, nothing else: `wake_at` says
    when the clock must execute it again (a sleep's end or a wait's deadline),
    `waiting_event` lets ingest wake it early.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        WAITING = "waiting"
        COMPLETED = "completed"
        FAILED = "failed"
        EXITED = "exited"
        HELD_OUT = "held_out"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    journey_id = models.CharField(max_length=100)
    # No index of its own: `run_contact_journey_uniq` starts with the contact.
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="journey_runs",
        db_index=False,
    )
    user_key = models.CharField(max_length=255)
    user_email = models.CharField(max_length=320, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    current_step = models.CharField(max_length=255, default="start")
    # Trigger event properties (reserved record namespaces stripped).
    context = models.JSONField(default=dict, blank=True)
    # The event that enrolled the run, kept by id only: no constraint and no index,
    # so pruning old events never has to find or touch runs (the console shows a
    # pruned trigger as gone).
    trigger_event = models.ForeignKey(
        "tracking.UserEvent", null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, db_index=False, related_name="+"
    )
    version_hash = models.CharField(max_length=12, blank=True, default="")
    version_label = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    exit_reason = models.CharField(max_length=255, blank=True, default="")
    # Deferred work: due time + claim lease (see journeys.due).
    wake_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    waiting_event = models.CharField(max_length=200, blank=True, default="")
    # Bumped by every ingest wake-up; a suspend that saw an older value knows
    # it was woken while executing and must not sleep through it.
    wake_seq = models.PositiveIntegerField(default=0)
    wait_deadline = models.DateTimeField(null=True, blank=True)
    # The zone `ctx.when` resolved at its first use, written with the park that
    # followed ("" until then): replays reuse it (journeys.engine.execution).
    timezone = models.CharField(max_length=64, blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # One live run per (person, journey), arbitrated by the database (enrolment
        # races, contact merges). Each index also lists every run of its person:
        # by key, console search and the admin API's ?userId (also runs whose
        # contact is gone); by contact, ingest wake-ups and exits, entry limits,
        # the contact page and erasure (a person has a handful of runs, so no
        # wider index pays for itself).
        constraints = [
            models.UniqueConstraint(
                F("user_key"), F("journey_id"), LIVE_OR_ID, name="run_key_journey_uniq"),
            models.UniqueConstraint(
                F("contact"), F("journey_id"), LIVE_OR_ID, name="run_contact_journey_uniq"),
        ]
        # Each index below is paid for by every parked run, once per row version
        # (docs/storage.md): only the ones a hot query or a console page needs.
        indexes = [
            # The clock: live runs whose wake time has come.
            models.Index(
                fields=["wake_at"], name="run_due_idx", condition=Q(status__in=LIVE_STATUSES)
            ),
            # Admin overview: counts by journey and status.
            models.Index(fields=["journey_id", "status"], name="run_journey_status_idx"),
            # Stranded runs (admin list, scheduled check): every failed run. Only
            # failed rows are indexed, so the hot path never pays for it.
            models.Index(fields=["updated_at"], name="run_failed_idx",
                         condition=Q(status="failed")),
        ]

    def __str__(self) -> str:
        return f"{self.journey_id} · {self.user_key} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES or self.status == self.Status.HELD_OUT

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class StepRecord(models.Model):
    """The step journal: what a replay returns for each durable call of a run.

    A record written at once (`ctx.once`, a variant arm, a throttle count, a
    send's retry count) is a row keyed by its label. The records one park
    writes (completed sleeps and waits, guard verdicts, send results) share a
    row of kind `park`, key `__park__#<n>`, whose `value` maps each key to its
    record (journeys.engine.journal); runs parked by older code have a row per
    record. `done` is False only on a retry count.
    """

    # No index of its own: `step_run_key_uniq` starts with the run and serves
    # loading a run's journal and the cascade on delete.
    run = models.ForeignKey(
        JourneyRun, on_delete=models.CASCADE, related_name="steps", db_index=False
    )
    key = models.CharField(max_length=255)
    kind = models.CharField(max_length=20)
    value = models.JSONField(default=dict, blank=True)
    done = models.BooleanField(default=True)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="step_run_key_uniq")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class JourneyLog(models.Model):
    """The run's human-readable timeline (append-only, best effort)."""

    class Action(models.TextChoices):
        ENTERED = "entered"
        SLEEP = "sleep"
        WAIT = "wait"
        RESUME = "resume"
        SEND = "send"
        TRIGGER = "trigger"
        CHECKPOINT = "checkpoint"
        COMPLETED = "completed"
        FAILED = "failed"
        EXITED = "exited"

    run = models.ForeignKey(JourneyRun, on_delete=models.CASCADE, related_name="logs")
    action = models.CharField(max_length=20, choices=Action.choices)
    from_step = models.CharField(max_length=255, blank=True, default="")
    to_step = models.CharField(max_length=255, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.from_step} → {self.to_step}"


class JourneyConfig(TimeStampedModel):
    """Admin override: disables a journey without a deploy (absent row = no override)."""

    journey_id = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.journey_id}: {'enabled' if self.enabled else 'disabled'}"


class StrandedRun(JourneyRun):
    """Admin view of JourneyRun: runs stuck past their deadline, and failed runs
    (`journeys.selectors.stranded_runs`)."""

    class Meta:
        proxy = True
        verbose_name = "stranded run"
        verbose_name_plural = "stranded runs"


class JourneyOverview(JourneyConfig):
    """Admin page of every registered journey (counts, answer rates, switch).

    The rows shown come from the registry, not from this table: the proxy only
    gives the page its place in the admin index and its permissions.
    """

    class Meta:
        proxy = True
        verbose_name = "journey"
        verbose_name_plural = "journeys overview"
