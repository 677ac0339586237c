"""What the customer says after an alert was raised is added to that alert.

A "No, still broken" opens a reopen alert. The customer may write again on the
answer page (`<answer event>.comment`) or tap "Yes, all sorted" after all
(`<answer event>.changed`, tracking.semantic). Neither reaches the journey,
which acted on the first answer; both are added to the customer's unresolved
alert for that question (`payload["followups"]`, and its title:
alerts.services.alert_followup_add), so whoever handles it reads
"changed the answer to “Yes, all sorted”: “Actually it works now”" before
calling the customer.

The handler runs a minute after the alert's own grace window: by then the
alert that a fresh answer raises exists (the alert quotes the newest note
typed before it; that note is not added twice). When the alert's handler is
still pending (a provider outage, say) the job is retried until it is not.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from alerts.handlers import HandlerCall, on_event
from alerts.models import Alert, HandlerJob
from alerts.operator import GRACE_WINDOW
from alerts.services import alert_followup_add
from hogsend_site import times
from tracking.answer_page import answer_words, button_label
from tracking.models import CHANGED_SUFFIX, COMMENT_SUFFIX, EmailSend

# The answer events the shipped alerts stand for, and the alert each one raises.
ALERT_KINDS = {
    "support.followup_answered": "reopen_requested",
    "nps.submitted": "nps_detractor",
    "offer.answered": "lead",
    "review.rated": "review_followup",
}
ALERT_HANDLERS = ("support-alert", "nps-detractor-alert", "notify-lead",
                  "review-followup-alert")
FOLLOWUP_DELAY = GRACE_WINDOW + timedelta(minutes=1)
EVENTS = tuple(f"{source}{suffix}" for source in ALERT_KINDS
               for suffix in (COMMENT_SUFFIX, CHANGED_SUFFIX))


class AlertNotRaisedYet(Exception):
    """The person's alert is still on its way (its handler is pending): try later."""


@on_event(*EVENTS, name="alert-followups", delay=FOLLOWUP_DELAY, retries=10,
          max_backoff=timedelta(minutes=30))
def alert_followups(call: HandlerCall) -> dict[str, Any]:
    event = call.event
    source, _, what = event.event.rpartition(".")
    kind = ALERT_KINDS.get(source)
    if kind is None or call.contact is None:
        return {"status": "skipped", "reason": "no_alert_kind_or_contact"}
    props = call.properties
    send = EmailSend.objects.filter(pk=_uuid_or_none(props.get("emailSendId"))).first()
    alert = _open_alert(kind, call.contact, send)
    if alert is None:
        if HandlerJob.objects.filter(handler__in=ALERT_HANDLERS, contact=call.contact,
                                     status=HandlerJob.Status.PENDING).exists():
            raise AlertNotRaisedYet(f"an alert for contact {call.contact.pk} is pending")
        return {"status": "no_open_alert"}
    if what == "comment" and _quoted_by(alert, event.occurred_at, str(props.get("comment", ""))):
        return {"status": "quoted", "alertId": alert.pk}
    entry = _entry(event.pk, what, props, event.occurred_at, send)
    added = alert_followup_add(alert_id=alert.pk, entry=entry)
    return {"status": "added" if added else "already", "alertId": alert.pk}


def _open_alert(kind: str, contact: Any, send: EmailSend | None) -> Alert | None:
    """The person's newest unresolved alert of `kind` raised since the email was
    sent, the one raised by that email's run first."""
    alerts = Alert.objects.filter(kind=kind, contact=contact).exclude(
        status=Alert.Status.RESOLVED)
    if send is not None:
        alerts = alerts.filter(created_at__gte=send.created_at)
        if send.journey_run_id:
            same_run = alerts.filter(journey_run_id=send.journey_run_id)
            alert = same_run.order_by("-created_at", "-pk").first()
            if alert is not None:
                return alert
    return alerts.order_by("-created_at", "-pk").first()


def _quoted_by(alert: Alert, at: datetime, text: str) -> bool:
    """The note the alert already quotes as the customer's note."""
    payload = alert.payload if isinstance(alert.payload, dict) else {}
    return at <= alert.created_at and text != "" and payload.get("comment") == text


def _entry(event_id: int, what: str, props: dict[str, Any], at: datetime,
           send: EmailSend | None) -> dict[str, Any]:
    html = send.html if send else ""
    answer = button_label(html, props.get("linkId")) or answer_words(props)
    when = _staff_time(at)
    if what == "changed":
        before = button_label(html, props.get("previousLinkId")) or answer_words(
            {key[len("previous"):].lower(): value for key, value in props.items()
             if key.startswith("previous") and key != "previousLinkId"})
        return {"eventId": event_id, "kind": "changed_answer", "at": at.isoformat(),
                "atText": when, "answer": answer, "previous": before, "linkId": props.get("linkId"),
                "sentence": f"Changed the answer to “{answer}” (was “{before}”) at {when}."}
    text = str(props.get("comment", ""))
    return {"eventId": event_id, "kind": "note", "at": at.isoformat(), "atText": when,
            "text": text,
            "answer": answer, "linkId": props.get("linkId"),
            "sentence": f"Wrote at {when}, on the “{answer}” page: “{text}”"}


def _staff_time(moment: datetime) -> str:
    local = moment.astimezone(times.staff_zone())
    return f"{local:%H:%M} {local:%Z}, {local:%a} {local.day} {local:%b}"


def _uuid_or_none(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


__all__ = ["ALERT_KINDS", "alert_followups"]
