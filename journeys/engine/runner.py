"""Executing runs: replay each function from the top, then park, finish or fail it.

A run is executed by whoever holds its lease (`claimed_until`): the clock's
batch task or the on-commit task ingest queues, both claiming through
hogsend_site.due. The claim writes the lease and nothing else (the run keeps its
status); every later write is guarded by a live status and, for the park, by that
same lease, so completion never overwrites an exit, a wait never resurrects a
terminal run, and an execution whose lease ran out never parks over the one that
took the run after it. Runs of one batch are loaded with two queries and
executed in passes (journeys.engine.batch); their parks are written with one
transaction and their timelines with one INSERT.
"""

from __future__ import annotations

import itertools
import logging
import traceback
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from contacts.preferences import preferences_prefetched
from hogsend_site import outbound
from hogsend_site.errors import Conflict, NotFound
from journeys.engine import compat
from journeys.engine.batch import MAX_PASSES, Batch, Outcome
from journeys.engine.context import RunContext
from journeys.engine.errors import (
    Deferred,
    ExitRequested,
    JourneyChanged,
    RunExited,
    Suspend,
)
from journeys.engine.execution import Execution, LogRow, Parked
from journeys.engine.journal import Journal, load_rows
from journeys.engine.registry import registry
from journeys.engine.send_policy import SendsSeen
from journeys.models import LIVE_STATUSES, JourneyLog, JourneyRun, StepRecord
from tracking.rows import rows_insert
from tracking.skeleton import batch_renders

logger = logging.getLogger("journeys.engine")

Status = JourneyRun.Status


class _Loaded:
    """A claimed batch's runs with their journals, loaded once for every pass."""

    def __init__(self, ids: list[Any]) -> None:
        live = JourneyRun.objects.filter(pk__in=ids, status__in=LIVE_STATUSES)
        self.runs = list(live.select_related("contact"))
        rows: dict[Any, list[StepRecord]] = defaultdict(list)
        for row in StepRecord.objects.filter(run_id__in=[run.pk for run in self.runs]):
            rows[row.run_id].append(row)
        self.steps: dict[Any, dict[str, StepRecord]] = {}
        self.parks: dict[Any, int] = {}
        for run in self.runs:
            self.steps[run.pk], self.parks[run.pk] = load_rows(rows[run.pk])
        self.unwritten: dict[Any, list[StepRecord]] = {run.pk: [] for run in self.runs}
        # Where each run was parked when loaded: what every pass's execution starts from.
        self.parked: dict[Any, Parked] = {
            run.pk: (run.current_step, run.waiting_event, run.wait_deadline) for run in self.runs}
        self.logs: list[LogRow] = []


def runs_execute(run_ids: Iterable[Any]) -> dict[Any, Outcome]:
    """Execute runs whose leases the caller holds; returns each run's outcome.

    In passes (journeys.engine.batch): the sends and waits the runs reach are
    done for all of them at once between passes, and their parks written in
    one transaction at the end.
    """
    ids = list(run_ids)
    if not ids:
        return {}
    loaded = _Loaded(ids)
    # Guards and sends read preferences and a journey's recent sends (its
    # `suppress` gap) for each run: one query each for the batch. The batch's
    # sends share their templates' renders (tracking.skeleton).
    batch = Batch(SendsSeen.load(suppress=_suppress_windows(loaded.runs),
                                 emails=_addresses(loaded.runs)))
    with preferences_prefetched([run.contact for run in loaded.runs]), batch_renders():
        outcomes = _passes(loaded, batch)
        outcomes.update(batch.flush_parks(on_completed=_finish_written))
    _write_logs(loaded.logs)
    return outcomes


def _passes(loaded: _Loaded, batch: Batch) -> dict[Any, Outcome]:
    outcomes: dict[Any, Outcome] = {}
    pending = loaded.runs
    for number in itertools.count(1):
        batch.deferring = number < MAX_PASSES
        deferred = []
        for run in pending:
            outcome = _execute(run, loaded, batch)
            if outcome == Outcome.DEFERRED:
                deferred.append(run)
            else:
                outcomes[run.pk] = outcome
        if not deferred:
            if batch.has_pending():  # asked for by a run that caught Deferred
                logger.warning("a journey swallowed the engine's Deferred; its "
                               "send goes out without being journaled")
                batch.flush()
            return outcomes
        if number > MAX_PASSES + 1:
            # Runs that keep deferring without deferral allowed: a bug. Leave
            # them claimed; their lease expires and the clock retries them.
            logger.error("runs %s still deferring after %d passes",
                         [run.pk for run in deferred], number)
            return {**outcomes, **dict.fromkeys((run.pk for run in deferred), Outcome.BUSY)}
        exited = batch.flush()
        outcomes.update(dict.fromkeys(exited, Outcome.EXITED))
        pending = [run for run in deferred if run.pk not in exited]
    raise AssertionError("unreachable")  # itertools.count never ends


