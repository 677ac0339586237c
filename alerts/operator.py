"""The shipped operator alerts: pages to the team's inboxes, never to customers.

Each one resolves identity server-side (the triggering event carries scalars
only), waits a short grace window so a comment typed on the hosted answer page
can be folded in, sends with `skip_preference_check=True` (the customer's
unsubscribe never gates operator mail) and a deterministic idempotency key (a
retry after a successful send pages nobody twice), and opens an `Alert` row
for the support console.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from alerts.handlers import HandlerCall, on_event
from alerts.services import alert_raise
from hogsend_site import times
from tracking.mailer import email_send
from tracking.models import UserEvent

# How long an alert waits for a comment (a note typed on the answer page lands
# within minutes of the click), and how far before the answer it looks for one
# (the note can be stored before the answer is confirmed).
GRACE_WINDOW = timedelta(minutes=3)
COMMENT_LOOKBACK = timedelta(minutes=10)
# EmailSend.idempotency_key and Alert.dedupe_key are varchar(255).
KEY_MAX = 255
# Longer than the recipe's `retries: 2` (30 s and 60 s): a page must outlive a
# provider outage of a few hours. Waits of 30 s doubling, at most 30 min, give
# up ~2.5 h after the first try; a job that gives up opens a `handler_failed`
# alert in the support console (alerts.due). Sends are keyed: no retry pages twice.
RETRY = {"retries": 10, "max_backoff": timedelta(minutes=30), "alert_on_failure": True}


def latest_comment(call: HandlerCall, source_event: str, answered_at: str) -> str:
    """The newest `<source_event>.comment` of this contact since just before the answer."""
    since = (_instant(answered_at) or call.event.occurred_at) - COMMENT_LOOKBACK
    rows = UserEvent.objects.filter(event=f"{source_event}.comment", occurred_at__gte=since)
    rows = rows.filter(contact=call.contact) if call.contact else rows.filter(user_key=call.user_id)
    row = rows.order_by("-occurred_at", "-id").first()
    return str((row.properties or {}).get("comment", "")) if row else ""


def _instant(value: str) -> datetime | None:
    """An aware instant from an ISO string; None for anything else (API events vary)."""
    try:
        parsed = parse_datetime(value) if value else None
    except ValueError:  # well-formed but impossible, e.g. month 13
        return None
    if parsed is not None and parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


def _answered_at(call: HandlerCall) -> str:
    value = call.properties.get("answeredAt")
    if isinstance(value, str) and value:
        return value
    return call.event.occurred_at.isoformat()


def _one_line(text: str) -> str:
    """Event properties reach the subject: a header never carries a line break."""
    return " ".join(text.split())


def _fit_key(key: str) -> str:
    """Keys read `<kind>:<user>:<what>`; one too long for its column becomes a digest."""
    if len(key) <= KEY_MAX:
        return key
    return f"{key.split(':', 1)[0]}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _page(call: HandlerCall, *, kind: str, title: str, key: str, template: str, to: str,
          subject: str, props: dict[str, Any]) -> dict[str, Any]:
    key, title = _fit_key(key), _one_line(title)
    fields = {"kind": kind, "title": title, "dedupe_key": key, "contact": call.contact,
              "journey_run_id": call.journey_run_id, "payload": props}
    # The alert exists before its email, so the email can link to its page (a
    # retry finds the same alert by its key).
    alert = alert_raise(**fields)
    shown = {**props, "alertUrl": alert_admin_url(alert.pk),
             "answeredAtText": answered_at_words(props.get("answeredAt"), call.contact)}
    result = email_send(to=to, template=template, subject=_one_line(subject)[:900], props=shown,
                        skip_preference_check=True, idempotency_key=key)
    if result.email_send_id and alert.email_send_id is None:
        alert_raise(**fields, email_send_id=result.email_send_id)
    return {"status": result.status, "emailSendId": result.email_send_id}


def alert_admin_url(alert_id: int) -> str:
    """The alert's page in the console, absolute: it is read in a mail client."""
    path = reverse("admin:alerts_alert_change", args=[alert_id])
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def answered_at_words(value: Any, contact: Any) -> str:
    """ "Wed 17 Jun 2026, 09:00 UTC (11:00 in Berlin, the customer's time)": staff time,
    the customer's beside; a value that is no instant (API events vary) is printed as given."""
    moment = times.instant(value)
    if moment is None:
        return str(value or "")
    staff = times.in_words(moment)
    theirs = times.local_beside(moment, times.zone_or_none(contact.timezone if contact else ""))
    return f"{staff} ({theirs}, the customer's time)" if theirs else staff


