"""Writes of the tracking pages: raw clicks, opens and answer comments.

Clicks and opens are recorded in the request (the redirect/pixel answers at
once); their `email.link_clicked` / `email.opened` events are ingested by a
django-q2 task queued on commit. A semantic click by a human with GET also
gets `confirm_at` = click + 30 s: the clock confirms it then (tracking.semantic).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from hogsend_site.errors import HogsendError
from tracking.ingest import EventInput, events_ingest
from tracking.models import EmailSend, LinkClick, TrackedLink

logger = logging.getLogger(__name__)

CONFIRM_DELAY = timedelta(seconds=30)
MAX_COMMENT_CHARS = 2000
Status = EmailSend.Status


def send_context(send: EmailSend) -> dict[str, Any]:
    """The properties every tracking event carries about its send."""
    return {"emailSendId": str(send.pk), "templateKey": send.template_key,
            "journeyId": send.journey_id}


def send_identity(send: EmailSend) -> dict[str, Any]:
    """Who a send's events belong to: its contact, else its key, else its address."""
    if send.contact_id is not None:
        return {"contact_id": send.contact_id}
    if send.user_key:
        return {"user_id": send.user_key}
    return {"email": send.to_email}


def _enqueue_event(send: EmailSend, event: str, properties: dict[str, Any]) -> None:
    transaction.on_commit(lambda: async_task(
        "tracking.tasks.send_event_ingest", str(send.pk), event, properties,
        task_name=f"{event}:{send.pk}", group="tracking-events"))


def click_record(*, link: TrackedLink, ip: str, user_agent: str, method: str,
                 is_bot: bool) -> LinkClick:
    """Record one hit (always, bots and HEAD included) and schedule what follows."""
    now = timezone.now()
    prefetch = is_bot or method == "HEAD"
    send = link.email_send
    confirm = link.is_semantic and send is not None and not prefetch
    with transaction.atomic():
        click = LinkClick.objects.create(
            tracked_link=link, ip_address=ip, user_agent=user_agent[:1000],
            destination_url=link.original_url, method=method[:8], is_bot=is_bot,
            clicked_at=now, confirm_at=now + CONFIRM_DELAY if confirm else None)
        TrackedLink.objects.filter(pk=link.pk).update(click_count=F("click_count") + 1)
        if send is not None:
            EmailSend.objects.filter(pk=send.pk, clicked_at__isnull=True).update(clicked_at=now)
            EmailSend.objects.filter(
                pk=send.pk, status__in=[Status.SENT, Status.DELIVERED, Status.OPENED]
            ).update(status=Status.CLICKED)
            if not prefetch:
                _enqueue_event(send, "email.link_clicked", {
                    **send_context(send), "linkUrl": link.original_url, "linkId": str(link.pk)})
    return click


def open_record(*, send_id: Any) -> bool:
    """The open pixel: first open time, status, and an `email.opened` event per hit."""
    send = EmailSend.objects.filter(pk=send_id).first()
    if send is None:
        return False
    now = timezone.now()
    with transaction.atomic():
        EmailSend.objects.filter(pk=send.pk, opened_at__isnull=True).update(opened_at=now)
        EmailSend.objects.filter(pk=send.pk, status__in=[Status.SENT, Status.DELIVERED]).update(
            status=Status.OPENED)
        _enqueue_event(send, "email.opened", send_context(send))
    return True


def answer_comment_record(*, link: TrackedLink, comment: str) -> bool:
    """`<event>.comment` once per (send, event) (reference 4.5); True when stored.

    Accepted even when the answer itself was a burst or lost its slot.
    Ingest errors are logged, never shown to the person commenting.
    """
    send = link.email_send
    comment = comment.strip()[:MAX_COMMENT_CHARS]
    if send is None or not link.is_semantic or not comment:
        return False
    properties = {**send_context(send), "comment": comment, "parentEvent": link.event,
                  **link.event_properties, "linkId": str(link.pk)}
    item = EventInput(name=f"{link.event}.comment", properties=properties, source="tracking",
                      idempotency_key=f"semc:{send.pk}:{link.event}", **send_identity(send))
    try:
        result = events_ingest([item])[0]
    except HogsendError:
        logger.exception("comment for link %s not stored", link.pk)
        return False
    if result.error:
        logger.warning("comment for link %s not stored: %s", link.pk, result.error)
    return result.stored
