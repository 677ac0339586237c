"""Alert and handler-job writes."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.handlers import HandlerCall, handlers
from alerts.models import Alert, HandlerJob
from hogsend_site.errors import NotFound
from journeys.models import JourneyRun

logger = logging.getLogger("alerts")



def alert_raise(*, kind: str, title: str, dedupe_key: str, contact: Any = None,
                journey_run_id: Any = None, payload: dict[str, Any] | None = None,
                email_send_id: Any = None) -> Alert:
    """Open an alert once per dedupe key (a retried handler finds the same one).

    A `journey_run_id` that names no run (say, a crafted idempotency key on an
    API event) is dropped rather than failing the page.
    """
    if journey_run_id is not None and not JourneyRun.objects.filter(pk=journey_run_id).exists():
        journey_run_id = None
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


# An alert lists at most this many later notes and changed answers; more stay
# on the person's timeline as events.
MAX_FOLLOWUPS = 100
QUOTE_CHARS = 120


def alert_followup_add(*, alert_id: int, entry: dict[str, Any]) -> bool:
    """Add a later note or changed answer (`alerts.followups`) to an alert, once
    per event id, in time order; the title then says what changed, so the queue
    shows it too ("… — changed the answer to “Yes, all sorted”: “Works now”").

    The title the alert was raised with is kept in `payload["raisedTitle"]`.
    False when the entry was there already or the list is full."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise NotFound("Alert not found")
        payload = dict(alert.payload) if isinstance(alert.payload, dict) else {}
        followups = list(payload.get("followups") or [])
        if (len(followups) >= MAX_FOLLOWUPS
                or any(item.get("eventId") == entry.get("eventId") for item in followups)):
            return False
        followups = sorted([*followups, entry], key=lambda item: str(item.get("at") or ""))
        raised_title = str(payload.get("raisedTitle") or alert.title)
        payload.update(followups=followups, raisedTitle=raised_title)
        alert.payload = payload
        alert.title = followup_title(raised_title, followups)[:300]
        alert.save(update_fields=["payload", "title", "updated_at"])
    return True


def followup_title(raised_title: str, followups: list[dict[str, Any]]) -> str:
    """The raised title plus what the person said since: the latest changed
    answer (with the note typed on its page), else the latest note."""
    changes = [item for item in followups if item.get("kind") == "changed_answer"]
    notes = [item for item in followups if item.get("kind") == "note"]
    if changes:
        change = changes[-1]
        said = f"changed the answer to “{change.get('answer', '')}”"
        # Typed on the new answer's page (reached only by tapping it): about the change.
        beside = [note for note in notes if note.get("linkId") == change.get("linkId")]
        if beside:
            said += f": “{_quote(beside[-1].get('text', ''))}”"
    elif notes:
        said = f"wrote again: “{_quote(notes[-1].get('text', ''))}”"
    else:
        return raised_title
    return f"{raised_title} — {said}"


def _quote(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…"


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
        transaction.on_commit(_queue_due_now, robust=True)  # the clock finds due jobs too


def _queue_due_now() -> None:
    from django_q.tasks import async_task

    async_task("alerts.tasks.jobs_run_due", task_name="handler-jobs", group="alerts")


def handler_job_execute(job_id: int) -> str:
    """Run one claimed job (the claim counted the attempt).

    The job's lease becomes its handler's time limit: a handler still running
    past it (or whose worker died) is claimed again by the next `run_due`, and
    that claim counts as an attempt too. An error is retried with backoff
    (30 s, 60 s, ...) until `retries` are spent; then the job is `failed` with
    the last error. Handlers are idempotent by their own keys, so a retry
    after a successful send sends nothing.
    """
    job = HandlerJob.objects.select_related("event", "contact").filter(
        pk=job_id, status=HandlerJob.Status.PENDING).first()
    if job is None:
        return "gone"
    handler = handlers.by_name.get(job.handler)
    now = timezone.now()
    if handler is None:
        _finish(job, HandlerJob.Status.FAILED, error=f"handler {job.handler!r} is not registered")
        return "failed"
    attempt = max(job.attempts, 1)
    if attempt > handler.retries + 1:
        _finish(job, HandlerJob.Status.FAILED, error=job.last_error or (
            f"gave up after {attempt - 1} attempt(s) that never finished "
            f"(worker killed, or the handler ran past its {handler.timeout} time limit)"))
        return "failed"
    HandlerJob.objects.filter(pk=job.pk).update(claimed_until=now + handler.timeout)
    try:
        result = handler.fn(HandlerCall(event=job.event, contact=job.contact)) or {}
    except Exception as exc:  # a handler error is retried, then recorded
        logger.exception("handler %s failed on event %s", job.handler, job.event_id)
        if attempt > handler.retries:
            _finish(job, HandlerJob.Status.FAILED, error=repr(exc), attempts=attempt)
            return "failed"
        now = timezone.now()
        HandlerJob.objects.filter(pk=job.pk).update(
            attempts=attempt, last_error=repr(exc)[:4000], claimed_until=None,
            due_at=now + handler.retry_delay(attempt), updated_at=now)
        return "retry"
    _finish(job, HandlerJob.Status.DONE, result=result, attempts=attempt)
    return "done"


def _finish(job: HandlerJob, status: str, *, result: dict | None = None, error: str = "",
            attempts: int | None = None) -> None:
    HandlerJob.objects.filter(pk=job.pk).update(
        status=status, result=result or {}, last_error=error[:4000], claimed_until=None,
        attempts=attempts if attempts is not None else job.attempts, updated_at=timezone.now())
