"""The run context `ctx`: durable calls over a step journal keyed by label.

Every durable call has a key (its label, or a default from its kind and
arguments such as `wait-event:<event>`, plus `#<n>` for the n-th such call in
one execution, so a loop of unlabelled calls replays the same way). The first
time a call completes its result is written to `StepRecord(run, key)`; a
replay returns the recorded result and re-executes nothing. A call that must
wait raises `Suspend`; the runner parks the run row and the worker moves on.
`ctx.now()` is the recorded time of the last completed step, so everything
computed from it is the same on every replay.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from journeys.engine import conditions
from journeys.engine.durations import duration_label, whole_seconds
from journeys.engine.history import History
from journeys.engine.when import When, is_valid_zone
from journeys.models import LIVE_STATUSES, JourneyLog, JourneyRun, StepRecord

if TYPE_CHECKING:
    from journeys.engine.definition import Journey
    from tracking.mailer import SendResult

logger = logging.getLogger("journeys.engine")

current: ContextVar[RunContext | None] = ContextVar("hogsend_run_context", default=None)


class Suspend(Exception):
    """The run must wait: park it until `wake_at` (or the awaited event)."""

    def __init__(
        self,
        *,
        wake_at: datetime,
        step: str,
        waiting_event: str = "",
        deadline: datetime | None = None,
    ) -> None:
        super().__init__(step)
        self.wake_at, self.step = wake_at, step
        self.waiting_event, self.deadline = waiting_event, deadline


class RunExited(Exception):
    """The run row is terminal (exited/cancelled): stop without side effects."""


class JourneyChanged(Exception):
    """The code no longer matches the journal of a live run."""


class DuplicateLabel(ValueError):
    pass


@dataclass(frozen=True)
class User:
    """What a journey function receives as `user`."""

    id: str
    email: str
    properties: dict[str, Any]
    state_id: str
    journey_id: str
    journey_name: str
    contact_id: str | None


@dataclass(frozen=True)
class SleepResult:
    slept_at: datetime
    resumed_at: datetime


@dataclass(frozen=True)
class WaitResult:
    timed_out: bool
    properties: dict[str, Any] = field(default_factory=dict)
    event: str | None = None
    occurred_at: datetime | None = None
    event_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "timed_out": self.timed_out,
            "properties": self.properties,
            "event": self.event,
            "occurred_at": self.occurred_at.isoformat() if self.occurred_at else None,
            "event_id": self.event_id,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> WaitResult:
        at = value.get("occurred_at")
        return cls(
            timed_out=value["timed_out"],
            properties=value.get("properties") or {},
            event=value.get("event"),
            occurred_at=parse_datetime(at) if at else None,
            event_id=value.get("event_id"),
        )


class Guard:
    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx

    def is_subscribed(self) -> bool:
        """False when any preference row of the contact is globally unsubscribed.

        Journaled per call site: a replay takes the path the run took when it
        first passed here, so an unsubscribe during a later wait cannot make
        the run end before the branch after that wait (re-check after long
        waits with a second call: it is a new site, read live)."""
        from contacts.preferences import contact_unsubscribed

        ctx = self._ctx
        run = ctx.run

        def read() -> bool:
            return not contact_unsubscribed(contact=run.contact, email=run.user_email or None)

        return bool(ctx.remember(ctx.key("guard:is-subscribed", None), read))


class RunContext:
    def __init__(
        self,
        run: JourneyRun,
        journey: Journey,
        steps: dict[str, StepRecord],
        *,
        unwritten: list[StepRecord] | None = None,
        parked: tuple[str, str, datetime | None] | None = None,
    ) -> None:
        self.run = run
        self.journey = journey
        self.steps = steps
        self.clock: datetime = run.created_at
        self.current_label: str | None = None
        self.guard = Guard(self)
        self.history = History(self)
        self.logs: list[JourneyLog] = []
        # Completed steps not yet written; the runner writes them before the run
        # row moves on, so the row never points past an unrecorded step.
        # (Shared by the executions of one batch's passes.)
        self.unwritten: list[StepRecord] = [] if unwritten is None else unwritten
        # Where the run was parked when this execution started: a pending sleep
        # or wait lives on the run row, not in the journal.
        # (`parked`: as the batch loaded it, for the executions of later passes.)
        self.parked_step, self.parked_event, self.parked_deadline = parked or (
            run.current_step, run.waiting_event, run.wait_deadline)
        self._labels: set[str] = set()
        self._side_effect_keys: set[str] = set()
        self._counts: Counter[str] = Counter()

    # --- the user -------------------------------------------------------------
    def user(self) -> User:
        run = self.run
        email = (run.contact.email if run.contact and run.contact.email else run.user_email) or ""
        return User(
            id=run.user_key,
            email=email,
            properties=conditions.scalars(run.context),
            state_id=str(run.pk),
            journey_id=run.journey_id,
            journey_name=self.journey.name,
            contact_id=str(run.contact_id) if run.contact_id else None,
        )

    # --- keys and the journal ---------------------------------------------------
    def key(self, default: str, label: str | None) -> str:
        """The journal key of a durable call; explicit labels must be unique per execution."""
        if label is not None:
            if not isinstance(label, str) or not label:
                raise TypeError("label must be a non-empty string")
            if label in self._labels:
                raise DuplicateLabel(
                    f"site label {label!r} used twice in one run of "
                    f"{self.journey.id!r}; give each call its own label"
                )
            self._labels.add(label)
            return label
        self._counts[default] += 1
        key = f"{default}#{self._counts[default]}"
        self._labels.add(key)
        return key

    def side_effect_key(self, key: str) -> str:
        if key in self._side_effect_keys:
            raise DuplicateLabel(
                f"duplicate idempotency key {key!r} in one run: pass a distinct idempotency_label"
            )
        self._side_effect_keys.add(key)
        return key

    def recorded(self, key: str, kind: str) -> StepRecord | None:
        record = self.steps.get(key)
        if record is not None and record.kind != kind:
            raise JourneyChanged(
                f"journey {self.journey.id!r} changed under a live run: step {key!r} was recorded "
                f"as a {record.kind} but the code now makes it a {kind}"
            )
        return record

    def replay(self, record: StepRecord) -> None:
        self.clock = record.at
        self.current_label = record.key

    def parked_at(self, key: str, event: str = "") -> datetime | None:
        """The deadline of this call if the run was parked at it, else None."""
        if self.parked_step == key and self.parked_event == event and self.parked_deadline:
            return self.parked_deadline
        return None

    def complete(self, key: str, kind: str, value: Any) -> StepRecord:
        """Journal a completed sleep or wait (written by the runner, batched)."""
        record = StepRecord(
            run_id=self.run.pk, key=key, kind=kind, value=value, done=True, at=timezone.now()
        )
        self.steps[key] = record
        self.unwritten.append(record)
        self.replay(record)
        return record

    def record(
        self,
        key: str,
        kind: str,
        value: Any,
        *,
        done: bool = True,
        existing: StepRecord | None = None,
    ) -> StepRecord:
        """Write a journal entry now (first writer wins).

        A record is a memo, not a durable wait: it never moves the clock or the
        site label, so computing it and replaying it leave the run in the same
        place (the next side effect derives the same key either way).
        """
        now = timezone.now()
        if existing is not None and existing.pk is not None:
            existing.value, existing.done, existing.at = value, done, now
            existing.save(update_fields=["value", "done", "at"])
            record = existing
        else:
            record = _insert_or_get(
                StepRecord(run_id=self.run.pk, key=key, kind=kind, value=value, done=done, at=now)
            )
        self.steps[key] = record
        return record

    def record_once(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a value once per run (journal key `key`); replays return it verbatim.

        Written at once: under a race of two executions both see the first value.
        """
        record = self.recorded(key, "record")
        if record is None:
            record = self.record(key, "record", {"v": compute()})
        return record.value["v"]

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        """Like `record_once` for the engine's own decisions (timezone, guard
        verdicts): written with the step records when the run parks or ends."""
        record = self.recorded(key, "record")
        if record is None:
            record = StepRecord(run_id=self.run.pk, key=key, kind="record",
                                value={"v": compute()}, done=True, at=timezone.now())
            self.steps[key] = record
            self.unwritten.append(record)
        return record.value["v"]

    def record_verdict(self, key: str, compute: Callable[[], Any]) -> bool:
        """A blocking yes/no decision (the mailer's `suppress` check), replayed verbatim.

        Only a True verdict is journaled: after a False one the send writes a
        row under its own key, which a replay finds before asking again.
        """
        record = self.recorded(key, "record")
        if record is not None:
            return bool(record.value["v"])
        verdict = bool(compute())
        if verdict:
            self.record(key, "record", {"v": True})
        return verdict

    def log(self, action: str, to_step: str = "", **detail: Any) -> None:
        self.logs.append(
            JourneyLog(
                run_id=self.run.pk,
                action=action,
                from_step=self.run.current_step,
                to_step=to_step,
                detail=detail,
                created_at=timezone.now(),
            )
        )
        if to_step:
            self.run.current_step = to_step

    def ensure_live(self) -> None:
        """Re-read the status before a side effect: an exited run does nothing more."""
        status = JourneyRun.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
        if status not in LIVE_STATUSES:
            raise RunExited(status or "deleted")

    # --- clock and scheduling -------------------------------------------------------
    def now(self) -> datetime:
        return self.clock

    def timezone_name(self) -> str:
        """The run's timezone, resolved at first use and recorded: a contact whose zone
        changes mid-sleep must not give a replay a new instant, key and second send."""
        return self.remember("__tz__", self._resolve_timezone)

    def _resolve_timezone(self) -> str:
        from journeys.posthog import contact_timezone  # PostHog first, cached on the contact

        contact = self.run.contact
        candidates = []
        if contact is not None:
            candidates += [contact_timezone(contact), contact.timezone,
                           (contact.properties or {}).get("timezone")]
        candidates += [getattr(settings, "DEFAULT_TIMEZONE", "UTC"), "UTC"]
        for candidate in candidates:
            if candidate and is_valid_zone(candidate):
                return candidate
            if candidate:
                logger.warning("run %s: skipping invalid timezone %r", self.run.pk, candidate)
        return "UTC"

    @property
    def when(self) -> When:
        return When(now=self.clock, tz_name=self.timezone_name())

    # --- durable calls --------------------------------------------------------------
    def sleep(self, duration: timedelta, *, label: str | None = None) -> SleepResult:
        if not isinstance(duration, timedelta):
            raise TypeError("sleep() takes a timedelta (days(), hours(), minutes())")
        key = self.key(f"wait:{duration_label(duration)}", label)
        return self._sleep(key, lambda: self.clock + whole_seconds(duration))

    def sleep_until(self, when: datetime | str, *, label: str | None = None) -> SleepResult:
        target = parse_datetime(when) if isinstance(when, str) else when
        if not isinstance(target, datetime) or target.tzinfo is None:
            raise TypeError(f"sleep_until() needs an aware datetime or ISO string, got {when!r}")
        key = self.key(f"wait-until:{target.astimezone(UTC).isoformat()}", label)
        # A past instant still sleeps (1 s) and flips waiting/active, so the journal has
        # the same shape whether or not the instant had passed when the run got here.
        return self._sleep(key, lambda: max(target, self.clock + timedelta(seconds=1)))

    def _sleep(self, key: str, wake_at: Callable[[], datetime]) -> SleepResult:
        record = self.recorded(key, "sleep")
        if record is not None and record.done:
            self.replay(record)
            return SleepResult(parse_datetime(record.value["slept_at"]), record.at)
        slept_at = self.clock
        target = self.parked_at(key)
        if target is None:
            target = wake_at()
            self.log("sleep", key, until=target.isoformat())
        if timezone.now() < target:
            raise Suspend(wake_at=target, step=key, deadline=target)
        record = self.complete(
            key, "sleep", {"slept_at": slept_at.isoformat(), "wake_at": target.isoformat()}
        )
        self.log("resume", key)
        return SleepResult(slept_at, record.at)

    def wait_for_event(
        self,
        event: str,
        *,
        timeout: timedelta,
        label: str | None = None,
        lookback: timedelta | None = None,
        where: conditions.WhereSpec = None,
    ) -> WaitResult:
        from journeys.engine.waits import wait_for_event

        return wait_for_event(
            self, event=event, timeout=timeout, label=label, lookback=lookback, where=where
        )

    def send(
        self,
        template: str,
        *,
        subject: str | None = None,
        props: dict[str, Any] | None = None,
        idempotency_label: str | None = None,
    ) -> SendResult:
        """Send a template to this run's person, exactly once per run and site.

        The recipient, contact, run and journey name come from the run, and the
        journal key is the one `send_email` always derived
        (`journeySend:<run>:<site>:<template>`). A person without an address is a
        recorded skip (status `skipped`, reason `no_address`): the run continues.
        Returns the mailer's `SendResult`.
        """
        from journeys.engine.sends import send_email

        address = self.user().email
        if not address:
            return self._skip_send(template, idempotency_label, reason="no_address")
        return send_email(
            to=address,
            template=template,
            subject=subject,
            props=props,
            idempotency_label=idempotency_label,
        )

    def _skip_send(
        self, template: str, idempotency_label: str | None, *, reason: str
    ) -> SendResult:
        """Journal a send that cannot go out under the key the send would have had,
        so a replay returns the same verdict even once an address appears."""
        from journeys.engine.sends import _memo_key, _result_from_json

        site = idempotency_label or self.current_label or template
        key = self.side_effect_key(f"journeySend:{self.run.pk}:{site}:{template}")
        memo_key = _memo_key(self, key)
        if self.recorded(memo_key, "record") is None:
            self.log("send", f"send:{site}", template=template, status="skipped",
                     reason=reason, email_send_id="")
        skipped = {"id": "", "status": "skipped", "reason": reason, "sentAt": None}
        return _result_from_json(self.remember(memo_key, lambda: skipped))

    def trigger(
        self,
        event: str,
        properties: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        idempotency_label: str | None = None,
    ) -> bool:
        """Ingest `event` for this run's person (`user_id`: someone else's) through the
        full pipeline, exactly once per run and site."""
        from tracking.ingest import EventInput, events_ingest

        if user_id is not None and user_id == self.run.user_key:
            from journeys.engine.compat import warn_once

            warn_once(
                f"ctx.trigger({event!r}, ..., user_id=<this run's person>) is deprecated: "
                f"drop user_id=, the run's person is the default",
                depth=1,
            )
        site = idempotency_label or self.current_label or event
        key = self.side_effect_key(f"journeyTrigger:{self.run.pk}:{site}:{event}")
        self.ensure_live()
        self_trigger = user_id in (None, self.run.user_key)
        item = EventInput(
            name=event,
            user_id=None if self_trigger else user_id,
            properties=dict(properties or {}),
            idempotency_key=key,
            source="journey",
            contact_id=self.run.contact_id if self_trigger else None,
        )
        if self_trigger and self.run.contact_id is None:
            item.user_id = self.run.user_key
        stored = events_ingest([item])[0]
        if stored.error:
            raise ValueError(f"trigger {event!r} failed: {stored.error}")
        if stored.stored:
            self.log("trigger", f"trigger:{event}", key=key)
        return stored.stored

    def checkpoint(self, label: str) -> None:
        if not isinstance(label, str) or not label:
            raise TypeError("checkpoint() needs a label")
        self.current_label = label
        if self.run.current_step != label:
            self.log("checkpoint", label)

    def exit(self, reason: str = "") -> None:
        from journeys.services import journey_run_exit

        journey_run_exit(run_id=self.run.pk, reason=reason or "ctx.exit", source="journey")
        raise RunExited("exited")

    def variant(self, key: str, arms: list[str]) -> str:
        from journeys.engine.primitives import variant

        return variant(self, key, arms)

    def digest(
        self,
        *,
        window: timedelta,
        event: str | None = None,
        where: conditions.WhereSpec = None,
        max_events: int = 100,
        lookback: timedelta | None = None,
        label: str | None = None,
    ) -> Any:
        from journeys.engine.primitives import DIGEST_DEFAULT_LOOKBACK, digest

        return digest(
            self,
            window=window,
            event=event,
            where=where,
            max_events=max_events,
            lookback=DIGEST_DEFAULT_LOOKBACK if lookback is None else lookback,
            label=label,
        )

    def throttle(
        self,
        *,
        limit: int,
        window: timedelta,
        category: str | None = None,
        label: str | None = None,
    ) -> Any:
        from journeys.engine.primitives import throttle

        return throttle(self, limit=limit, window=window, category=category, label=label)

    def events_of(self, event: str) -> Any:
        """This person's stored events of one name (contact-scoped when known)."""
        from tracking.models import UserEvent

        rows = UserEvent.objects.filter(event=event)
        if self.run.contact_id:
            return rows.filter(contact_id=self.run.contact_id)
        return rows.filter(user_key=self.run.user_key)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """A durable set-once memo: `compute` runs at most once per run; first writer wins."""
        if not isinstance(key, str) or not key:
            raise TypeError("once() needs a non-empty key")
        return self.record_once(f"once:{key}", compute)


def _insert_or_get(record: StepRecord) -> StepRecord:
    """Insert a journal row; if a concurrent execution wrote the key first, its row wins."""
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                record.save(force_insert=True)
        else:
            record.save(force_insert=True)  # autocommit: a failed INSERT needs no savepoint
    except IntegrityError:
        return StepRecord.objects.get(run_id=record.run_id, key=record.key)
    return record
