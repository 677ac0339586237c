"""A test harness for journeys: virtual time, scripted events, no worker, no sleeping.

    from journeys import hours
    from journeys.testing import JourneyHarness

    def test_a_no_pages_support(db: None) -> None:
        h = JourneyHarness("support-followup", start="2026-06-16T14:40:00Z",
                           timezone="Europe/Berlin")
        h.event("support.followup_answered", at=h.start + hours(18.5),
                properties={"answer": "no"})
        result = h.run(properties={"ticket_id": "T-9"})
        assert result.sent("support/followup")[0].sent_at == h.at("2026-06-17T07:00:00Z")
        assert result.triggered("support.reopen_requested")[0].properties["ticket_id"] == "T-9"

The harness runs the production code paths, not a model of them: the trigger is
ingested through `tracking.ingest`, guards, exits, waits, sends (to Django's
email backend) and answer confirmations are the engine's own, and virtual time
is moved (with time-machine) straight to the next instant anything is due
(a wake-up, a confirmation, a handler job, or a scripted event), where the same
`run_due` pass production runs is executed. Each `run()` happens inside a
savepoint that is rolled back, so harnesses never see each other's data (H12).

What it guarantees (the harness laws; the labels H1-H14 are used in this module,
its error messages and tests/journeys/test_harness.py):

H1  virtual time starts at 2025-01-01T00:00Z in UTC;
H2  the enrolment event is recorded by the harness;
H3  a forward wait resolves with the earliest matching scripted event, ties in
    insertion order;
H4  a lookback resolves with the most recent;
H5  no match advances to the deadline and times out;
H6  an exit event scripted at the same instant as a match is ingested first and
    wins;
H7  other users' events never resolve this user's waits;
H8  subscription changes apply when time crosses them;
H9  `suppress` behaves as in production (earlier enrolments' sends count);
H10 idempotency behaves as in production;
H11 `entry_check()` gives the production guard order and reasons;
H12 each harness runs once; scenario tables run each row in a fresh harness and
    report every failing row;
H13 timezones and DST are the production `ctx.when`;
H14 variant arms are the production hash and a seeded arm wins verbatim.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.core import mail
from django.db import transaction
from django.utils.dateparse import parse_datetime

from contacts.models import Contact
from contacts.preferences import preference_update
from hogsend_site.due import next_due, process_batch, run_due_once
from journeys.engine.definition import Journey
from journeys.engine.journal import records_of
from journeys.engine.registry import registry
from journeys.models import JourneyLog, JourneyRun, StepRecord
from journeys.services import EntryFacts, entry_check
from tracking.ingest import EventInput, events_ingest
from tracking.models import EmailSend, UserEvent

DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
DEFAULT_HORIZON = timedelta(days=60)


def _instant(value: datetime | str, start: datetime) -> datetime:
    if isinstance(value, timedelta):
        return start + value
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError(f"not an ISO datetime: {value!r}")
        value = parsed
    if value.tzinfo is None:
        raise ValueError("harness instants must be timezone-aware")
    return value.astimezone(UTC)


@dataclass
class _Scripted:
    at: datetime
    order: int
    apply: Callable[[], None]
    is_exit: bool = False


@dataclass
class HarnessResult:
    """What happened, as plain rows read before the harness rolled back."""

    enrolled: bool
    skip_reason: str
    run: JourneyRun | None
    emails: list[EmailSend]
    outbox: list[Any]
    events: list[UserEvent]
    timeline: list[JourneyLog]
    steps: dict[str, Any]
    now: datetime

    @property
    def status(self) -> str:
        return self.run.status if self.run else f"skipped:{self.skip_reason}"

    def sent(self, template: str | None = None) -> list[EmailSend]:
        """Emails that went out (status sent), optionally of one template."""
        return [
            e
            for e in self.emails
            if e.status == "sent" and (template is None or e.template_key == template)
        ]

    def triggered(self, event: str) -> list[UserEvent]:
        """Events of this name stored while the harness ran (the journey's triggers too)."""
        return [e for e in self.events if e.event == event]


@dataclass
class JourneyHarness:
    journey: Journey | str
    start: datetime | str = DEFAULT_START
    user_id: str = "user-1"
    email: str | None = None
    timezone: str = ""
    contact_properties: dict[str, Any] = field(default_factory=dict)
    horizon: timedelta = DEFAULT_HORIZON

    def __post_init__(self) -> None:
        if isinstance(self.journey, str):
            found = registry.get(self.journey)
            if found is None:
                raise LookupError(f"no registered journey {self.journey!r}")
            self.journey = found
        self.start = _instant(self.start, DEFAULT_START)
        self.email = self.email if self.email is not None else f"{self.user_id}@example.com"
        self._script: list[_Scripted] = []
        self._seeded: dict[str, Any] = {}
        self._ran = False

    # --- scripting ----------------------------------------------------------------
    def at(self, value: datetime | str | timedelta) -> datetime:
        """An instant: an aware datetime, an ISO string, or an offset from `start`."""
        return _instant(value, self.start)

    def event(
        self,
        name: str,
        *,
        at: datetime | str | timedelta,
        properties: dict | None = None,
        user_id: str | None = None,
    ) -> JourneyHarness:
        """Ingest `name` (for this user unless `user_id`) when virtual time reaches `at`."""
        item = EventInput(
            name=name,
            user_id=user_id or self.user_id,
            email=None if user_id else self.email,
            properties=properties or {},
            occurred_at=self.at(at),
            source="harness",
        )
        self._add(
            at,
            lambda: events_ingest([item]),
            is_exit=name in self.journey.exit_events and user_id in (None, self.user_id),
        )
        return self

    def unsubscribe(self, *, at: datetime | str | timedelta) -> JourneyHarness:
        return self._subscription(at, unsubscribed=True)

    def resubscribe(self, *, at: datetime | str | timedelta) -> JourneyHarness:
        return self._subscription(at, unsubscribed=False)

    def prior_send(self, *, template: str, at: datetime | str | timedelta) -> JourneyHarness:
        """A send of this journey from an earlier enrolment (for `suppress`, H9)."""

        def seed() -> None:
            EmailSend.objects.create(
                journey_id=self.journey.id,
                to_email=self.email,
                template_key=template,
                from_email="seed@localhost",
                subject="(seeded)",
                status="sent",
                sent_at=self.at(at),
                created_at=self.at(at),
            )

        self._add(at, seed)
        return self

    def seed(self, key: str, value: Any) -> JourneyHarness:
        """Pre-record a journal value, e.g. `seed("variant:subject", "long")` (H14)."""
        self._seeded[key] = value
        return self

    def entry_check(self, **facts: Any) -> str | None:
        """The production guards on given facts (H11): None means "would enrol"."""
        facts.setdefault("now", self.start)
        facts.setdefault("user_key", self.user_id)
        return entry_check(self.journey, EntryFacts(**facts))

    # --- running -------------------------------------------------------------------
    def run(self, properties: dict[str, Any] | None = None) -> HarnessResult:
        if self._ran:
            raise RuntimeError("a harness runs once; build a new one per scenario (H12)")
        self._ran = True
        with (
            _only(self.journey),
            transaction.atomic(),
            time_machine.travel(self.start, tick=False) as clock,
        ):
            outbox_before = len(getattr(mail, "outbox", []))
            contact = self._contact()
            self._apply_due(self.start)
            trigger = events_ingest(
                [
                    EventInput(
                        name=self.journey.trigger_event,
                        contact_id=contact.pk,
                        properties=properties or {},
                        source="harness",
                    )
                ]
            )[0]
            self._seed_journal(contact)
            self._drive(clock)
            result = self._result(contact, trigger, outbox_before)
            transaction.set_rollback(True)
        return result

    def _contact(self) -> Contact:
        return Contact.objects.create(
            external_id=self.user_id,
            email=self.email or None,
            timezone=self.timezone,
            properties=self.contact_properties,
            first_seen_at=self.start,
            last_seen_at=self.start,
        )

    def _seed_journal(self, contact: Contact) -> None:
        run = JourneyRun.objects.filter(contact=contact, journey_id=self.journey.id).first()
        for key, value in self._seeded.items():
            if run is not None:
                StepRecord.objects.create(
                    run=run, key=key, kind="record", value={"v": value}, at=self.start
                )

    def _drive(self, clock: time_machine.Coordinates) -> None:
        end = self.start + self.horizon
        now = self.start
        while True:
            _drain()
            upcoming = [s.at for s in self._script if s.at > now]
            due = next_due()
            if due is not None and due > now:
                upcoming.append(due)
            elif due is not None:  # due now but leased: nothing more can happen now
                pass
            if not upcoming or min(upcoming) > end:
                return
            now = min(upcoming)
            clock.move_to(now)
            self._apply_due(now)

    def _apply_due(self, now: datetime) -> None:
        """Scripted items at `now` (at start: everything up to it, as recorded history):
        exits first (H6), then insertion order (H3)."""
        due = [s for s in self._script if s.at == now or (now == self.start and s.at < now)]
        due.sort(key=lambda s: (s.at, not s.is_exit, s.order))
        for item in due:
            item.apply()

    def _result(self, contact: Contact, trigger: Any, outbox_before: int) -> HarnessResult:
        run = (
            JourneyRun.objects.filter(contact=contact, journey_id=self.journey.id)
            .order_by("created_at")
            .first()
        )
        return HarnessResult(
            enrolled=run is not None and run.status != "held_out",
            skip_reason=""
            if run is not None and run.status != "held_out"
            else self._skip_reason(contact, trigger),
            run=run,
            emails=list(
                EmailSend.objects.filter(created_at__gte=self.start).order_by("created_at")
            ),
            outbox=list(getattr(mail, "outbox", []))[outbox_before:],
            events=list(UserEvent.objects.filter(created_at__gte=self.start).order_by("id")),
            timeline=list(JourneyLog.objects.filter(run=run).order_by("created_at", "id"))
            if run
            else [],
            steps={key: record.value for key, record in
                   records_of(StepRecord.objects.filter(run=run)).items()} if run else {},
            now=_now(),
        )

    def _skip_reason(self, contact: Contact, trigger: Any) -> str:
        return (
            self.entry_check(
                now=self.start, properties=trigger.input.properties, user_key=contact.key
            )
            or "held_out"
        )

    def _add(
        self, at: datetime | str | timedelta, apply: Callable[[], None], *, is_exit: bool = False
    ) -> None:
        self._script.append(_Scripted(self.at(at), len(self._script), apply, is_exit))

    def _subscription(
        self, at: datetime | str | timedelta, *, unsubscribed: bool
    ) -> JourneyHarness:
        def change() -> None:
            contact = Contact.objects.get(external_id=self.user_id, deleted_at__isnull=True)
            preference_update(
                contact=contact,
                email=self.email,
                unsubscribed_all=unsubscribed,
                source="api",
                actor="harness",
            )

        self._add(at, change)
        return self


def _drain() -> None:
    from django.utils import timezone

    while run_due_once(timezone.now(), dispatch=process_batch):
        pass


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


class _only:
    """Let only this journey react to events while the harness runs."""

    def __init__(self, journey: Journey) -> None:
        self.journey = journey

    def __enter__(self) -> None:
        self.saved = list(registry)
        for other in self.saved:
            registry.remove(other.id)
        registry.add(self.journey)

    def __exit__(self, *exc: object) -> None:
        registry.remove(self.journey.id)
        for other in self.saved:
            registry.add(other)


@dataclass
class ScenarioFailure:
    row: Any
    error: str


def run_scenarios(rows: Iterable[Any], scenario: Callable[[Any], None]) -> None:
    """Run `scenario(row)` for every row, each in its own harness; keep going after
    a failing row and report all failures at the end (H12)."""
    failures: list[ScenarioFailure] = []
    for row in rows:
        try:
            scenario(row)
        except Exception:
            failures.append(ScenarioFailure(row, traceback.format_exc(limit=3)))
    if failures:
        details = "\n".join(f"- {f.row!r}:\n{f.error}" for f in failures)
        raise AssertionError(f"{len(failures)} scenario row(s) failed:\n{details}")
