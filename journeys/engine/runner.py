"""Executing a run: claim it, replay the function from the top, park or finish it.

A run is executed by whoever holds its lease (`claimed_until`): the clock's
batch task or the on-commit task ingest queues. Every exit path writes the row
with a status guard, so completion never overwrites an exit and a wait never
resurrects a terminal run.
"""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from hogsend_site.due import DEFAULT_LEASE
from journeys.engine.context import (
    JourneyChanged,
    RunContext,
    RunExited,
    Suspend,
    current,
)
from journeys.engine.registry import registry
from journeys.models import LIVE_STATUSES, JourneyLog, JourneyRun, StepRecord

logger = logging.getLogger("journeys.engine")

Status = JourneyRun.Status


def run_claim(run_id: object, *, now: datetime, lease: timedelta = DEFAULT_LEASE) -> bool:
    """Take the lease of one due run; False if someone holds it or it is not due."""
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(
        JourneyRun.objects.filter(
            free, pk=run_id, status__in=LIVE_STATUSES, wake_at__lte=now
        ).update(claimed_until=now + lease)
    )


def run_execute(run_id: object, *, claimed: bool = False) -> str:
    """Execute one run as far as it can go; returns the outcome (for logs and tests)."""
    now = timezone.now()
    if not claimed and not run_claim(run_id, now=now):
        return "busy"
    run = JourneyRun.objects.select_related("contact").filter(pk=run_id).first()
    if run is None or not run.is_live:
        return "gone"
    journey = registry.get(run.journey_id)
    if journey is None:
        return _fail(
            run,
            [],
            f"journey {run.journey_id!r} is not registered (removed from "
            "journeys/definitions or filtered out by ENABLED_JOURNEYS)",
        )
    if run.status == Status.WAITING:
        if not JourneyRun.objects.filter(pk=run.pk, status=Status.WAITING).update(
            status=Status.ACTIVE, updated_at=now
        ):
            return "exited"
        run.status = Status.ACTIVE
    steps = {step.key: step for step in StepRecord.objects.filter(run=run)}
    ctx = RunContext(run, journey, steps)
    token = current.set(ctx)
    try:
        journey.run(ctx.user(), ctx)
    except Suspend as suspend:
        return _suspend(ctx, suspend)
    except RunExited:
        return "exited"
    except JourneyChanged as exc:
        return _fail(run, ctx.logs, str(exc))
    except Exception as exc:
        logger.exception("run %s of %s failed", run.pk, run.journey_id)
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return _fail(run, ctx.logs, detail, trace=traceback.format_exc(limit=8))
    else:
        return _complete(ctx)
    finally:
        current.reset(token)
        _flush_logs(ctx.logs)


def _suspend(ctx: RunContext, suspend: Suspend) -> str:
    """Park the run. If an ingest woke it while it ran (wake_seq moved), make it
    due again at once instead of sleeping through the wake-up."""
    run, now = ctx.run, timezone.now()
    fields = {
        "status": Status.WAITING,
        "wake_at": suspend.wake_at,
        "current_step": suspend.step,
        "waiting_event": suspend.waiting_event,
        "wait_deadline": suspend.deadline,
        "claimed_until": None,
        "updated_at": now,
    }
    if JourneyRun.objects.filter(pk=run.pk, status=Status.ACTIVE, wake_seq=run.wake_seq).update(
        **fields
    ):
        return "waiting"
    fields["wake_at"] = now
    if JourneyRun.objects.filter(pk=run.pk, status=Status.ACTIVE).update(**fields):
        return "rewoken"
    return "exited"


def _complete(ctx: RunContext) -> str:
    run, now = ctx.run, timezone.now()
    done = JourneyRun.objects.filter(pk=run.pk, status=Status.ACTIVE).update(
        status=Status.COMPLETED,
        completed_at=now,
        current_step="end",
        wake_at=None,
        waiting_event="",
        wait_deadline=None,
        claimed_until=None,
        updated_at=now,
    )
    if not done:
        return "exited"
    ctx.log("completed", "end")
    return "completed"


def _fail(run: JourneyRun, logs: list[JourneyLog], message: str, trace: str = "") -> str:
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
    _flush_logs(logs)
    logs.clear()
    return "failed"


def _flush_logs(logs: list[JourneyLog]) -> None:
    """The timeline is best effort: a failed log write never fails the run."""
    if not logs:
        return
    try:
        JourneyLog.objects.bulk_create(logs)
    except Exception:
        logger.exception("could not write %d journey log rows", len(logs))
    logs.clear()
