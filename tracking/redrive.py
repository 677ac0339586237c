"""A send whose key already has a queued row: a concurrent caller's, or a crashed
earlier attempt's (the orphan). One caller at a time may re-drive it, under a
short dispatch lease; a row stored without body or links is rendered again, so
the message sent is the stored HTML whose links lead somewhere."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from tracking import templates_registry
from tracking.links import inject_open_pixel, rewrite_links
from tracking.models import EmailSend, TrackedLink
from tracking.send_rows import DISPATCH_LEASE, Status, mark_failed
from tracking.send_types import SendRequest, SendResult


def redrive_blocked(orphan: EmailSend, request: SendRequest) -> SendResult | None:
    """The result when the orphan must not be sent by this caller (already sent, or
    another caller holds its lease); None when it is leased and ready to send."""
    if orphan.status != Status.QUEUED:
        return SendResult.duplicate(orphan)
    if not _take_dispatch_lease(orphan, request.now):
        return SendResult(email_send_id=str(orphan.pk), status="skipped", reason="in_flight")
    if not orphan.html or not TrackedLink.objects.filter(email_send=orphan).exists():
        # No body yet, or a body whose links were never stored (a row written
        # before row and links were one transaction): render it again.
        _render_into(orphan, request)
    return None


def _take_dispatch_lease(row: EmailSend, now: datetime) -> bool:
    """Compare-and-set: one caller at a time may call the provider for a queued row."""
    free = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=now)
    taken = EmailSend.objects.filter(free, pk=row.pk, status=Status.QUEUED).update(
        next_attempt_at=now + DISPATCH_LEASE, attempts=F("attempts") + 1)
    return taken == 1


def _render_into(row: EmailSend, request: SendRequest) -> None:
    """Render, track links and store the bodies; any error fails the row first."""
    base = settings.PUBLIC_BASE_URL
    try:
        html, text = templates_registry.render(request.template.key, request.props)
        with transaction.atomic():
            html, text = rewrite_links(send=row, html=html, text=text, base_url=base)
            row.html = inject_open_pixel(html, send_id=row.pk, base_url=base)
            row.text = text
            row.save(update_fields=["html", "text", "updated_at"])
    except Exception as exc:
        mark_failed(row, exc)
        raise
