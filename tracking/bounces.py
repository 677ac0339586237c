"""Bounces and complaints from the ESP, normalised by anymail.

`provider_event_record()` stores each event once (`ProviderEvent.dedupe_key`),
and a bounce or complaint once per provider, message and recipient whichever
webhook reported it (the `provider_event_counted_once` constraint: Postmark
posts one hard bounce to both its Bounce and SubscriptionChange webhooks). It
updates the send found by message id, and writes preferences through
`contacts.preferences.preference_update` so the audit log shows it: a permanent
bounce increments `bounce_count` and suppresses the address at the threshold
(3); a complaint suppresses at once; transient and unknown bounces never
suppress; an event naming more than 100 recipients is skipped (a provider
glitch must not mass-suppress a list). Whether a bounce is permanent is the
provider's own word (`PERMANENT_BOUNCE`), not anymail's `bounced` alone: anymail
reports Brevo's soft_bounce, SendGrid's blocked and Postmark's SoftBounce as
`bounced` too.

`webhook_guard()` wraps the ESP webhook views (mounted by hogsend_site/urls.py
through `webhook_views_guarded()`): an authentic post whose body anymail cannot
parse (not JSON, the wrong shape, the wrong content type) answers 400, logged
once, instead of 500. Anymail parses the whole batch before it sends any
signal, so a rejected post has stored nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from traceback import extract_tb
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from contacts.identity import contact_find
from contacts.models import Contact, EmailPreference, normalize_email
from contacts.preferences import preference_for, preference_update
from hogsend_site import outbound
from tracking.models import EmailSend, ProviderEvent

logger = logging.getLogger(__name__)

BOUNCE_THRESHOLD = 3
MAX_RECIPIENTS = 100
HANDLED = (EventType.BOUNCED, EventType.COMPLAINED, EventType.DELIVERED, EventType.DEFERRED)
RECIPIENT_LISTS = (("bounce", "bouncedRecipients"), ("complaint", "complainedRecipients"))


def _dig(raw: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(raw, dict):
            return None
        raw = raw.get(part)
    return raw


def _postmark_permanent(raw: Any) -> bool:
    # Postmark deactivates an address only for a hard bounce (or a complaint):
    # SoftBounce (mailbox full), VirusNotification and unknown types are about one
    # delivery. SubscriptionChange reports the same hard bounce as SuppressionReason.
    return _dig(raw, ("Type",)) == "HardBounce" or (
        _dig(raw, ("RecordType",)) == "SubscriptionChange"
        and _dig(raw, ("SuppressionReason",)) == "HardBounce")


def _mailgun_permanent(raw: Any) -> bool:
    # Current webhooks say so in severity (anymail already turns "temporary" into
    # deferred); legacy form posts only ever sent "bounced" for permanent failures.
    severity = _dig(raw, ("event-data", "severity"))
    return severity == "permanent" if severity else _dig(raw, ("event",)) == "bounced"


def _brevo_permanent(raw: Any) -> bool:
    # soft_bounce is a full mailbox or a missing MX; invalid_email is for good.
    return _dig(raw, ("event",)) in ("hard_bounce", "invalid_email")


# What makes a `bounced` event permanent, by provider (anymail's esp_name), read
# from the provider's raw event; any other bounce is recorded as transient and
# never counts. Providers not listed: anymail's `bounced` is permanent.
PERMANENT_BOUNCE: dict[str, Callable[[Any], bool]] = {
    "Postmark": _postmark_permanent,
    "Brevo": _brevo_permanent,
    "SendinBlue": _brevo_permanent,
    # type "blocked" (the receiver refused the sender or content) and "expired"
    # (retries ran out) say nothing about the address; "bounce" (or no type, as in
    # payloads from before SendGrid added it) does.
    "SendGrid": lambda raw: _dig(raw, ("type",)) in ("bounce", None),
    "Mailgun": _mailgun_permanent,
    "Amazon SES": lambda raw: _dig(raw, ("bounce", "bounceType")) == "Permanent",
    # Resend names bounces permanent; newer payloads carry SES's bounce type.
    "Resend": lambda raw: _dig(raw, ("data", "bounce", "type")) not in ("Transient",
                                                                      "Undetermined"),
}
# Complaints a provider does not hold against the address, stored as the transient
# bounces they are: Postmark's SpamNotification (a Bounce record) is the receiving
# server filtering this message as spam (anymail calls it a complaint), not the
# person pressing "report spam".
NOT_COMPLAINTS: dict[str, Callable[[Any], bool]] = {
    "Postmark": lambda raw: _dig(raw, ("Type",)) == "SpamNotification",
}


@dataclass
class _Normalised:
    event_type: str
    bounce_class: str
    recipient: str
    message_id: str


def _classify(event: AnymailTrackingEvent, esp_name: str) -> tuple[str, str]:
    """(event type, bounce class): the class is permanent | transient | complaint
    for a bounce or complaint, else ""."""
    if event.event_type == EventType.COMPLAINED:
        not_complaint = NOT_COMPLAINTS.get(esp_name)
        if not_complaint and not_complaint(event.esp_event):
            return EventType.BOUNCED, "transient"
        return event.event_type, "complaint"
    if event.event_type == EventType.DEFERRED:
        return event.event_type, "transient"
    if event.event_type != EventType.BOUNCED:
        return event.event_type, ""
    permanent = PERMANENT_BOUNCE.get(esp_name)
    if permanent is None or permanent(event.esp_event):
        return event.event_type, "permanent"
    return event.event_type, "transient"


def recipient_count(event: AnymailTrackingEvent) -> int:
    for path in RECIPIENT_LISTS:
        recipients = _dig(event.esp_event, path)
        if isinstance(recipients, list):
            return len(recipients)
    return 1


def _dedupe_key(esp_name: str, event: AnymailTrackingEvent, data: _Normalised) -> str:
    if event.event_id:
        return f"{esp_name}:{event.event_id}:{data.recipient}"[:255]
    return f"{esp_name}:{data.message_id}:{data.event_type}:{data.recipient}"[:255]


def provider_event_record(*, event: AnymailTrackingEvent, esp_name: str) -> ProviderEvent | None:
    """Store and apply one tracking event; None when it is ignored or a redelivery."""
    if event.event_type not in HANDLED:
        return None
    event_type, klass = _classify(event, esp_name)
    data = _Normalised(event_type=event_type, bounce_class=klass,
                       recipient=normalize_email(event.recipient) or "",
                       message_id=str(event.message_id or ""))
    send = EmailSend.objects.filter(message_id=data.message_id).first() if data.message_id else None
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = ProviderEvent.objects.create(
                    esp_name=esp_name, dedupe_key=_dedupe_key(esp_name, event, data),
                    event_type=data.event_type, bounce_class=data.bounce_class,
                    message_id=data.message_id, recipient=data.recipient, email_send=send,
                    description=str(event.description or event.mta_response or "")[:2000],
                    occurred_at=event.timestamp)
        except IntegrityError:
            # Redelivered, or the same bounce through another webhook of the
            # provider (the provider_event_counted_once constraint): counted already.
            return None
        row.outcome = _apply(row, event, send)
        row.save(update_fields=["outcome"])
        if row.event_type in (EventType.BOUNCED, EventType.COMPLAINED):
            outbound.emit(f"email.{row.event_type}", {"event": row, "send": send},
                          dedupe_key=f"email.{row.event_type}:{row.pk}")
    return row


def _apply(row: ProviderEvent, event: AnymailTrackingEvent, send: EmailSend | None) -> str:
    if send is not None:
        _update_send(send, row)
    if row.bounce_class not in ("permanent", "complaint"):
        return "applied"
    if recipient_count(event) > MAX_RECIPIENTS:
        logger.warning("skipping %s from %s: more than %s recipients", row.event_type,
                       row.esp_name, MAX_RECIPIENTS)
        return "skipped:too_many_recipients"
    if not row.recipient:
        return "skipped:no_recipient"
    contact = _contact_for(send, row.recipient)
    if row.bounce_class == "complaint":
        preference_update(contact=contact, email=row.recipient, user_key=_key(contact, send, row),
                          suppressed=True, source="complaint", actor=row.esp_name)
        return "applied"
    return _count_bounce(row, contact, send)


def _update_send(send: EmailSend, row: ProviderEvent) -> None:
    now = row.occurred_at or timezone.now()
    fields: dict[str, Any] = {}
    if row.event_type == EventType.DELIVERED:
        fields = {"delivered_at": now}
        EmailSend.objects.filter(pk=send.pk, status=EmailSend.Status.SENT).update(
            status=EmailSend.Status.DELIVERED)
    elif row.bounce_class == "permanent":
        fields = {"bounced_at": now, "status": EmailSend.Status.BOUNCED}
    elif row.bounce_class == "complaint":
        fields = {"complained_at": now, "status": EmailSend.Status.COMPLAINED}
    if fields:
        EmailSend.objects.filter(pk=send.pk).update(**fields)


def _contact_for(send: EmailSend | None, recipient: str) -> Contact | None:
    if send is not None and send.contact_id is not None:
        return send.contact
    return next(iter(contact_find(email=recipient)), None)


def _key(contact: Contact | None, send: EmailSend | None, row: ProviderEvent) -> str:
    if contact is not None:
        return contact.key
    return (send.user_key if send is not None else "") or row.recipient


def _count_bounce(row: ProviderEvent, contact: Contact | None, send: EmailSend | None) -> str:
    key = _key(contact, send, row)
    pref = preference_for(contact=contact, user_key=key, email=row.recipient)
    pref = EmailPreference.objects.select_for_update().get(pk=pref.pk)
    pref.bounce_count += 1
    pref.last_bounce_at = row.occurred_at or timezone.now()
    pref.save(update_fields=["bounce_count", "last_bounce_at", "updated_at"])
    if pref.bounce_count >= BOUNCE_THRESHOLD and not pref.suppressed:
        preference_update(contact=contact, email=row.recipient, user_key=key, suppressed=True,
                          source="bounce", actor=row.esp_name)
    return "applied"


# --- the webhook views ----------------------------------------------------------------


def webhook_guard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An anymail webhook view that answers 400 to a body it cannot parse.

    Anymail's contract: a failed validation (wrong secret or signature) is
    SuspiciousOperation, answered 400 by Django; anything else it raises becomes
    a 500 ("try again later"). Its parsers index into the body without checking
    its shape, so an authentic but malformed post (garbage, `[]`, a form where
    JSON belongs) raised TypeError/KeyError/JSONDecodeError and answered 500, as
    if the server were broken. Here it is a 400 (the post's fault) with one
    warning naming the exception and where it was raised (never the body: it
    holds addresses).
    Transient database errors still propagate (5xx, so the ESP retries later);
    `tracking.receivers` lets nothing else out of the signal.
    """

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (SuspiciousOperation, OperationalError, InterfaceError):
            raise
        except Exception as exc:  # a parser choking on the body: the post is malformed
            frame = extract_tb(exc.__traceback__)[-1]
            esp = getattr(getattr(view, "view_class", None), "esp_name", request.path)
            logger.warning("malformed %s webhook post rejected (%s bytes, %s): %s at %s:%s",
                           esp, request.META.get("CONTENT_LENGTH") or 0,
                           request.content_type or "no content type",
                           type(exc).__name__, frame.filename.rsplit("/", 1)[-1], frame.lineno)
            response = HttpResponseBadRequest("Malformed webhook payload")
            response._has_been_logged = True  # django.request would log it a second time
            return response

    return guarded


def webhook_views_guarded(patterns: list[Any]) -> list[Any]:
    """`patterns` with every anymail tracking webhook view (at any depth) in `webhook_guard`."""
    out: list[Any] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            out.append(URLResolver(pattern.pattern, webhook_views_guarded(pattern.url_patterns),
                                   pattern.default_kwargs, pattern.app_name, pattern.namespace))
        elif isinstance(pattern, URLPattern) and (pattern.name or "").endswith("_tracking_webhook"):
            out.append(URLPattern(pattern.pattern, webhook_guard(pattern.callback),
                                  pattern.default_args, pattern.name))
        else:
            out.append(pattern)
    return out
