"""The contact page's timeline rows from this app: events, answers (each with its
comment in full) and emails (subject, status, opened, clicked).

Registered with contacts.timeline from TrackingConfig.ready. Each source reads
the contact's newest rows through the contact's foreign-key indexes.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.urls import reverse

from contacts.models import Contact
from contacts.timeline import TimelineEntry, register_timeline_source
from hogsend_site import labels, times
from tracking.models import ANSWER_KEY_PREFIX, COMMENT_KEY_PREFIX, Answer, EmailSend, UserEvent

# Properties every tracking event carries about its email: shown as a link, not as text.
CONTEXT_KEYS = frozenset({"emailSendId", "templateKey", "journeyId", "linkId", "comment",
                          # a later note's or changed answer's ties (tracking.semantic)
                          "parentEvent", "previousLinkId", "answerEventId", "firstAnsweredAt"})
# A later answer to the same email is stored as "<answer event>.changed".
CHANGED_SUFFIX = ".changed"
# How many of an event's own properties the timeline spells out.
SHOWN_PROPERTIES = 4
PROPERTY_CHARS = 80

STATUS_WORDS = {
    "queued": "queued, not sent yet",
    "sent": "sent",
    "delivered": "delivered",
    "opened": "opened",
    "clicked": "clicked",
    "bounced": "bounced",
    "complained": "marked as spam",
    "failed": "failed to send",
    "suppressed": "not sent",
}


def events(contact: Contact, limit: int) -> list[TimelineEntry]:
    """What the person did and what was recorded about them, answers and their
    comments aside (the answers source shows them together)."""
    rows = (UserEvent.objects.filter(contact=contact)
            .exclude(idempotency_key__startswith=ANSWER_KEY_PREFIX)
            .exclude(idempotency_key__startswith=COMMENT_KEY_PREFIX)
            .order_by("-occurred_at", "-id")[:limit])
    return [TimelineEntry(
        at=event.occurred_at, kind="event",
        title=_event_title(event), raw=event.event,
        url=reverse("admin:tracking_userevent_change", args=[event.pk]),
        details=_property_words(event.properties),
        quote=_comment(event.properties),
        links=_send_link(event.properties),
    ) for event in rows]


def _event_title(event: UserEvent) -> str:
    """The event's label; an answer changed after the first reads as the change."""
    if event.event.endswith(CHANGED_SUFFIX):
        answered = event.event.removesuffix(CHANGED_SUFFIX)
        answer = labels.answer_text(answered, event.properties)
        if answer:
            return f"Changed the answer to “{answer}”"
    return labels.event_label(event.event, event.properties)


def answers(contact: Contact, limit: int) -> list[TimelineEntry]:
    """The person's answers, each with the note they left on the answer page."""
    from tracking.answers_admin import with_comments  # the answers list's own pairing

    rows = with_comments(Answer.objects.filter(contact=contact)).order_by(
        "-occurred_at", "-id")[:limit]
    return [TimelineEntry(
        at=answer.occurred_at, kind="answer",
        title=labels.event_label(answer.event, answer.properties), raw=answer.event,
        url=reverse("admin:tracking_answer_change", args=[answer.pk]),
        details=_journey_words(answer.properties),
        quote=answer.comment_text or "",
        links=_send_link(answer.properties),
    ) for answer in rows]


def emails(contact: Contact, limit: int) -> list[TimelineEntry]:
    rows = (EmailSend.objects.filter(contact=contact).defer("html", "text", "metadata")
            .order_by("-created_at")[:limit])
    return [TimelineEntry(
        at=send.created_at, kind="email",
        title=f"Email “{send.subject}”", raw=send.template_key,
        url=reverse("admin:tracking_emailsend_change", args=[send.pk]),
        details=_send_facts(send),
    ) for send in rows]


def _send_facts(send: EmailSend) -> tuple[str, ...]:
    """ "sent · opened Wed 17 Jun 2026, 07:02 UTC · clicked … · to ada@example.com"."""
    # Opened and clicked are said with their times below, not as the status.
    status = "sent" if send.status in ("opened", "clicked") else STATUS_WORDS.get(
        send.status, send.status)
    facts = [f"{status} ({send.reason})" if send.reason else status]
    for label, moment in (("opened", send.opened_at), ("clicked", send.clicked_at),
                          ("bounced", send.bounced_at)):
        if moment is not None:
            facts.append(f"{label} {times.in_words(moment)}")
    if (send.status in EmailSend.POST_DISPATCH and send.opened_at is None
            and send.clicked_at is None):
        facts.append("not opened yet")
    facts.append(f"to {send.to_email}")
    return tuple(facts)


def _property_words(properties: dict[str, Any] | None) -> tuple[str, ...]:
    shown = [(key, value) for key, value in (properties or {}).items()
             if key not in CONTEXT_KEYS and value not in (None, "", [], {})]
    words = [_short(f"{key}: {_value_words(value)}") for key, value in shown[:SHOWN_PROPERTIES]]
    if len(shown) > SHOWN_PROPERTIES:
        words.append(f"+{len(shown) - SHOWN_PROPERTIES} more on the event's page")
    return tuple(words)


def _value_words(value: Any) -> str:
    """A property's value; an ISO timestamp ("answeredAt") in staff time with its zone."""
    if isinstance(value, str) and "T" in value and ":" in value:
        moment = times.instant(value)
        if moment is not None:
            return times.in_words(moment)
    return str(value)


def _journey_words(properties: dict[str, Any] | None) -> tuple[str, ...]:
    journey = (properties or {}).get("journeyId")
    return (f"journey {journey}",) if journey else ()


def _comment(properties: dict[str, Any] | None) -> str:
    comment = (properties or {}).get("comment")
    return comment if isinstance(comment, str) else ""


def _send_link(properties: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    try:
        send_id = uuid.UUID(str((properties or {}).get("emailSendId")))
    except ValueError:
        return ()
    return (("the email", reverse("admin:tracking_emailsend_change", args=[send_id])),)


def _short(text: str) -> str:
    return text if len(text) <= PROPERTY_CHARS else text[: PROPERTY_CHARS - 1] + "…"


def register() -> None:
    register_timeline_source("events", events)
    register_timeline_source("answers", answers)
    register_timeline_source("emails", emails)
