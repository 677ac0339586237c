"""The tracking app's part of a contact erasure (see contacts/erasure.py)."""

from __future__ import annotations

from django.db.models import Q

from contacts.erasure import Erasure, eraser
from tracking.models import EmailSend, LinkClick, ProviderEvent, UserEvent


@eraser("tracking")
def erase_tracking(erasure: Erasure) -> dict[str, int]:
    """Event properties (comments included), sends' address/subject/bodies, the IPs
    and user agents of their clicks, and provider events about them."""
    events = UserEvent.objects.filter(erasure.owned())
    comments = events.filter(event__endswith=".comment").count()
    events_erased = events.update(properties={}, user_key=erasure.new_key)
    sends = EmailSend.objects.filter(erasure.owned() | Q(to_email__in=sorted(erasure.emails)))
    send_ids = list(sends.values_list("pk", flat=True))
    sends_erased = EmailSend.objects.filter(pk__in=send_ids).update(
        to_email="", subject="", html="", text="", metadata={}, user_key=erasure.new_key,
        updated_at=erasure.now)
    clicks = LinkClick.objects.filter(tracked_link__email_send_id__in=send_ids).update(
        ip_address="", user_agent="")
    provider = ProviderEvent.objects.filter(
        Q(email_send_id__in=send_ids) | Q(recipient__in=sorted(erasure.emails))
    ).update(recipient="", description="")
    return {"events": events_erased, "comments": comments, "sends": sends_erased,
            "clicks": clicks, "provider_events": provider}