def _suppress_windows(runs: list[JourneyRun]) -> dict[str, timedelta]:
    journeys = (registry.get(journey_id) for journey_id in {run.journey_id for run in runs})
    return {j.id: j.suppress for j in journeys if j is not None and j.suppress}


def _addresses(runs: list[JourneyRun]) -> set[str]:
    emails = {run.contact.email for run in runs if run.contact and run.contact.email}
    return emails | {run.user_email for run in runs if run.user_email}


def _execute(run: JourneyRun, loaded: _Loaded, batch: Batch) -> Outcome:
    journey = registry.get(run.journey_id)
    if journey is None:
        return _fail(run, loaded.logs, f"journey {run.journey_id!r} is not registered (removed "
                     "from its definitions package or filtered out by ENABLED_JOURNEYS)")
    journal = Journal(run.pk, journey.id, loaded.steps[run.pk], loaded.unwritten[run.pk],
                      loaded.parks[run.pk])
    x = Execution(run, journey, journal, batch=batch, parked=loaded.parked[run.pk],
                  logs=loaded.logs)
    token = compat.current.set(x)
    try:
        journey.run(x.user(), RunContext(x))
    except Deferred:
        return Outcome.DEFERRED
    except Suspend as suspend:
        return _park(x, suspend)
    except RunExited:
        return Outcome.EXITED
    except ExitRequested as exit_:
        return _exit(x, exit_.reason)
    except JourneyChanged as exc:
        return _fail(run, loaded.logs, str(exc), x=x)
    except Exception as exc:
        logger.exception("run %s of %s failed", run.pk, run.journey_id)
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return _fail(run, loaded.logs, detail, trace=traceback.format_exc(limit=8), x=x)
    else:
        return _complete(x)
    finally:
        compat.current.reset(token)


def _exit(x: Execution, reason: str) -> Outcome:
    """`ctx.exit()`: the run ends here, as exited (an exit that landed first stands)."""
    from journeys.services import journey_run_exit

    try:
        journey_run_exit(run_id=x.run.pk, reason=reason, source="journey")
    except (Conflict, NotFound):
        pass  # already terminal: nothing more to write
    return Outcome.EXITED


def _park(x: Execution, suspend: Suspend) -> Outcome:
    """Park the run (written with its batch's other parks)."""
    x.batch.add_park(x, {
        "status": Status.WAITING,
        "wake_at": suspend.wake_at,
        "current_step": suspend.step,
        "waiting_event": suspend.waiting_event,
        "wait_deadline": suspend.deadline,
        "claimed_until": None,
    })
    return Outcome.PARKING


def _complete(x: Execution) -> Outcome:
    """Complete the run (written with its batch's parks); never over an exit."""
    x.batch.add_park(x, {
        "status": Status.COMPLETED,
        "completed_at": timezone.now(),
        "current_step": "end",
        "wake_at": None,
        "waiting_event": "",
        "wait_deadline": None,
        "claimed_until": None,
    })
    return Outcome.PARKING


def _finish_written(x: Execution, at: datetime) -> None:
    """After a completion is committed: its timeline line and outbound event."""
    x.log("completed", "end")
    outbound.emit("journey.completed", {"run": x.run, "journey": x.journey, "at": at},
                  dedupe_key=f"journey.completed:{x.run.pk}")


def _fail(run: JourneyRun, logs: list[LogRow], message: str, trace: str = "",
          x: Execution | None = None) -> Outcome:
    now = timezone.now()
    if x is not None and (row := x.journal.park_row(now)) is not None:
        # Journal the steps this execution completed, before the run row moves on.
        StepRecord.objects.bulk_create([row], ignore_conflicts=True)
    failed = JourneyRun.objects.filter(pk=run.pk, status__in=LIVE_STATUSES).update(
        status=Status.FAILED, error_message=message[:4000], wake_at=None, claimed_until=None,
        updated_at=now)
    if not failed:
        return Outcome.EXITED
    logs.append(LogRow(run.pk, "failed", run.current_step, "end-failed",
                       {"error": message, "trace": trace[-4000:]}, now))
    return Outcome.FAILED


def _write_logs(logs: list[LogRow]) -> None:
    """The timeline is best effort: a failed log write never fails the run. One COPY
    on PostgreSQL (tracking.rows)."""
    if not logs:
        return
    try:
        rows_insert(JourneyLog, logs)
    except Exception:
        logger.exception("could not write %d journey log rows", len(logs))
    logs.clear()
