"""django-q2 tasks of the tracking app (thin: ids in, one service call)."""

from __future__ import annotations

import logging
from typing import Any

from tracking.ingest import EventInput, events_ingest
from tracking.models import EmailSend
from tracking.services import send_identity

logger = logging.getLogger(__name__)


def send_event_ingest(send_id: str, event: str, properties: dict[str, Any]) -> None:
    """django-q2 task: ingest one per-hit tracking event (no idempotency key)."""
    send = EmailSend.objects.filter(pk=send_id).first()
    if send is None:
        return
    item = EventInput(name=event, properties=properties, source="tracking", **send_identity(send))
    result = events_ingest([item])[0]
    if result.error:
        logger.warning("tracking event %s for send %s not stored: %s", event, send_id, result.error)
