"""The clock's view of handler jobs: pending jobs whose due time has come.

After each job this also makes a job that gave up visible: always in the log
(and as `failed` in the admin and `/metrics`), and for handlers with
`alert_on_failure` as an `Alert` in the support console, since the page itself
never went out.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db.models import F, Min

from alerts.handlers import handlers
from alerts.models import HandlerJob
from alerts.services import alert_raise, handler_job_execute
from hogsend_site.due import DueSource, claim_due

logger = logging.getLogger("alerts")

FAILED_ALERT_KIND = "handler_failed"


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
        outcome = handler_job_execute(job_id)
        if outcome == "failed":
            _report_failure(job_id)


def _report_failure(job_id: Any) -> None:
    job = HandlerJob.objects.select_related("event", "contact").filter(
        pk=job_id, status=HandlerJob.Status.FAILED).first()
    if job is None:
        return
    logger.error("handler %s gave up on event %s (%s) after %d attempt(s): %s", job.handler,
                 job.event_id, job.event.event, job.attempts, job.last_error)
    handler = handlers.by_name.get(job.handler)
    if handler is None or not handler.alert_on_failure:
        return
    who = (job.contact.email if job.contact else "") or job.event.user_key
    try:
        alert_raise(
            kind=FAILED_ALERT_KIND,
            title=f"Not sent: {job.handler} for {job.event.event} ({who})",
            dedupe_key=f"handler-failed:{job.pk}",
            contact=job.contact,
            payload={"handler": job.handler, "jobId": job.pk, "eventId": job.event_id,
                     "event": job.event.event, "properties": job.event.properties or {},
                     "attempts": job.attempts, "error": job.last_error[:1000]},
        )
    except Exception:  # the job row already says failed; never stop the batch
        logger.exception("could not open an alert for failed handler job %s", job_id)


def next_due_job() -> datetime | None:
    pending = HandlerJob.objects.filter(status=HandlerJob.Status.PENDING)
    return pending.aggregate(at=Min("due_at"))["at"]


JOBS = DueSource(name="handler-jobs", claim=claim_due_jobs, process=process_jobs, batch_size=100,
                 next_due=next_due_job)
