"""`ctx.wait_for_event`: wait for this contact's next event of a name, or time out.

Which event a wait returns: a match inside the lookback window returns the
most recent one (the person's latest word); otherwise the earliest
matching event at or after the wait started, ties broken by id. The wait is
registered on the run row *before* the scan, so an event that lands while the
run is still executing finds it and wakes it (see runner.suspend).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from journeys.engine import conditions
from journeys.engine.batch import Deferred, WaitRequest, current_batch, deferring
from journeys.engine.context import RunContext, Suspend, WaitResult
from journeys.engine.durations import MAX_WAIT, whole_seconds
from journeys.models import JourneyRun
from tracking.models import UserEvent

logger = logging.getLogger("journeys.engine")

# Rows examined per scan (lookback window plus the first matches after it).
SCAN_LIMIT = 200


def wait_for_event(
    ctx: RunContext,
    *,
    event: str,
    timeout: timedelta,
    label: str | None,
    lookback: timedelta | None,
    where: conditions.WhereSpec,
) -> WaitResult:
    _validate(ctx, event, timeout, lookback)
    key = ctx.key(f"wait-event:{event}", label)
    where_conditions = conditions.normalize_where(where)
    record = ctx.recorded(key, "wait")
    if record is not None and record.done:
        ctx.replay(record)
        return WaitResult.from_json(record.value["result"])
    timeout = whole_seconds(timeout)
    deadline = ctx.parked_at(key, event)
    batch = current_batch.get()
    answer = batch.wait_answer(ctx.run, key) if batch is not None else None
    if answer is not None or deferring() is not None:
        # Registration and scan are done by the batch, for all its runs at once.
        if answer is None:
            register = deadline is None
            batch.add_wait(WaitRequest(
                run=ctx.run, key=key, event=event,
                deadline=ctx.clock + timeout if register else deadline,
                timeout=timeout, lookback=lookback, where=where_conditions, register=register))
            raise Deferred(key)
        deadline, hit = answer.deadline, answer.hit
        if answer.registered:
            ctx.log("wait", key, event=event, deadline=deadline.isoformat())
        started = deadline - timeout
    else:
        if deadline is None:
            deadline = ctx.clock + timeout
            # Register before scanning: an ingest committing from now on finds
            # this run by (contact, waiting_event) and bumps its wake_seq.
            JourneyRun.objects.filter(pk=ctx.run.pk).update(
                waiting_event=event, current_step=key, wait_deadline=deadline
            )
            ctx.log("wait", key, event=event, deadline=deadline.isoformat())
        started = deadline - timeout
        hit = _scan(ctx, event, where_conditions, started=started, deadline=deadline,
                    lookback=lookback)
    if hit is None and timezone.now() < deadline:
        raise Suspend(wake_at=deadline, step=key, waiting_event=event, deadline=deadline)
    result = hit or WaitResult(timed_out=True)
    ctx.complete(key, "wait", {"started_at": started.isoformat(), "result": result.to_json()})
    ctx.log("resume", key, event=event, timed_out=result.timed_out, event_id=result.event_id)
    return result


def _validate(ctx: RunContext, event: str, timeout: timedelta, lookback: timedelta | None) -> None:
    if not isinstance(event, str) or not event:
        raise TypeError("wait_for_event() needs an event name")
    if not isinstance(timeout, timedelta) or timeout <= timedelta(0):
        raise TypeError("wait_for_event() needs a positive timeout (a timedelta)")
    if timeout > MAX_WAIT:
        raise ValueError(f"wait_for_event() timeout {timeout} exceeds the 720 h maximum")
    if lookback is not None and (not isinstance(lookback, timedelta) or lookback < timedelta(0)):
        raise TypeError("lookback must be a non-negative timedelta")
    if event in ctx.journey.exit_events:
        message = (
            f"journey {ctx.journey.id!r} waits for {event!r}, which is also in its exit_on: "
            "the exit always wins, so the code after this wait never runs"
        )
        if settings.DEBUG:
            raise ValueError(message)
        logger.warning(message)


def _scan(
    ctx: RunContext,
    event: str,
    where: list[conditions.Condition],
    *,
    started: datetime,
    deadline: datetime,
    lookback: timedelta | None,
) -> WaitResult | None:
    """One query over [started - lookback, deadline]: the latest match at or
    before `started` (lookback) wins, else the earliest match after it."""
    run = ctx.run
    since = started - lookback if lookback else started
    rows = UserEvent.objects.filter(event=event, occurred_at__gte=since, occurred_at__lte=deadline)
    if run.contact_id:
        rows = rows.filter(contact_id=run.contact_id)
    else:
        rows = rows.filter(user_key=run.user_key)
    rows = rows.order_by("occurred_at", "id").only("id", "event", "properties", "occurred_at")
    return pick(rows[:SCAN_LIMIT], where, started=started, lookback=lookback)


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
