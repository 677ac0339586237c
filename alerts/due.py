"""The clock's view of handler jobs: pending jobs whose due time has come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.handlers import handlers
from alerts.models import HandlerJob
from alerts.services import handler_job_execute
from hogsend_site.due import DueSource, claim_due


def claim_due_jobs(now: datetime, limit: int) -> list[Any]:
    # The lease is the longest handler time limit: a hung or killed job is
    # claimed again once it expires.
    lease = max((h.timeout for h in handlers.by_name.values()), default=None)
    kwargs = {"lease": lease} if lease else {}
    return claim_due(HandlerJob.objects.filter(status=HandlerJob.Status.PENDING),
                     due_field="due_at", now=now, limit=limit, **kwargs)


def process_jobs(job_ids: list[Any]) -> None:
    for job_id in job_ids:
        handler_job_execute(job_id)


JOBS = DueSource(name="handler-jobs", claim=claim_due_jobs, process=process_jobs, batch_size=100)
