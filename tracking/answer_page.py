"""What the hosted answer page tells the person: the question, the button they
tapped, and what became of it, in words (never the link's raw properties).

The click that brought them here is confirmed ~30 s later, or at once when the
page's script sees the person (tracking.semantic), so the page reads what is
already settled: the first answer (the one the
journey acts on) and the latest confirmed one. A tap on a different button
than the latest is recorded as a change; the page says so and says that the
first answer is the one already acted on.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from hogsend_site.zones import zone_named
from tracking.models import CHANGED_ANSWER_KEY_PREFIX, LinkClick, TrackedLink, UserEvent
from tracking.semantic import answer_key, changes_today

# The properties that carry the answer itself, in the order read; the others
# (ticketId, orderId…) say what the question was about and are never shown.
ANSWER_KEYS = ("answer", "band", "score", "rating", "value")
TAG_RE = re.compile(r"<[^>]+>")
Outcome = LinkClick.Outcome


class State:
    NEW = "new"  # no answer settled yet: this tap is the answer
    SAME = "same"  # the tap repeats the answer already recorded
    CHANGED = "changed"  # a different answer than the latest: recorded as a change
    CHANGE_LIMIT = "change_limit"  # a change past the day's cap: not recorded


@dataclass(frozen=True)
class AnswerPage:
    question: str
    button: str
    state: str
    first_button: str = ""
    first_at: str = ""
    latest_button: str = ""
    latest_at: str = ""

    @property
    def was_changed_before(self) -> bool:
        """The latest answer is already a change of the first one."""
        return bool(self.latest_at) and self.latest_button != self.first_button


def button_label(email_html: str, link_id: Any) -> str:
    """The text of the button whose tracked link is `link_id`, read from the sent email."""
    if not email_html or not link_id:
        return ""
    anchor = re.search(
        r'<a\b[^>]*href="[^"]*/t/c/' + re.escape(str(link_id)) + r'"[^>]*>(.*?)</a>',
        email_html, re.S | re.I)
    return " ".join(html_lib.unescape(TAG_RE.sub("", anchor.group(1))).split()) if anchor else ""


def answer_words(properties: dict[str, Any] | None) -> str:
    """An answer without its button: "Yes", "9", "Detractor"."""
    props = properties or {}
    for key in ANSWER_KEYS:
        value = props.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, bool):
            return "Yes" if value else "No"
        text = " ".join(str(value).replace("_", " ").split())
        return text[:1].upper() + text[1:]
    return "your answer"


def label_of(link: TrackedLink | None, email_html: str) -> str:
    if link is None:
        return ""
    return button_label(email_html, link.pk) or answer_words(link.event_properties)


def customer_zone(contact: Any) -> tzinfo:
    for name in ((contact.timezone if contact else "") or "", settings.DEFAULT_TIMEZONE):
        zone = zone_named(name or "UTC")
        if zone is not None:
            return zone
    return ZoneInfo("UTC")


def time_words(moment: datetime | None, zone: tzinfo) -> str:
    """ "09:14 CEST on Wednesday 17 June": the person's own clock."""
    if moment is None:
        return ""
    local = timezone.localtime(moment, zone)
    return f"{local:%H:%M} {local:%Z} on {local:%A} {local.day} {local:%B}"


def answer_page(link: TrackedLink) -> AnswerPage:
    """What the page says for a tap on `link` (a semantic link, not erased)."""
    send = link.email_send
    email_html = send.html if send else ""
    button = label_of(link, email_html)
    question = send.subject if send else ""
    if send is None:
        return AnswerPage(question=question, button=button, state=State.NEW)
    first = UserEvent.objects.filter(idempotency_key=answer_key(send.pk, link.event)).first()
    if first is None:
        return AnswerPage(question=question, button=button, state=State.NEW)
    zone = customer_zone(send.contact if send.contact_id else None)
    first_link = TrackedLink.objects.filter(pk=(first.properties or {}).get("linkId")).first()
    latest_change = (LinkClick.objects.select_related("tracked_link")
                     .filter(tracked_link__email_send_id=send.pk, tracked_link__event=link.event,
                             outcome=Outcome.CHANGED).order_by("-clicked_at", "-pk").first())
    latest_link, latest_at = first_link, ""
    if latest_change is not None:
        latest_link = latest_change.tracked_link
        changed = UserEvent.objects.filter(
            idempotency_key=f"{CHANGED_ANSWER_KEY_PREFIX}{latest_change.pk}").first()
        latest_at = time_words(changed.occurred_at if changed else latest_change.clicked_at, zone)
    same = latest_link is not None and (
        latest_link.pk == link.pk or latest_link.event_properties == link.event_properties)
    state = State.SAME if same else State.CHANGED
    if state == State.CHANGED:
        limit = int(getattr(settings, "ANSWER_CHANGES_PER_SEND_DAY", 10) or 0)
        if limit and changes_today(send, timezone.now()) >= limit:
            state = State.CHANGE_LIMIT
    return AnswerPage(
        question=question, button=button, state=state,
        first_button=label_of(first_link, email_html) or answer_words(first.properties),
        first_at=time_words(first.occurred_at, zone),
        latest_button=label_of(latest_link, email_html), latest_at=latest_at)


__all__ = ["AnswerPage", "State", "answer_page", "answer_words", "button_label"]
