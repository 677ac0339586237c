"""The clock's view of handler jobs: pending jobs whose due time has come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import F, Min

from alerts.handlers import handlers
from alerts.models import HandlerJob
from alerts.services import handler_job_execute
from hogsend_site.due import DueSource, claim_due


def claim_due_jobs(now: datetime, limit: int) -> list[Any]:
    # The claim lease is the longest handler time limit (execution narrows it
    # to the job's own handler): a hung or killed job is claimed again once it
    # expires.
    lease = max((h.timeout for h in handlers.by_name.values()), default=None)
    kwargs = {"lease": lease} if lease else {}
    return claim_due(HandlerJob.objects.filter(status=HandlerJob.Status.PENDING),
                     due_field="due_at", now=now, limit=limit, **kwargs)


def process_jobs(job_ids: list[Any]) -> None:
    for job_id in job_ids:
        # Every start counts as an attempt, so a job whose worker keeps dying
        # while it runs still runs out of retries; counting at the start of each
        # job (not when its batch is claimed) spares the jobs a killed worker
        # never reached.
        HandlerJob.objects.filter(pk=job_id, status=HandlerJob.Status.PENDING).update(
            attempts=F("attempts") + 1)
        handler_job_execute(job_id)


def next_due_job() -> datetime | None:
    pending = HandlerJob.objects.filter(status=HandlerJob.Status.PENDING)
    return pending.aggregate(at=Min("due_at"))["at"]


JOBS = DueSource(name="handler-jobs", claim=claim_due_jobs, process=process_jobs, batch_size=100,
                 next_due=next_due_job)
