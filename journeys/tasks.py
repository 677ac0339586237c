"""django-q2 task entry points (stable dotted paths: Task.func stores them)."""

from __future__ import annotations

from collections import Counter

from django.utils import timezone

from hogsend_site.due import claim_due
from journeys.due import RUNS, claim_due_runs
from journeys.engine.runner import runs_execute
from journeys.models import LIVE_STATUSES, JourneyRun


def runs_execute_now(run_ids: list[str]) -> dict[str, int]:
    """Execute runs that ingest just started or woke, and with them every other run
    due now (up to a batch): the runs of ingests whose tasks were coalesced into this
    one. Each is claimed with the clock's compare-and-set lease."""
    now = timezone.now()
    ids = claim_due(JourneyRun.objects.filter(pk__in=run_ids, status__in=LIVE_STATUSES),
                    due_field="wake_at", now=now, limit=len(run_ids)) if run_ids else []
    if len(ids) < RUNS.batch_size:
        ids += claim_due_runs(now, RUNS.batch_size - len(ids))
    if not ids:
        return {}
    return {str(outcome): n for outcome, n in Counter(runs_execute(ids).values()).items()}
