"""django-q2 tasks of the tracking app (thin: ids in, one service call).

Task paths are a stable API: a message queued by an older version must still
resolve after a deploy.
"""

from __future__ import annotations

import logging
from typing import Any

from tracking.events_due import ingest_now
from tracking.ingest import EventInput, events_ingest
from tracking.models import EmailSend
from tracking.services import send_identity

logger = logging.getLogger(__name__)


def pending_events_ingest(pending_ids: list[Any]) -> None:
    """django-q2 task queued on commit of a hit: ingest its `PendingEvent` rows now,
    unless the clock already took them (tracking.events_due)."""
    ingest_now(pending_ids)


def send_event_ingest(send_id: str, event: str, properties: dict[str, Any]) -> None:
    """Compatibility: the per-hit task of earlier versions, for messages they queued
    before a deploy (new hits are `PendingEvent` rows; see pending_events_ingest)."""
    send = EmailSend.objects.filter(pk=send_id).first()
    if send is None:
        return
    item = EventInput(name=event, properties=properties, source="tracking", **send_identity(send))
    result = events_ingest([item])[0]
    if result.error:
        logger.warning("tracking event %s for send %s not stored: %s", event, send_id, result.error)
