"""Durable waits: `ctx.sleep`, `ctx.sleep_until` and `ctx.wait_for_event`.

Which event a wait returns: a match inside the lookback window returns the
most recent one (the person's latest word); otherwise the earliest
matching event at or after the wait started, ties broken by id. In a batch the
scan is done for all its runs at once (`scan_many`, called by the batch). The
wait is written on the run row with its park, and the park scans once more
under the row lock (journeys.engine.batch), so an event that lands while the
run is still executing wakes it: committed before that scan, the scan finds it;
committed after, its ingest finds the parked row.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from journeys.engine import conditions
from journeys.engine.durations import MAX_WAIT, duration_label, whole_seconds
from journeys.engine.errors import Deferred, Suspend
from journeys.engine.execution import Execution
from journeys.models import JourneyRun
from tracking.models import UserEvent

logger = logging.getLogger("journeys.engine")

# Rows examined per scan (lookback window plus the first matches after it).
SCAN_LIMIT = 200


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


@dataclass
class WaitRequest:
    """A wait handed to the batch: scanned with the others, and again by its park."""

    run: JourneyRun
    key: str
    event: str
    deadline: datetime
    timeout: timedelta
    lookback: timedelta | None
    where: list[conditions.Condition]
    new: bool  # first reached in this execution (not parked at it before)

    @property
    def started(self) -> datetime:
        return self.deadline - self.timeout

    @property
    def since(self) -> datetime:
        return self.started - self.lookback if self.lookback else self.started


@dataclass
class WaitAnswer:
    deadline: datetime
    hit: WaitResult | None  # None when nothing matched yet
    new: bool


# --- sleeps -------------------------------------------------------------------------------


def sleep(x: Execution, duration: timedelta, label: str | None) -> SleepResult:
    if not isinstance(duration, timedelta):
        raise TypeError("sleep() takes a timedelta (days(), hours(), minutes())")
    key = x.journal.key(f"wait:{duration_label(duration)}", label)
    return _sleep(x, key, lambda: x.clock + whole_seconds(duration))


def sleep_until(x: Execution, when: datetime | str, label: str | None) -> SleepResult:
    target = parse_datetime(when) if isinstance(when, str) else when
    if not isinstance(target, datetime) or target.tzinfo is None:
        raise TypeError(f"sleep_until() needs an aware datetime or ISO string, got {when!r}")
    key = x.journal.key(f"wait-until:{target.astimezone(UTC).isoformat()}", label)
    # A past instant still sleeps (1 s) and flips waiting/active, so the journal has
    # the same shape whether or not the instant had passed when the run got here.
    return _sleep(x, key, lambda: max(target, x.clock + timedelta(seconds=1)))


def _sleep(x: Execution, key: str, wake_at: Callable[[], datetime]) -> SleepResult:
    record = x.journal.get(key, "sleep")
    if record is not None and record.done:
        # The sleep began at the clock of the step before it, which a replay has
        # just reached again (records of older code also wrote it down).
        slept_at = parse_datetime(record.value["slept_at"]) if record.value else x.clock
        x.replay(record)
        return SleepResult(slept_at, record.at)
    slept_at = x.clock
    target = x.parked_at(key)
    if target is None:
        target = wake_at()
        x.log("sleep", key, until=target.isoformat())
    if timezone.now() < target:
        raise Suspend(wake_at=target, step=key, deadline=target)
    # Its time is all a replay needs (its start is the clock before it; its
    # target is on the timeline's "sleep" line).
    record = x.step_done(key, "sleep", {})
    x.log("resume", key)
    return SleepResult(slept_at, record.at)


# --- waiting for an event ------------------------------------------------------------------


def wait_for_event(
    x: Execution,
    *,
    event: str,
    timeout: timedelta,
    label: str | None,
    lookback: timedelta | None,
    where: conditions.WhereSpec,
) -> WaitResult:
    _validate(x, event, timeout, lookback)
    key = x.journal.key(f"wait-event:{event}", label)
    where_conditions = conditions.normalize_where(where)
    record = x.journal.get(key, "wait")
    if record is not None and record.done:
        x.replay(record)
        return WaitResult.from_json(record.value["result"])
    request = WaitRequest(run=x.run, key=key, event=event, deadline=x.parked_at(key, event),
                          timeout=whole_seconds(timeout), lookback=lookback,
                          where=where_conditions, new=False)
    if request.deadline is None:
        request.new, request.deadline = True, x.clock + request.timeout
    answer = x.batch.wait_answer(x.run, key)
    if answer is None and x.deferring is not None:
        x.batch.add_wait(request)  # scanned by the batch, for all its runs at once
        raise Deferred(key)
    if answer is None:
        answer = WaitAnswer(request.deadline, _scan(x, request), request.new)
    if answer.new:
        x.log("wait", key, event=event, deadline=answer.deadline.isoformat())
    return _wait_outcome(x, request, answer)


def _wait_outcome(x: Execution, request: WaitRequest, answer: WaitAnswer) -> WaitResult:
    deadline, key, event = answer.deadline, request.key, request.event
    if answer.hit is None and timezone.now() < deadline:
        x.suspended_wait = request  # scanned again by the park, under the row lock
        raise Suspend(wake_at=deadline, step=key, waiting_event=event, deadline=deadline)
    result = answer.hit or WaitResult(timed_out=True)
    # What a replay returns (the wait's start and deadline are on the timeline).
    x.step_done(key, "wait", {"result": result.to_json()})
    x.log("resume", key, event=event, timed_out=result.timed_out, event_id=result.event_id)
    return result


def _validate(x: Execution, event: str, timeout: timedelta, lookback: timedelta | None) -> None:
    if not isinstance(event, str) or not event:
        raise TypeError("wait_for_event() needs an event name")
    if not isinstance(timeout, timedelta) or timeout <= timedelta(0):
        raise TypeError("wait_for_event() needs a positive timeout (a timedelta)")
    if timeout > MAX_WAIT:
        raise ValueError(f"wait_for_event() timeout {timeout} exceeds the 720 h maximum")
    if lookback is not None and (not isinstance(lookback, timedelta) or lookback < timedelta(0)):
        raise TypeError("lookback must be a non-negative timedelta")
    if event in x.journey.exit_events:
        message = (
            f"journey {x.journey.id!r} waits for {event!r}, which is also in its exit_on: "
            "the exit always wins, so the code after this wait never runs"
        )
        if settings.DEBUG:
            raise ValueError(message)
        logger.warning(message)


# --- scanning -------------------------------------------------------------------------------


def _scan(x: Execution, request: WaitRequest) -> WaitResult | None:
    """One query over [started - lookback, deadline]: the latest match at or
    before `started` (lookback) wins, else the earliest match after it."""
    run = x.run
    rows = UserEvent.objects.filter(event=request.event, occurred_at__gte=request.since,
                                    occurred_at__lte=request.deadline)
    if run.contact_id:
        rows = rows.filter(contact_id=run.contact_id)
    else:
        rows = rows.filter(user_key=run.user_key)
    rows = rows.order_by("occurred_at", "id").only("id", "event", "properties", "occurred_at")
    return pick(rows[:SCAN_LIMIT], request.where, started=request.started,
                lookback=request.lookback)


def scan_many(waits: list[WaitRequest]) -> list[WaitResult | None]:
    """One query for every wait's events; each wait picks from its own window."""
    by_contact = [w for w in waits if w.run.contact_id]
    by_key = [w for w in waits if not w.run.contact_id]
    who = Q(contact_id__in={w.run.contact_id for w in by_contact}) if by_contact else Q()
    if by_key:
        who |= Q(user_key__in={w.run.user_key for w in by_key})
    rows = (
        UserEvent.objects.filter(who)
        .filter(event__in={w.event for w in waits},
                occurred_at__gte=min(w.since for w in waits),
                occurred_at__lte=max(w.deadline for w in waits))
        .order_by("occurred_at", "id")
        .only("id", "event", "properties", "occurred_at", "contact_id", "user_key")
    )
    grouped: dict[tuple[Any, str], list[Any]] = defaultdict(list)
    for row in rows:  # a run with a contact scans by contact, one without by its key
        grouped[(row.contact_id, row.event)].append(row)
        grouped[(row.user_key, row.event)].append(row)
    hits = []
    for w in waits:
        owner = w.run.contact_id or w.run.user_key
        window = [r for r in grouped[(owner, w.event)]
                  if w.since <= r.occurred_at <= w.deadline]
        hits.append(pick(window, w.where, started=w.started, lookback=w.lookback))
    return hits


def pick(
    rows: Iterable[UserEvent],
    where: list[conditions.Condition],
    *,
    started: datetime,
    lookback: timedelta | None,
) -> WaitResult | None:
    """The event a wait returns, from its window's rows in (occurred_at, id) order."""
    found = None
    for row in itertools.islice(rows, SCAN_LIMIT):
        if not conditions.matches(where, row.properties):
            continue
        if row.occurred_at <= started and lookback:
            found = row  # keep the most recent one inside the lookback window
            continue
        if row.occurred_at < started:
            continue
        found = found or row
        break
    if found is None:
        return None
    return WaitResult(
        timed_out=False,
        properties=conditions.scalars(found.properties),
        event=found.event,
        occurred_at=found.occurred_at,
        event_id=found.pk,
    )
