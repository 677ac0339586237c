"""Cron tasks: declared in `hogsend_site/schedules.py`, installed by `sync_schedules`.

Task function paths are a stable public API: django-q2's `Schedule.func`
stores them as strings.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts.services import alert_raise
from contacts.models import Contact
from journeys.selectors import stranded_reason, stranded_runs
from tracking.mailer import email_send
from tracking.models import UserEvent

logger = logging.getLogger("alerts")

DIGEST_TEMPLATE = "retention-weekly-digest"
DIGEST_EVENTS = ("report.created", "report.shared")
DIGEST_WINDOW = timedelta(days=7)
DIGEST_CHUNK = 500
STRANDED_LISTED = 50
STRANDED_COUNT_CAP = 10_000


def weekly_digest(until: str | None = None, after: str | None = None) -> dict[str, Any]:
    """Mondays 09:00 UTC: one digest per contact active in the last 7×24 h.

    One aggregate query counts `report.created` and `report.shared` per
    contact; each active contact then gets one preference-checked send keyed
    `digest:<contact key>:<YYYY-MM-DD of the run>`, so a same-day retry, or a
    re-run after a crash mid-list, mails nobody twice (a key already sent
    counts as sent again). Contacts without an address, deleted ones,
    unsubscribed ones and failed sends count as skipped.

    A task is killed at `Q_CLUSTER["timeout"]`: past three quarters of it the
    rest of the list is handed to a continuation task (`until` pins the
    window, `after` the last contact done), so any list size completes.
    Returns `{"sent", "skipped", "week"}` for the contacts this task handled
    (week: the run's UTC date).
    """
    now = (parse_datetime(until) if until else None) or timezone.now()
    week = now.date().isoformat()
    week_of = (now - DIGEST_WINDOW).date().isoformat()
    deadline = time.monotonic() + _time_budget()
    totals = {"sent": 0, "skipped": 0}
    chunk: list[dict[str, Any]] = []
    for row in _activity(now, after).iterator(chunk_size=DIGEST_CHUNK):
        chunk.append(row)
        if len(chunk) < DIGEST_CHUNK:
            continue
        _send_chunk(chunk, week=week, week_of=week_of, totals=totals)
        if time.monotonic() > deadline:
            _continue(now, chunk[-1]["contact_id"])
            break
        chunk = []
    else:
        _send_chunk(chunk, week=week, week_of=week_of, totals=totals)
    logger.info("weekly digest %s: %s sent, %s skipped", week, totals["sent"], totals["skipped"])
    return {**totals, "week": week}


def _activity(now: datetime, after: str | None) -> Any:
    """Per-contact counts over (now - 7×24 h, now], in contact order (the keyset)."""
    rows = UserEvent.objects.filter(
        event__in=DIGEST_EVENTS,
        occurred_at__gt=now - DIGEST_WINDOW,
        occurred_at__lte=now,
        contact__isnull=False,
    )
    if after:
        rows = rows.filter(contact_id__gt=after)
    return (
        rows.values("contact_id")
        .annotate(
            created=Count("id", filter=Q(event="report.created")),
            shared=Count("id", filter=Q(event="report.shared")),
        )
        .order_by("contact_id")
    )


def _time_budget() -> float:
    return 0.75 * float(settings.Q_CLUSTER.get("timeout") or 240)


def _continue(now: datetime, last_contact_id: Any) -> None:
    from django_q.tasks import async_task

    logger.info("weekly digest continues after contact %s", last_contact_id)
    async_task(
        "alerts.cron.weekly_digest",
        now.isoformat(),
        str(last_contact_id),
        task_name=f"weekly-digest:{now.date().isoformat()}:after:{last_contact_id}",
        group="weekly-digest",
    )


def _send_chunk(
    rows: list[dict[str, Any]], *, week: str, week_of: str, totals: dict[str, int]
) -> None:
    contacts = Contact.objects.in_bulk([row["contact_id"] for row in rows])
    for row in rows:
        contact = contacts.get(row["contact_id"])
        if contact is None or contact.is_deleted or not contact.email:
            totals["skipped"] += 1
            continue
        status = _send_one(contact, row, week=week, week_of=week_of)
        totals["sent" if status == "sent" else "skipped"] += 1


def _send_one(contact: Contact, row: dict[str, Any], *, week: str, week_of: str) -> str:
    try:
        result = email_send(
            to=contact.email,
            template=DIGEST_TEMPLATE,
            contact=contact,
            props={
                "reportsCreated": row["created"],
                "reportsShared": row["shared"],
                "weekOf": week_of,
            },
            idempotency_key=f"digest:{contact.key}:{week}",
        )
    except Exception:  # one bad send must not stop the others; its key stays free
        logger.exception("weekly digest for contact %s failed", contact.pk)
        return "failed"
    return result.status


def stranded_runs_check() -> dict[str, Any]:
    """Every 5 minutes: page the support queue about stranded runs, so none waits unseen.

    Stranded: live runs more than an hour past their deadline, and failed runs
    (`journeys.selectors.stranded_runs`). One alert (kind `stranded_runs`) per
    UTC hour at most: the dedupe key `stranded_runs:<YYYY-MM-DDTHH>` makes the
    other checks of that hour find the same alert. The payload lists up to 50
    runs, longest stuck first, with the reason each is listed; the admin's
    "stranded runs" page has them all. Returns `{"stranded", "alert"}` (the
    count, capped at 10,000, and the alert id or None).
    """
    now = timezone.now()
    runs = stranded_runs(now)
    listed = list(runs.order_by("updated_at", "pk")[:STRANDED_LISTED])
    if not listed:
        return {"stranded": 0, "alert": None}
    total = runs.order_by()[:STRANDED_COUNT_CAP].count()
    failed = sum(run.status == "failed" for run in listed)
    alert = alert_raise(
        kind="stranded_runs",
        title=f"{total}{'+' if total >= STRANDED_COUNT_CAP else ''} stranded journey run(s)",
        dedupe_key=f"stranded_runs:{now:%Y-%m-%dT%H}",
        payload={
            "total": total,
            "listed": len(listed),
            "failedListed": failed,
            "runs": [_stranded_item(run, now) for run in listed],
        },
    )
    logger.warning("%s stranded journey run(s); alert %s", total, alert.pk)
    return {"stranded": total, "alert": alert.pk}


def _stranded_item(run: Any, now: datetime) -> dict[str, Any]:
    deadline = run.wake_at or run.wait_deadline
    return {"id": str(run.pk), "journeyId": run.journey_id, "userKey": run.user_key,
            "status": run.status, "reason": stranded_reason(run, now),
            "deadline": deadline.isoformat() if deadline else None}
