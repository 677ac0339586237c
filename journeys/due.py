"""The clock's view of runs: live runs whose `wake_at` has come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Min

from hogsend_site.due import DueSource, claim_due
from journeys.engine.runner import runs_execute
from journeys.models import LIVE_STATUSES, JourneyRun


def claim_due_runs(now: datetime, limit: int) -> list[Any]:
    # The claim writes the lease alone: no indexed column changes, so PostgreSQL
    # updates the row in place on its page (HOT) without a new index entry.
    return claim_due(
        JourneyRun.objects.filter(status__in=LIVE_STATUSES),
        due_field="wake_at",
        now=now,
        limit=limit,
    )


def process_runs(run_ids: list[Any]) -> None:
    runs_execute(run_ids)


def next_due_run() -> datetime | None:
    live = JourneyRun.objects.filter(status__in=LIVE_STATUSES, wake_at__isnull=False)
    return live.aggregate(at=Min("wake_at"))["at"]


RUNS = DueSource(name="journey-runs", claim=claim_due_runs, process=process_runs, batch_size=100,
                 next_due=next_due_run)
