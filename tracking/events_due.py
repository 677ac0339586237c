"""Per-hit tracking events: the clock's source over `PendingEvent` rows.

A click or pixel hit writes its `email.link_clicked` / `email.opened` event as a
`PendingEvent` row in the hit's own transaction (tracking.services). On commit
a django-q2 task is asked to ingest it at once (the fast path); the clock
(`run_due`) finds any row that task never took (broker away, message lost,
worker killed). Both go through the same claim, and a batch is ingested with
one `events_ingest` call whose transaction also deletes its rows (locked, and
skipped by any other processor), so each hit becomes exactly one event.

A failed batch is retried row by row, so one bad row cannot hold back the
others; a row that fails alone is retried with backoff (30 s doubling, at most
an hour) and after `MAX_ATTEMPTS` kept with `due_at` empty and its last error
(prune removes it with the raw clicks).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from hogsend_site.due import DueSource, claim_due
from tracking.ingest import EventInput, events_ingest
from tracking.models import PendingEvent
from tracking.services import send_identity

logger = logging.getLogger(__name__)

SOURCE_NAME = "tracking-events"
MAX_ATTEMPTS = 10
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)


def claim(now: datetime, limit: int, *, ids: list[Any] | None = None) -> list[Any]:
    """Claim due rows (only these `ids`, for the fast path)."""
    pending = PendingEvent.objects.filter(due_at__isnull=False)
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    return claim_due(pending, due_field="due_at", now=now, limit=limit)


def process(ids: list[Any]) -> None:
    """Ingest one claimed batch; on failure, each row alone."""
    try:
        _ingest(ids)
        return
    except Exception as exc:
        if len(ids) == 1:
            _failed(ids[0], exc)
            return
        logger.exception("ingesting %d tracking events failed; retrying them one by one",
                         len(ids))
    for pk in ids:
        try:
            _ingest([pk])
        except Exception as exc:
            _failed(pk, exc)


def next_due() -> datetime | None:
    return PendingEvent.objects.filter(due_at__isnull=False).aggregate(at=Min("due_at"))["at"]


DUE_SOURCE = DueSource(name=SOURCE_NAME, claim=claim, process=process, next_due=next_due)


def ingest_now(ids: list[Any]) -> None:
    """The fast path (a task queued on commit): claim these rows unless the clock has."""
    claimed = claim(timezone.now(), len(ids), ids=ids)
    if claimed:
        process(claimed)


def _ingest(ids: list[Any]) -> None:
    with transaction.atomic():
        rows = PendingEvent.objects.select_related("email_send").filter(
            pk__in=ids, due_at__isnull=False)
        if connection.features.has_select_for_update_skip_locked:
            # Another processor holding a row (a lease that expired mid-ingest) has it.
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        rows = list(rows.order_by("pk"))
        if not rows:
            return
        # A hit that raced its person's erasure (contacts/erasure.py) is dropped.
        live = [row for row in rows if not row.email_send.is_erased]
        items = [EventInput(name=row.event, properties=row.properties, source="tracking",
                            occurred_at=row.occurred_at, **send_identity(row.email_send))
                 for row in live]
        for row, result in zip(live, events_ingest(items) if items else [], strict=True):
            if result.error:  # bad input is not retried (nothing would change)
                logger.warning("tracking event %s for send %s not stored: %s", row.event,
                               row.email_send_id, result.error)
        PendingEvent.objects.filter(pk__in=[row.pk for row in rows]).delete()


def _failed(pk: Any, exc: Exception) -> None:
    """Count the failed attempt and schedule the next, or give up."""
    row = PendingEvent.objects.filter(pk=pk, due_at__isnull=False).first()
    if row is None:
        return
    now = timezone.now()
    attempts = row.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        due_at = None
        logger.error("tracking event %s (%s for send %s) given up after %d attempts: %r",
                     pk, row.event, row.email_send_id, attempts, exc)
    else:
        due_at = now + min(RETRY_BASE * 2 ** (attempts - 1), RETRY_CAP)
        logger.warning("tracking event %s (%s for send %s) not ingested (attempt %d), "
                       "retrying at %s: %r", pk, row.event, row.email_send_id, attempts,
                       due_at.isoformat(), exc)
    PendingEvent.objects.filter(pk=pk).update(
        attempts=attempts, due_at=due_at, claimed_until=None, last_error=repr(exc)[:4000],
        updated_at=now)
