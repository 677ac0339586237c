"""The clock's view of runs: live runs whose `wake_at` has come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hogsend_site.due import DueSource, claim_due
from journeys.engine.runner import run_execute
from journeys.models import LIVE_STATUSES, JourneyRun


def claim_due_runs(now: datetime, limit: int) -> list[Any]:
    return claim_due(
        JourneyRun.objects.filter(status__in=LIVE_STATUSES),
        due_field="wake_at",
        now=now,
        limit=limit,
    )


def process_runs(run_ids: list[Any]) -> None:
    for run_id in run_ids:
        run_execute(run_id, claimed=True)


RUNS = DueSource(name="journey-runs", claim=claim_due_runs, process=process_runs, batch_size=500)
