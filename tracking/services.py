"""Writes of the tracking pages: raw clicks, opens and answer comments.

Clicks and opens are recorded in the request (the redirect/pixel answers at
once); their `email.link_clicked` / `email.opened` events are `PendingEvent`
rows written in the same transaction and ingested by a django-q2 task queued
on commit, or by the clock if that task never runs (tracking.events_due). A
semantic click by a human with GET also gets `confirm_at` = click + 30 s: the
clock confirms it then (tracking.semantic). Anyone holding one email can hit its
links and pixel forever, so rows are written for a bounded number of hits per
send per hour and the rest are counted on the send (`click_admitted`, `open_record`).

The admin plane's writes live here too: event replay by id and email resend.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from hogsend_site.errors import Conflict, HogsendError, NotFound
from hogsend_site.ratelimit import Rate, rate_limit_hit
from tracking.ingest import EventInput, events_ingest, events_replay
from tracking.mailer import email_send
from tracking.models import (
    COMMENT_KEY_PREFIX,
    COMMENT_SUFFIX,
    LATER_NOTE_KEY_PREFIX,
    EmailSend,
    LinkClick,
    PendingEvent,
    TrackedLink,
    UserEvent,
)
from tracking.send_types import Origin, Sender, SendResult

logger = logging.getLogger(__name__)

CONFIRM_DELAY = timedelta(seconds=30)
MAX_COMMENT_CHARS = 2000
Status = EmailSend.Status


def send_context(send: EmailSend) -> dict[str, Any]:
    """The properties every tracking event carries about its send (and, for a
    broadcast's, its `campaignId`)."""
    context = {"emailSendId": str(send.pk), "templateKey": send.template_key,
               "journeyId": send.journey_id}
    if campaign_id := (send.metadata or {}).get("campaignId"):
        context["campaignId"] = campaign_id
    return context


def send_identity(send: EmailSend) -> dict[str, Any]:
    """Who a send's events belong to: its contact, else its key, else its address."""
    if send.contact_id is not None:
        return {"contact_id": send.contact_id}
    if send.user_key:
        return {"user_id": send.user_key}
    return {"email": send.to_email}


def _queue_event(send: EmailSend, event: str, properties: dict[str, Any], now: datetime) -> None:
    """The hit's event as a due row (inside the hit's transaction), plus a hint to
    ingest it at once. robust: with the broker away the hit still answers and the
    clock ingests the row."""
    pending = PendingEvent.objects.create(email_send=send, event=event, properties=properties,
                                          occurred_at=now, due_at=now, created_at=now)
    transaction.on_commit(lambda: async_task(
        "tracking.tasks.pending_events_ingest", [pending.pk],
        task_name=f"{event}:{send.pk}", group="tracking-events"), robust=True)


def _per_hour(setting: str, default: int) -> Rate | None:
    count = int(getattr(settings, setting, default) or 0)
    return Rate(count=count, seconds=3600) if count > 0 else None


def _counted_in(scope: str, key: Any, rate: Rate | None) -> bool:
    """Count one hit of `key` this clock hour; True while within `rate` (None: no cap)."""
    return rate_limit_hit(scope=scope, key=str(key), rate=rate) is None


def click_admitted(*, link: TrackedLink, confirm: bool) -> bool:
    """Whether this hit is written (LinkClick, event, webhook) or only counted.

    Every send may write TRACKING_CLICKS_PER_SEND_HOUR clicks an hour, plus the
    first hit of each of its links in that hour, so a scanner's sweep stays
    visible to the answer burst rule (it counts distinct links). A human GET of an
    answer link (`confirm`) is never charged to the send: a scanner that used up
    the send's clicks on other links first must not cost the person their answer.
    It has a budget of the same size per link instead, so hammering one answer
    link is bounded too. The per-IP limit (tracking/views.py) comes before all this.
    """
    rate = _per_hour("TRACKING_CLICKS_PER_SEND_HOUR", 5)
    if rate is None:
        return True
    if confirm:
        return _counted_in("answer-clicks", link.pk, rate)
    first_of_link = _counted_in("link-first-click", link.pk, Rate(count=1, seconds=3600))
    within_send = _counted_in("send-clicks", link.email_send_id or link.pk, rate)
    return first_of_link or within_send


def click_record(*, link: TrackedLink, ip: str, user_agent: str, method: str,
                 is_bot: bool) -> LinkClick | None:
    """Record one hit (bots and HEAD included) and schedule what follows; None when
    the hit was over its send's hourly cap (`click_admitted`) and only counted."""
    now = timezone.now()
    prefetch = is_bot or method == "HEAD"
    send = link.email_send
    confirm = link.is_semantic and send is not None and not prefetch
    if not click_admitted(link=link, confirm=confirm):
        if send is not None:
            EmailSend.objects.filter(pk=send.pk).update(
                clicks_dropped=F("clicks_dropped") + 1, last_click_dropped_at=now)
        return None
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
                _queue_event(send, "email.link_clicked", {
                    **send_context(send), "linkUrl": link.original_url, "linkId": str(link.pk)},
                    now)
    return click


def open_record(*, send_id: Any) -> bool:
    """The open pixel: first open time, status, and an `email.opened` event per hit,
    for at most TRACKING_OPENS_PER_SEND_HOUR hits a send an hour (the first open
    always among them); the rest only add to `opens_dropped`. True when written.

    Nothing for a send whose recipient was erased: their opens are not theirs to
    record any more."""
    send = EmailSend.objects.filter(pk=send_id).first()
    if send is None or send.is_erased:
        return False
    if not _counted_in("send-opens", send.pk, _per_hour("TRACKING_OPENS_PER_SEND_HOUR", 10)):
        EmailSend.objects.filter(pk=send.pk).update(opens_dropped=F("opens_dropped") + 1)
        return False
    now = timezone.now()
    with transaction.atomic():
        EmailSend.objects.filter(pk=send.pk, opened_at__isnull=True).update(opened_at=now)
        EmailSend.objects.filter(pk=send.pk, status__in=[Status.SENT, Status.DELIVERED]).update(
            status=Status.OPENED)
        _queue_event(send, "email.opened", send_context(send), now)
    return True


class NoteOutcome:
    """What became of a note typed on the answer page (the page says so)."""

    STORED = "stored"
    ALREADY = "already"  # the same words on the same answer today: kept once
    OVER_LIMIT = "over_limit"
    REFUSED = "refused"  # an erased email or link, or no words
    FAILED = "failed"


def note_keys(send: EmailSend, event: str, now: datetime) -> list[str]:
    """The keys a note of this email may take today, in order: the first note's
    (paired with the answer, `semc:`), then ANSWER_NOTES_PER_SEND_DAY more for
    this UTC day. Unique keys make the cap exact however many posts race."""
    limit = max(0, int(getattr(settings, "ANSWER_NOTES_PER_SEND_DAY", 10) or 0))
    day = now.date().isoformat()
    return [f"{COMMENT_KEY_PREFIX}{send.pk}:{event}",
            *(f"{LATER_NOTE_KEY_PREFIX}{send.pk}:{day}:{n}" for n in range(1, limit + 1))]


def answer_note_record(*, link: TrackedLink, comment: str) -> str:
    """Store a note from the answer page as `<event>.comment` (a `NoteOutcome`).

    Every note is kept, not only the first, so a person's second thought is not
    silently dropped (the reference engine kept one): the first under
    `semc:<send>:<event>`, the later ones under `semnote:<send>:<day>:<n>`,
    at most ANSWER_NOTES_PER_SEND_DAY a UTC day per email, so a public page
    cannot grow the table without bound (each note is also at most
    MAX_COMMENT_CHARS, and posts are rate-limited per address by the view).
    Accepted even when the answer itself was a burst or lost its slot; refused
    for an erased send or link (contacts/erasure.py). Ingest errors are logged.
    """
    send = link.email_send
    comment = comment.strip()[:MAX_COMMENT_CHARS]
    if send is None or send.is_erased or link.is_erased or not link.is_semantic or not comment:
        return NoteOutcome.REFUSED
    keys = note_keys(send, link.event, timezone.now())
    taken = dict(UserEvent.objects.filter(idempotency_key__in=keys).values_list(
        "idempotency_key", "properties"))
    if any((props or {}).get("comment") == comment and (props or {}).get("linkId") == str(link.pk)
           for props in taken.values()):
        return NoteOutcome.ALREADY  # a double-clicked Send, or the same note again
    properties = {**send_context(send), "comment": comment, "parentEvent": link.event,
                  **link.event_properties, "linkId": str(link.pk)}
    for key in (key for key in keys if key not in taken):
        item = EventInput(name=f"{link.event}{COMMENT_SUFFIX}", properties=properties,
                          source="tracking", idempotency_key=key, **send_identity(send))
        try:
            result = events_ingest([item])[0]
        except HogsendError:
            logger.exception("note for link %s not stored", link.pk)
            return NoteOutcome.FAILED
        if result.error:
            logger.warning("note for link %s not stored: %s", link.pk, result.error)
            return NoteOutcome.FAILED
        if result.stored:
            return NoteOutcome.STORED
        # A concurrent note took this key first: try the next one.
    return NoteOutcome.OVER_LIMIT


def answer_comment_record(*, link: TrackedLink, comment: str) -> bool:
    """`answer_note_record`, True when the note was stored."""
    return answer_note_record(link=link, comment=comment) == NoteOutcome.STORED


# --- admin plane: replay and resend --------------------------------------------------


@dataclass
class ReplayReport:
    replayed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def events_replay_by_id(*, event_ids: list[int]) -> ReplayReport:
    """Replay stored events (`tracking.ingest.events_replay`), each id once, in order.

    An unknown id, or an event the pipeline refuses, is reported in `errors`
    (`{eventId, error}`) and never stops the others.
    """
    wanted = list(dict.fromkeys(event_ids))
    known = set(UserEvent.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    report = ReplayReport(errors=[{"eventId": pk, "error": "Event not found"}
                                  for pk in wanted if pk not in known])
    found = [pk for pk in wanted if pk in known]
    for pk, result in zip(found, events_replay(event_ids=found) if found else [], strict=True):
        if result.error:
            report.errors.append({"eventId": pk, "error": result.error})
        elif result.stored:
            report.replayed += 1
    return report


RESENDABLE = (Status.FAILED, Status.BOUNCED)


def email_resend(*, email_send_id: Any) -> SendResult:
    """Send a failed or bounced email again, as it went out the first time.

    A new send row, keyed `resend:<id>:<n>`, carries the original's rendered
    bodies with fresh tracked links (same destinations and answers) and its own
    open pixel; `email_send` then checks today's preferences and dispatches the
    stored body (its path for a queued row). 409 unless the original failed or
    bounced, when it never rendered (nothing to resend), or when an earlier
    resend of it went out: a second click never sends twice. An earlier resend
    left queued by a crash is re-driven instead of copied again.
    """
    original = EmailSend.objects.filter(pk=email_send_id).first()
    if original is None:
        raise NotFound("Email not found")
    if original.status not in RESENDABLE:
        raise Conflict(f"Only failed or bounced emails can be resent; this one is "
                       f"{original.status}")
    if not original.html:
        raise Conflict("This email never rendered, so there is nothing to resend")
    resends = EmailSend.objects.filter(metadata__resendOf=str(original.pk))
    # Failed and suppressed rows release their key: a row still holding one is
    # queued (a crashed attempt, re-driven below) or was dispatched.
    live = resends.filter(idempotency_key__isnull=False).first()
    if live is not None and live.status != Status.QUEUED:
        raise Conflict(f"This email was already resent as {live.pk}")
    if live is not None:
        key = live.idempotency_key
    else:
        key = f"resend:{original.pk}:{resends.count() + 1}"
        _queue_copy(original, key)
    return email_send(
        to=original.to_email, template=original.template_key, subject=original.subject,
        contact=original.contact, category=original.category, idempotency_key=key,
        origin=Origin(journey_run_id=original.journey_run_id, journey_id=original.journey_id),
        sender=Sender(from_email=original.from_email,
                      reply_to=original.metadata.get("replyTo") or None),
    )


def _queue_copy(original: EmailSend, key: str) -> None:
    """Insert the queued copy and its links; a concurrent resend's row wins quietly."""
    copy_id, base = uuid.uuid4(), settings.PUBLIC_BASE_URL
    html = original.html.replace(f"/v1/t/o/{original.pk}", f"/v1/t/o/{copy_id}")
    text, links = original.text, []
    for link in original.links.all():
        link_id = uuid.uuid4()
        html = html.replace(f"/v1/t/c/{link.pk}", f"/v1/t/c/{link_id}")
        text = text.replace(f"/v1/t/c/{link.pk}", f"/v1/t/c/{link_id}")
        destination = link.original_url.replace(f"{base}/v1/t/a/{link.pk}",
                                                f"{base}/v1/t/a/{link_id}")
        links.append(TrackedLink(id=link_id, email_send_id=copy_id, original_url=destination,
                                 event=link.event, event_properties=link.event_properties))
    try:
        with transaction.atomic():
            EmailSend.objects.create(
                id=copy_id, journey_run_id=original.journey_run_id,
                journey_id=original.journey_id, contact=original.contact,
                user_key=original.user_key, template_key=original.template_key,
                category=original.category, from_email=original.from_email,
                to_email=original.to_email, subject=original.subject, status=Status.QUEUED,
                idempotency_key=key, html=html, text=text,
                metadata={"replyTo": original.metadata.get("replyTo", ""),
                          "resendOf": str(original.pk)})
            TrackedLink.objects.bulk_create(links)
    except IntegrityError:
        pass  # the same key was inserted first by a concurrent resend
