"""The tracking app's part of a contact erasure (see contacts/erasure.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from contacts.erasure import Erasure, eraser
from tracking.models import (
    EmailSend,
    LinkClick,
    PendingEvent,
    ProviderEvent,
    TrackedLink,
    UserEvent,
)


@eraser("tracking")
def erase_tracking(erasure: Erasure) -> dict[str, int]:
    """Event properties (comments included) and keys, sends' address, subject,
    bodies, errors and keys, their links' URLs, the IPs and user agents of their
    clicks, and provider events about them (the address in their dedupe key too).

    Their sends' per-hit events not yet ingested are deleted first: ingested
    later, they would store the link URLs again. (An ingest holding them commits
    before this delete goes on, so the event update below sees its events.)

    A link's URL is blanked, not trimmed: its query or path may carry anything
    (`?email=…`, a signed token), and the click page sends a blank link to the
    site's home without recording the hit (tracking/views.py).
    """
    sends = EmailSend.objects.filter(erasure.owned() | Q(to_email__in=sorted(erasure.emails)))
    send_ids = list(sends.values_list("pk", flat=True))
    pending = PendingEvent.objects.filter(email_send_id__in=send_ids).delete()[0]
    events = UserEvent.objects.filter(erasure.owned())
    comments = events.filter(event__endswith=".comment").count()
    event_keys = _pseudonymise_keys(erasure, UserEvent, events)
    events_erased = events.update(properties={}, groups={}, user_key=erasure.new_key)
    send_keys = _pseudonymise_keys(erasure, EmailSend, EmailSend.objects.filter(pk__in=send_ids))
    _scrub_errors(erasure, EmailSend.objects.filter(pk__in=send_ids))
    sends_erased = EmailSend.objects.filter(pk__in=send_ids).update(
        to_email="", subject="", html="", text="", metadata={}, user_key=erasure.new_key,
        updated_at=erasure.now)
    links = TrackedLink.objects.filter(email_send_id__in=send_ids)
    links_erased = links.exclude(original_url="").update(original_url="", updated_at=erasure.now)
    for link in links.only("pk", "event_properties"):
        if erasure.mentions(link.event_properties):
            TrackedLink.objects.filter(pk=link.pk).update(
                event_properties=erasure.scrub(link.event_properties))
    clicks = LinkClick.objects.filter(tracked_link__email_send_id__in=send_ids).update(
        ip_address="", user_agent="", destination_url="")
    provider = ProviderEvent.objects.filter(
        Q(email_send_id__in=send_ids) | Q(recipient__in=sorted(erasure.emails)))
    # Without a provider event id the dedupe key is message id + type + recipient.
    provider_keys = _pseudonymise_keys(erasure, ProviderEvent, provider, field="dedupe_key")
    provider_erased = provider.update(recipient="", description="")
    return {"events": events_erased, "comments": comments, "sends": sends_erased,
            "links": links_erased, "clicks": clicks, "provider_events": provider_erased,
            "pending_events": pending, "idempotency_keys": event_keys + send_keys,
            "provider_event_keys": provider_keys}


def sends_about_erase(erasure: Erasure, send_ids: Iterable[Any]) -> int:
    """Sends *about* the person to someone else (the operator pages of
    alerts/operator.py quote the customer's address and comment): the bodies,
    subject and metadata go, the recipient (the team) stays; keys, errors and
    link URLs that name the person are scrubbed. Returns the sends touched."""
    ids = list(send_ids)
    if not ids:
        return 0
    rows = EmailSend.objects.filter(pk__in=ids)
    _pseudonymise_keys(erasure, EmailSend, rows)
    _scrub_errors(erasure, rows)
    for send in rows.only("pk", "to_email"):
        if erasure.mentions(send.to_email):  # a page sent to the person themself
            EmailSend.objects.filter(pk=send.pk).update(to_email="")
    for link in TrackedLink.objects.filter(email_send_id__in=ids).only(
            "pk", "original_url", "event_properties"):
        if erasure.mentions(link.original_url) or erasure.mentions(link.event_properties):
            TrackedLink.objects.filter(pk=link.pk).update(
                original_url="" if erasure.mentions(link.original_url) else link.original_url,
                event_properties=erasure.scrub(link.event_properties))
            LinkClick.objects.filter(tracked_link_id=link.pk).update(destination_url="")
    PendingEvent.objects.filter(email_send_id__in=ids).filter(
        pk__in=erasure.rows_mentioning(PendingEvent.objects.all(), "properties")).delete()
    return rows.update(subject="", html="", text="", metadata={}, updated_at=erasure.now)


def _pseudonymise_keys(erasure: Erasure, model: type, rows: Any,
                       field: str = "idempotency_key") -> int:
    """Replace, row by row, each unique key of `rows` that names the person."""
    named = Q()
    for needle in erasure.needles:
        named |= Q(**{f"{field}__icontains": needle})
    if not named:
        return 0
    count = 0
    for pk, key in rows.filter(named).values_list("pk", field):
        if erasure.mentions(key):
            model.objects.filter(pk=pk).update(**{field: erasure.pseudonym(key)})
            count += 1
    return count


def _scrub_errors(erasure: Erasure, sends: Any) -> None:
    """A provider's error quotes the address ("550 … ada@…"): keep the rest of it."""
    for pk, error in sends.exclude(error="").values_list("pk", "error"):
        if erasure.mentions(error):
            EmailSend.objects.filter(pk=pk).update(error=erasure.scrub(error))
