"""Executing runs: claim, replay the function from the top, park or finish.

A run is executed by whoever holds its lease (`claimed_until`): the clock's
batch task or the on-commit task ingest queues. Claiming flips it to `active`;
every later write is guarded by `status='active'`, so completion never
overwrites an exit and a wait never resurrects a terminal run. Runs of one
batch are loaded with two queries and their timelines written with one.
"""

from __future__ import annotations

import itertools
import logging
import traceback
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from contacts.preferences import preferences_prefetched
from hogsend_site import outbound
from hogsend_site.due import DEFAULT_LEASE
from journeys.engine.batch import MAX_PASSES, Batch, Deferred, current_batch
from journeys.engine.context import JourneyChanged, RunContext, RunExited, Suspend, current
from journeys.engine.registry import registry
from journeys.models import LIVE_STATUSES, JourneyLog, JourneyRun, StepRecord
from tracking.mailer import journey_sends_seen

logger = logging.getLogger("journeys.engine")

Status = JourneyRun.Status


def run_claim(run_id: object, *, now: datetime, lease: timedelta = DEFAULT_LEASE) -> bool:
    """Take the lease of one due run; False if someone holds it or it is not due."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(
        JourneyRun.objects.filter(
            free, pk=run_id, status__in=LIVE_STATUSES, wake_at__lte=now
        ).update(claimed_until=now + lease, status=Status.ACTIVE)
    )


def run_execute(run_id: object, *, claimed: bool = False) -> str:
    """Execute one run as far as it can go; returns the outcome."""
    outcomes = runs_execute([run_id], claimed=claimed)
    return next(iter(outcomes.values()), "busy")


def runs_execute(run_ids: Iterable[Any], *, claimed: bool) -> dict[Any, str]:
    """Execute runs whose leases are held (or are taken here when not `claimed`).

    In passes (journeys.engine.batch): the sends and waits the runs reach are
    done for all of them at once between passes, and their parks written in
    one transaction at the end.
    """
    now = timezone.now()
    ids = list(run_ids) if claimed else [pk for pk in run_ids if run_claim(pk, now=now)]
    if not ids:
        return {}
    runs = list(
        JourneyRun.objects.select_related("contact").filter(pk__in=ids, status=Status.ACTIVE)
    )
    steps: dict[Any, dict[str, StepRecord]] = defaultdict(dict)
    for step in StepRecord.objects.filter(run_id__in=[run.pk for run in runs]):
        steps[step.run_id][step.key] = step
    unwritten: dict[Any, list[StepRecord]] = {run.pk: [] for run in runs}
    # Where each run was parked when loaded: what every pass's execution starts from.
    parked = {run.pk: (run.current_step, run.waiting_event, run.wait_deadline) for run in runs}
    logs: list[JourneyLog] = []
    outcomes: dict[Any, str] = {}
    batch = Batch()
    token = current_batch.set(batch)
    try:
        # Guards and sends read preferences and a journey's recent sends (its
        # `suppress` gap) for each run: one query each for the batch.
        with preferences_prefetched([run.contact for run in runs]), journey_sends_seen(
            suppress=_suppress_windows(runs), emails=_addresses(runs)
        ):
            pending = runs
            for number in itertools.count(1):
                batch.deferring = number < MAX_PASSES
                deferred = []
                for run in pending:
                    outcome = _execute(run, steps[run.pk], unwritten[run.pk], parked[run.pk],
                                       logs)
                    if outcome == "deferred":
                        deferred.append(run)
                    else:
                        outcomes[run.pk] = outcome
                if not deferred:
                    if batch.has_pending():  # asked for by a run that caught Deferred
                        logger.warning("a journey swallowed the engine's Deferred; its "
                                       "send goes out without being journaled")
                        batch.flush()
                    break
                if number > MAX_PASSES + 1:
                    # Runs that keep deferring without deferral allowed: a bug. Leave
                    # them claimed; their lease expires and the clock retries them.
                    logger.error("runs %s still deferring after %d passes",
                                 [run.pk for run in deferred], number)
                    outcomes.update(dict.fromkeys((run.pk for run in deferred), "busy"))
                    break
                exited = batch.flush()
                outcomes.update(dict.fromkeys(exited, "exited"))
                pending = [run for run in deferred if run.pk not in exited]
            outcomes.update(batch.flush_parks())
    finally:
        current_batch.reset(token)
    _write_logs(logs)
    return outcomes


def _suppress_windows(runs: list[JourneyRun]) -> dict[str, timedelta]:
    journeys = (registry.get(journey_id) for journey_id in {run.journey_id for run in runs})
    return {j.id: j.suppress for j in journeys if j is not None and j.suppress}


def _addresses(runs: list[JourneyRun]) -> set[str]:
    emails = {run.contact.email for run in runs if run.contact and run.contact.email}
    return emails | {run.user_email for run in runs if run.user_email}


def _execute(
    run: JourneyRun,
    steps: dict[str, StepRecord],
    unwritten: list[StepRecord],
    parked: tuple[str, str, datetime | None],
    logs: list[JourneyLog],
) -> str:
    journey = registry.get(run.journey_id)
    if journey is None:
        return _fail(
            run,
            logs,
            f"journey {run.journey_id!r} is not registered (removed from "
            "its definitions package or filtered out by ENABLED_JOURNEYS)",
        )
    ctx = RunContext(run, journey, steps, unwritten=unwritten, parked=parked)
    ctx.logs = logs
    token = current.set(ctx)
    try:
        journey.run(ctx.user(), ctx)
    except Deferred:
        return "deferred"
    except Suspend as suspend:
        return _suspend(ctx, suspend)
    except RunExited:
        return "exited"
    except JourneyChanged as exc:
        return _fail(run, logs, str(exc), ctx=ctx)
    except Exception as exc:
        logger.exception("run %s of %s failed", run.pk, run.journey_id)
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return _fail(run, logs, detail, trace=traceback.format_exc(limit=8), ctx=ctx)
    else:
        return _complete(ctx)
    finally:
        current.reset(token)


def _write_records(ctx: RunContext) -> None:
    """Journal the steps this execution completed, before the run row moves on."""
    if ctx.unwritten:
        StepRecord.objects.bulk_create(ctx.unwritten, ignore_conflicts=True)
        ctx.unwritten.clear()


def _suspend(ctx: RunContext, suspend: Suspend) -> str:
    """Park the run (written with its batch's other parks)."""
    return _finish(ctx, {
        "status": Status.WAITING,
        "wake_at": suspend.wake_at,
        "current_step": suspend.step,
        "waiting_event": suspend.waiting_event,
        "wait_deadline": suspend.deadline,
        "claimed_until": None,
    })


def _complete(ctx: RunContext) -> str:
    """Complete the run (written with its batch's parks); never over an exit."""
    return _finish(ctx, {
        "status": Status.COMPLETED,
        "completed_at": timezone.now(),
        "current_step": "end",
        "wake_at": None,
        "waiting_event": "",
        "wait_deadline": None,
        "claimed_until": None,
    })


def _finish(ctx: RunContext, fields: dict[str, Any]) -> str:
    batch = current_batch.get()
    if batch is None:  # (a context without a batch: one run, its own transaction)
        batch = Batch()
        batch.add_park(ctx, fields)
        return batch.flush_parks()[ctx.run.pk]
    batch.add_park(ctx, fields)
    return "parking"


def finish_written(ctx: RunContext, at: datetime) -> None:
    """After a completion is committed: its timeline line and outbound event."""
    ctx.log("completed", "end")
    outbound.emit("journey.completed", {"run": ctx.run, "journey": ctx.journey, "at": at},
                  dedupe_key=f"journey.completed:{ctx.run.pk}")


def _fail(
    run: JourneyRun,
    logs: list[JourneyLog],
    message: str,
    trace: str = "",
    ctx: RunContext | None = None,
) -> str:
    if ctx is not None:
        _write_records(ctx)
    now = timezone.now()
    failed = JourneyRun.objects.filter(pk=run.pk, status__in=LIVE_STATUSES).update(
        status=Status.FAILED,
        error_message=message[:4000],
        wake_at=None,
        claimed_until=None,
        updated_at=now,
    )
    if not failed:
        return "exited"
    logs.append(
        JourneyLog(
            run_id=run.pk,
            action="failed",
            from_step=run.current_step,
            to_step="end-failed",
            detail={"error": message, "trace": trace[-4000:]},
            created_at=now,
        )
    )
    return "failed"


def _write_logs(logs: list[JourneyLog]) -> None:
    """The timeline is best effort: a failed log write never fails the run."""
    if not logs:
        return
    try:
        JourneyLog.objects.bulk_create(logs)
    except Exception:
        logger.exception("could not write %d journey log rows", len(logs))
    logs.clear()
