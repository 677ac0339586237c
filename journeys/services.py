"""Journey writes: enrolment (with its guards), exits, wake-ups,
cancel and retry. `journeys_on_ingest` is the ingest hook that ties them to
every stored event."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.preferences import contacts_unsubscribed
from hogsend_site.errors import Conflict, HogsendError, NotFound
from journeys.engine import conditions
from journeys.engine.definition import Journey
from journeys.engine.registry import registry
from journeys.ingest_sql import runs_wake
from journeys.models import LIVE_STATUSES, TERMINAL_STATUSES, JourneyConfig, JourneyLog, JourneyRun

logger = logging.getLogger("journeys")

RESERVED_KEYS = (
    "__once__",
    "__digest__",
    "__throttle__",
    "__variants__",
    "__groupKeys__",
    "__waits__",
)
Status = JourneyRun.Status


@dataclass
class Enrollment:
    journey_id: str
    status: str  # "enrolled" | "skipped"
    reason: str = ""
    run: JourneyRun | None = None


# --- the ingest hook ------------------------------------------------------------------


def journeys_on_ingest(stored: list[Any], now: datetime) -> None:
    """For freshly stored events: apply exits, then start journeys, then wake waits.

    Exits go first so an event that both triggers and exits a journey starts a
    run that this same event does not exit.
    """
    _apply_exits(stored, now)
    triggered = [(item, journey) for item in stored
                 for journey in registry.by_trigger.get(item.event.event, ())]
    started = _enroll_many(triggered, now) if triggered else []
    woken = _wake_waiting(stored, now)
    run_ids = started + woken
    if run_ids:
        # robust: a broker that is away must not fail the ingest that already
        # committed; the runs are due rows and the clock takes them.
        transaction.on_commit(lambda: _queue_runs(run_ids), robust=True)


# A burst of ingests in one process queues one task per this many seconds: the task
# also takes every other run due by then, and the clock takes any run made due after
# it started, within its own interval.
KICK_GAP = 0.25
_last_kick = -KICK_GAP


def _queue_runs(run_ids: list[Any]) -> None:
    """Ask a worker to execute these runs (due now) at once, instead of at the clock's
    next pass. Only a hint: the runs are due rows, so a hint skipped or lost delays."""
    from django_q.tasks import async_task

    global _last_kick
    inline = bool(settings.Q_CLUSTER.get("sync"))
    moment = time.monotonic()
    if not inline and moment - _last_kick < KICK_GAP:
        return
    _last_kick = moment
    async_task(
        "journeys.tasks.runs_execute_now",
        [str(pk) for pk in run_ids],
        task_name=f"runs:{len(run_ids)}",
        group="journeys",
        # Successes are not stored: django-q's save reads and locks its whole
        # result table (save_limit rows) per task. A failure is still stored.
        save=False,
    )


def _enroll_many(triggered: list[tuple[Any, Journey]], now: datetime) -> list[Any]:
    """Enrol a batch with set-based reads: one query each for admin switches,
    earlier runs and unsubscribes (plus a row lock per contact for limited
    journeys), the guards in memory (`entry_check`), one INSERT for the runs and
    one for their logs. Returns the ids of the runs started."""
    disabled = set(JourneyConfig.objects.filter(enabled=False).values_list("journey_id", flat=True))
    contacts = {item.contact.pk: item.contact for item, _ in triggered}
    journey_ids = {journey.id for _, journey in triggered}
    if connection.features.has_select_for_update and any(
            journey.entry_limit != "unlimited" for _, journey in triggered):
        # Serialise guard + insert per contact so `once` cannot be raced.
        list(Contact.objects.select_for_update().filter(pk__in=contacts).order_by("pk")
             .values_list("pk", flat=True))
    latest: dict[tuple[Any, str], tuple[str, datetime]] = {}
    for contact_id, journey_id, status, created in JourneyRun.objects.filter(
            contact_id__in=contacts, journey_id__in=journey_ids).values_list(
            "contact_id", "journey_id", "status", "created_at"):
        if (contact_id, journey_id) not in latest or created > latest[(contact_id, journey_id)][1]:
            latest[(contact_id, journey_id)] = (status, created)
    unsubscribed = contacts_unsubscribed(contacts=list(contacts.values()))
    to_insert: list[tuple[Any, Journey]] = []
    for item, journey in triggered:
        contact = item.contact
        facts = EntryFacts(now=now, user_key=contact.key, properties=item.event.properties or {},
                           admin_disabled=journey.id in disabled,
                           latest_run=latest.get((contact.pk, journey.id)),
                           unsubscribed=contact.pk in unsubscribed)
        reason = entry_check(journey, facts)
        if reason == "held_out":
            result = _hold_out(journey, contact, item.event, now)
        elif reason is not None:
            result = Enrollment(journey_id=journey.id, status="skipped", reason=reason)
        else:
            latest[(contact.pk, journey.id)] = ("active", now)  # a 2nd trigger in this batch
            to_insert.append((item, journey))
            continue
        item.reactions.setdefault("enrollments", []).append(result)
    return _insert_runs(to_insert, now)


def _insert_runs(pending: list[tuple[Any, Journey]], now: datetime) -> list[Any]:
    """Insert the runs (one statement), falling back to one by one if a concurrent
    trigger won a race somewhere (the partial unique index arbitrates)."""
    if not pending:
        return []
    runs = [_new_run(journey, item.contact, item.event, now) for item, journey in pending]
    try:
        with transaction.atomic():
            JourneyRun.objects.bulk_create(runs)
        inserted = runs
    except IntegrityError:
        inserted = []
        for run in runs:
            try:
                with transaction.atomic():
                    run.save(force_insert=True)
                inserted.append(run)
            except IntegrityError:
                pass
    ids = {run.pk for run in inserted}
    for (item, journey), run in zip(pending, runs, strict=True):
        enrolled = run.pk in ids
        item.reactions.setdefault("enrollments", []).append(Enrollment(
            journey_id=journey.id, status="enrolled" if enrolled else "skipped",
            reason="" if enrolled else "already_active", run=run if enrolled else None))
    JourneyLog.objects.bulk_create([
        JourneyLog(run=run, action="entered", from_step="", to_step="start",
                   detail={"event": run.trigger_event.event, "event_id": run.trigger_event_id},
                   created_at=now) for run in inserted])
    return [run.pk for run in inserted]


def _new_run(journey: Journey, contact: Contact, event: Any, now: datetime) -> JourneyRun:
    context = {k: v for k, v in (event.properties or {}).items() if k not in RESERVED_KEYS}
    return JourneyRun(
        journey_id=journey.id, contact=contact, user_key=contact.key,
        user_email=contact.email or "", status=Status.ACTIVE, current_step="start",
        context=context, trigger_event=event, version_hash=journey.version_hash,
        version_label=journey.version, wake_at=now, created_at=now)


# --- manual enrolment ------------------------------------------------------------------

MANUAL_ENROLL_MAX = 500


def journey_enroll_manual(*, journey_id: str, users: list[dict[str, Any]],
                          actor: str = "") -> list[Enrollment]:
    """Enrol people by ingesting the journey's trigger event for each of them
    (source `admin`), so every guard applies. Up to 500 at once."""
    from tracking.ingest import EventInput, events_ingest

    journey = registry.get(journey_id)
    if journey is None:
        raise NotFound(f"Unknown journey {journey_id!r}")
    if not 1 <= len(users) <= MANUAL_ENROLL_MAX:
        raise HogsendError(f"enrol between 1 and {MANUAL_ENROLL_MAX} users at once")
    inputs = [EventInput(name=journey.trigger_event, user_id=u.get("user_id") or None,
                         email=u.get("email") or None, properties=dict(u.get("properties") or {}),
                         contact_id=u.get("contact_id"), source="admin")
              for u in users]
    results = []
    for item in events_ingest(inputs):
        if item.error:
            results.append(Enrollment(journey_id=journey.id, status="error", reason=item.error))
            continue
        mine = [e for e in item.reactions.get("enrollments", []) if e.journey_id == journey.id]
        results.append(mine[0] if mine else Enrollment(journey_id=journey.id, status="skipped",
                                                       reason="not_triggered"))
    logger.info("%s enrolled %d user(s) in %s", actor or "someone", len(users), journey.id)
    return results


# --- the runtime switch ------------------------------------------------------------------


def journey_config_set(*, journey_id: str, enabled: bool, actor: str = "") -> JourneyConfig:
    """Turn a registered journey on or off at runtime (upserts its `JourneyConfig`).

    Applies to new enrolments only; live runs carry on. A journey disabled in code
    stays disabled whatever this says. Idempotent.
    """
    if registry.get(journey_id) is None:
        raise NotFound(f"Unknown journey {journey_id!r}")
    config, _ = JourneyConfig.objects.update_or_create(
        journey_id=journey_id, defaults={"enabled": enabled})
    logger.info("%s turned journey %s %s", actor or "someone", journey_id,
                "on" if enabled else "off")
    return config


# --- exits ----------------------------------------------------------------------------


def _apply_exits(stored: list[Any], now: datetime) -> None:
    candidates = [item for item in stored if registry.by_exit.get(item.event.event)]
    if not candidates:
        return
    journey_ids = {j.id for item in candidates for j in registry.by_exit[item.event.event]}
    contact_ids = {item.contact.pk for item in candidates if item.contact}
    live = JourneyRun.objects.filter(
        status__in=LIVE_STATUSES, contact_id__in=contact_ids, journey_id__in=journey_ids
    ).only("id", "journey_id", "contact_id", "current_step")
    by_contact: dict[Any, list[JourneyRun]] = defaultdict(list)
    for run in live:
        by_contact[run.contact_id].append(run)
    exited: dict[Any, tuple[JourneyRun, Any]] = {}
    for item in candidates:
        for run in by_contact.get(item.contact.pk, ()):
            journey = registry.get(run.journey_id)
            hit = journey is not None and any(
                rule.event == item.event.event
                and conditions.matches(rule.where, item.event.properties)
                for rule in journey.exit_on
            )
            if hit and run.pk not in exited:
                exited[run.pk] = (run, item.event)
            item.exits.append(
                {
                    "journeyId": run.journey_id,
                    "stateId": str(run.pk),
                    "exited": bool(hit) or run.pk in exited,
                }
            )
    if exited:
        _mark_exited(list(exited.values()), now, source="exit_on")


def _mark_exited(pairs: list[tuple[JourneyRun, Any]], now: datetime, *, source: str) -> list[Any]:
    ids = [run.pk for run, _ in pairs]
    # One UPDATE per distinct reason (a batch exits on a handful of event names),
    # so every run records the event that ended it.
    by_reason: dict[str, list[Any]] = defaultdict(list)
    for run, event in pairs:
        by_reason[source if event is None else f"event:{event.event}"].append(run.pk)
    for reason, reason_ids in by_reason.items():
        JourneyRun.objects.filter(pk__in=reason_ids, status__in=LIVE_STATUSES).update(
            status=Status.EXITED,
            exited_at=now,
            wake_at=None,
            claimed_until=None,
            updated_at=now,
            exit_reason=reason,
        )
    JourneyLog.objects.bulk_create(
        [
            JourneyLog(
                run_id=run.pk,
                action="exited",
                from_step=run.current_step,
                to_step="end-exited",
                detail={
                    "source": source,
                    **({"event": event.event, "event_id": event.pk} if event is not None else {}),
                },
                created_at=now,
            )
            for run, event in pairs
        ]
    )
    return ids


def journey_run_exit(*, run_id: Any, reason: str = "", source: str = "admin") -> JourneyRun:
    """Cancel a live run (admin, API, ctx.exit). 409 if it is already terminal."""
    now = timezone.now()
    with transaction.atomic():
        run = JourneyRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise NotFound("Run not found")
        if not run.is_live:
            raise Conflict(f"Run is already {run.status}")
        JourneyRun.objects.filter(pk=run.pk).update(
            status=Status.EXITED,
            exited_at=now,
            exit_reason=reason or source,
            wake_at=None,
            claimed_until=None,
            updated_at=now,
        )
        JourneyLog.objects.create(
            run=run,
            action="exited",
            from_step=run.current_step,
            to_step="end-exited",
            detail={"source": source, "reason": reason},
            created_at=now,
        )
    run.refresh_from_db()
    return run


def journey_run_retry(*, run_id: Any) -> JourneyRun:
    """Put a failed run back in line; it replays its journal and continues."""
    now = timezone.now()
    run = JourneyRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound("Run not found")
    if run.status != Status.FAILED:
        raise Conflict(f"Only failed runs can be retried; this one is {run.status}")
    try:
        with transaction.atomic():
            JourneyRun.objects.filter(pk=run.pk, status=Status.FAILED).update(
                status=Status.ACTIVE,
                error_message="",
                wake_at=now,
                claimed_until=None,
                updated_at=now,
            )
            JourneyLog.objects.create(
                run=run,
                action="resume",
                from_step=run.current_step,
                to_step=run.current_step,
                detail={"source": "retry"},
                created_at=now,
            )
    except IntegrityError as exc:
        raise Conflict("A newer run of this journey is live for this contact") from exc
    transaction.on_commit(lambda: _queue_runs([run.pk]), robust=True)
    run.refresh_from_db()
    return run


# --- wake-ups -------------------------------------------------------------------------


def _wake_waiting(stored: list[Any], now: datetime) -> list[Any]:
    """Make live runs waiting for these (contact, event) pairs due now.

    On PostgreSQL the read locks (FOR NO KEY UPDATE) the contacts' live runs that
    wait for the event, are executing or are due: a run executing now may park on
    a wait for this event this instant, and a plain read would miss the parked row
    while the park's own scan misses this uncommitted event, losing the wake-up.
    The park locks its row before scanning once more, so either it waits for this
    commit (and sees the event) or this read waits for the park (and sees the run
    waiting). `runs_wake` does it in one locking read, plus an UPDATE only when a
    run is woken."""
    pairs = {(item.contact.pk, item.event.event) for item in stored if item.contact}
    return runs_wake(pairs, now) if pairs else []


# --- enrolment ------------------------------------------------------------------------


@dataclass
class EntryFacts:
    """What the guards look at: enrolment reads them for a whole batch at once
    (`_enroll_many`); the harness passes them directly."""

    now: datetime
    user_key: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    admin_disabled: bool = False
    latest_run: tuple[str, datetime] | None = None  # (status, created_at) of the newest run
    unsubscribed: bool = False


def entry_check(journey: Journey, facts: EntryFacts) -> str | None:
    """The enrolment guards in order; the skip reason, or None.

    The switches come first, then the trigger's `where`, the entry limit and the
    unsubscribe; holdout is last but for the live-run check, so people an earlier guard
    blocks never count as controls. The reason strings are the reference engine's, so
    reports written against it keep working.
    """
    if not journey.enabled:
        return "journey_disabled"
    if facts.admin_disabled:
        return "journey_disabled_by_admin"
    if not conditions.matches(journey.trigger_where, conditions.scalars(facts.properties)):
        return "trigger_conditions_not_met"
    latest = facts.latest_run
    if latest is not None and journey.entry_limit == "once":
        return "already_entered_once"
    if (
        latest is not None
        and journey.entry_limit == "once_per_period"
        and latest[1] > facts.now - journey.effective_entry_period
    ):
        return "period_not_elapsed"
    if facts.unsubscribed:
        return "user_unsubscribed"
    if journey.holdout_percent > 0 and held_out(journey, facts.user_key):
        return "held_out"
    if latest is not None and latest[0] in LIVE_STATUSES:
        return "already_active"
    return None


def held_out(journey: Journey, user_key: str) -> bool:
    """Deterministic diversion: bucket of SHA-256("<salt>:<journey>:<user>") < percent×100."""
    from journeys.engine.primitives import bucket_of

    salt = journey.holdout_salt or journey.id
    return bucket_of(f"{salt}:{journey.id}:{user_key}") < journey.holdout_percent * 100


def _hold_out(journey: Journey, contact: Contact, event: Any, now: datetime) -> Enrollment:
    """Record the control-group member once, and tell the world once."""
    from tracking.ingest import EventInput, events_ingest

    if not JourneyRun.objects.filter(
        contact=contact, journey_id=journey.id, status=Status.HELD_OUT
    ).exists():
        JourneyRun.objects.create(
            journey_id=journey.id,
            contact=contact,
            user_key=contact.key,
            user_email=contact.email or "",
            status=Status.HELD_OUT,
            current_step="held-out",
            context={},
            trigger_event=event,
            version_hash=journey.version_hash,
            version_label=journey.version,
            exited_at=now,
            created_at=now,
        )
        events_ingest(
            [
                EventInput(
                    name="journey.heldout",
                    contact_id=contact.pk,
                    properties={"journeyId": journey.id},
                    idempotency_key=f"journey:heldout:{journey.id}:{contact.key}",
                    source="journey",
                )
            ]
        )
    return Enrollment(journey_id=journey.id, status="skipped", reason="held_out")


__all__ = [
    "TERMINAL_STATUSES",
    "Enrollment",
    "journey_config_set",
    "journey_run_exit",
    "journey_run_retry",
    "journeys_on_ingest",
]
