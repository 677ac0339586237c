"""Alert and handler-job writes."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.handlers import HandlerCall, handlers
from alerts.models import Alert, HandlerJob
from hogsend_site.errors import NotFound

logger = logging.getLogger("alerts")

RETRY_BASE = timedelta(seconds=30)


def alert_raise(*, kind: str, title: str, dedupe_key: str, contact: Any = None,
                journey_run_id: Any = None, payload: dict[str, Any] | None = None,
                email_send_id: Any = None) -> Alert:
    """Open an alert once per dedupe key (a retried handler finds the same one)."""
    alert, created = Alert.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={"kind": kind, "title": title[:300], "contact": contact,
                  "journey_run_id": journey_run_id, "payload": payload or {},
                  "email_send_id": email_send_id},
    )
    if not created and email_send_id and alert.email_send_id is None:
        Alert.objects.filter(pk=alert.pk).update(email_send_id=email_send_id)
        alert.email_send_id = email_send_id
    return alert


def alert_set_status(*, alert_id: int, status: str, actor: str) -> Alert:
    """Acknowledge or resolve an alert (admin and API share this)."""
    now = timezone.now()
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("Alert not found")
    alert.status = status
    if status == Alert.Status.ACKNOWLEDGED:
        alert.acknowledged_by, alert.acknowledged_at = actor, now
    elif status == Alert.Status.RESOLVED:
        alert.resolved_by, alert.resolved_at = actor, now
        if alert.acknowledged_at is None:
            alert.acknowledged_by, alert.acknowledged_at = actor, now
    alert.save()
    return alert


def handler_jobs_create(stored: list[Any], now: datetime) -> None:
    """Ingest hook: one job per (handler, freshly stored event)."""
    jobs = [
        HandlerJob(handler=handler.name, event=item.event, contact=item.contact,
                   due_at=now + handler.delay, created_at=now)
        for item in stored for handler in handlers.by_event.get(item.event.event, ())
    ]
    if not jobs:
        return
    HandlerJob.objects.bulk_create(jobs, ignore_conflicts=True)
    if any(job.due_at <= now for job in jobs):
        transaction.on_commit(_queue_due_now)


def _queue_due_now() -> None:
    from django_q.tasks import async_task

    async_task("alerts.tasks.jobs_run_due", task_name="handler-jobs", group="alerts")


def handler_job_execute(job_id: int) -> str:
    """Run one claimed job; on error retry with backoff or give up after `retries`."""
    job = HandlerJob.objects.select_related("event", "contact").filter(
        pk=job_id, status=HandlerJob.Status.PENDING).first()
    if job is None:
        return "gone"
    handler = handlers.by_name.get(job.handler)
    now = timezone.now()
    if handler is None:
        _finish(job, HandlerJob.Status.FAILED, error=f"handler {job.handler!r} is not registered")
        return "failed"
    try:
        result = handler.fn(HandlerCall(event=job.event, contact=job.contact)) or {}
    except Exception as exc:  # noqa: BLE001  (a handler error is retried, then recorded)
        logger.exception("handler %s failed on event %s", job.handler, job.event_id)
        attempts = job.attempts + 1
        if attempts > handler.retries:
            _finish(job, HandlerJob.Status.FAILED, error=repr(exc), attempts=attempts)
            return "failed"
        HandlerJob.objects.filter(pk=job.pk).update(
            attempts=attempts, last_error=repr(exc)[:4000], claimed_until=None,
            due_at=now + RETRY_BASE * (2 ** (attempts - 1)), updated_at=now)
        return "retry"
    _finish(job, HandlerJob.Status.DONE, result=result, attempts=job.attempts + 1)
    return "done"


def _finish(job: HandlerJob, status: str, *, result: dict | None = None, error: str = "",
            attempts: int | None = None) -> None:
    HandlerJob.objects.filter(pk=job.pk).update(
        status=status, result=result or {}, last_error=error[:4000], claimed_until=None,
        attempts=attempts if attempts is not None else job.attempts, updated_at=timezone.now())