@on_event("support.reopen_requested", name="support-alert", delay=GRACE_WINDOW, **RETRY)
def support_alert(call: HandlerCall) -> dict[str, Any]:
    if not call.user_id:
        return {"status": "skipped", "reason": "missing_user_id"}
    customer = call.user_email or call.user_id
    ticket_id = str(call.properties.get("ticket_id") or "unknown")
    answered_at = _answered_at(call)
    comment = latest_comment(call, "support.followup_answered", answered_at)
    return _page(
        call, kind="reopen_requested", title=f"Reopen requested: #{ticket_id} — {customer}",
        key=f"support-alert:{call.user_id}:{ticket_id}:{answered_at}",
        template="transactional/support-alert", to=settings.SUPPORT_ALERT_EMAIL,
        subject=f"[Reopen requested] #{ticket_id} — {customer}",
        props={"ticketId": ticket_id, "customerEmail": customer, "answeredAt": answered_at,
               "comment": comment},
    )


@on_event("nps.detractor_flagged", name="nps-detractor-alert", delay=GRACE_WINDOW, **RETRY)
def nps_detractor_alert(call: HandlerCall) -> dict[str, Any]:
    if not call.user_id:
        return {"status": "skipped", "reason": "missing_user_id"}
    customer = call.user_email or call.user_id
    answered_at = _answered_at(call)
    source = str(call.properties.get("sourceEvent") or "nps.submitted")
    props = {"customerEmail": customer, "band": call.properties.get("band", "detractor"),
             "score": call.properties.get("score"), "answeredAt": answered_at,
             "comment": latest_comment(call, source, answered_at)}
    return _page(call, kind="nps_detractor", title=f"NPS detractor — {customer}",
                 key=f"nps-detractor:{call.user_id}:{answered_at}",
                 template="transactional/nps-detractor-alert", to=settings.SUPPORT_ALERT_EMAIL,
                 subject=f"[NPS detractor] {customer}", props=props)


@on_event("lead.flagged", name="notify-lead", delay=GRACE_WINDOW, **RETRY)
def notify_lead(call: HandlerCall) -> dict[str, Any]:
    if not call.user_id:
        return {"status": "skipped", "reason": "missing_user_id"}
    lead = call.user_email or call.user_id
    answered_at = _answered_at(call)
    source = str(call.properties.get("sourceEvent") or "offer.answered")
    props = {"leadEmail": lead, "reason": call.properties.get("reason", ""),
             "answeredAt": answered_at, "subscribed": call.properties.get("subscribed"),
             "comment": latest_comment(call, source, answered_at)}
    return _page(call, kind="lead", title=f"Lead: {lead}",
                 key=f"lead-alert:{call.user_id}:{answered_at}",
                 template="transactional/lead-alert", to=settings.LEAD_ALERT_EMAIL,
                 subject=f"[Lead] {lead} wants a setup call", props=props)


@on_event("review.needs_followup", name="review-followup-alert", delay=GRACE_WINDOW, **RETRY)
def review_followup_alert(call: HandlerCall) -> dict[str, Any]:
    if not call.user_id:
        return {"status": "skipped", "reason": "missing_user_id"}
    customer = call.user_email or call.user_id
    order_id = str(call.properties.get("order_id") or "unknown")
    answered_at = _answered_at(call)
    props = {"customerEmail": customer, "orderId": order_id,
             "rating": call.properties.get("rating"), "answeredAt": answered_at,
             "comment": latest_comment(call, "review.rated", answered_at)}
    return _page(call, kind="review_followup", title=f"Low rating on order {order_id} — {customer}",
                 key=f"review-followup:{call.user_id}:{order_id}",
                 template="transactional/review-alert", to=settings.SUPPORT_ALERT_EMAIL,
                 subject=f"[Low rating] order {order_id} — {customer}", props=props)


__all__ = ["latest_comment", "notify_lead", "nps_detractor_alert", "review_followup_alert",
           "support_alert"]
