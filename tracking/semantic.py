"""Answer confirmation: a semantic click becomes an answer ~30 s later, once a
scanner's burst of clicks around it would be visible.

A human GET of a semantic link stores its `LinkClick` with `confirm_at` =
click + 30 s. The clock (`run_due`) claims due clicks through this module's due
source and confirms each:

1. burst rule (a mail scanner follows every link of an email within seconds):
   >= 3 distinct tracked links of the same send clicked within [click - 30 s,
   click + 30 s] (every raw click counts, bots and HEAD included) => `burst`,
   nothing ingested; so is a click of a send that had clicks over its hourly
   cap (only counted, tracking.services) since the window began;
2. two different answers (semantic links of the same event with different
   props) clicked within that window => `burst` as well, so a two-button email,
   which the three-link rule alone would let a scanner answer, is protected;
3. claim the answer slot: ingest the link's event with key
   `sem:<send>:<event>`, pinned to the send's contact. The first confirmed
   answer per (send, event) wins: it is the one the journey acts on. The slot
   is also this click's when the stored event names this very link (a crashed
   earlier attempt, or the same button again: finish it);
4. stamp `semantic_emitted_at` => `confirmed`;
5. a click that lost the slot but says something new (a different answer than
   the person's latest) is stored as `<event>.changed` under
   `semchange:<click>` => `changed`: the console shows it, the journey never
   sees it. The latest answer again, or a change past
   ANSWER_CHANGES_PER_SEND_DAY a send in a (UTC) day, is `lost`.

A failure leaves the outcome empty: the claim lease expires and the next
`run_due` tries again; after `MAX_ATTEMPTS` the click is `skipped`.

A person need not wait the 30 s: the hosted answer page's script posts a beacon
after a trusted pointer, touch or key event on the visible, focused page, and
`click_confirm_on_beacon` confirms her pending click at once, unless another
answer link of the send was clicked within the burst window (then the 30 s rule
decides, and the burst rule wins as before).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from hogsend_site.due import DueSource, claim_due
from tracking.ingest import EventInput, events_ingest
from tracking.models import (
    CHANGED_ANSWER_KEY_PREFIX,
    CHANGED_SUFFIX,
    EmailSend,
    LinkClick,
    TrackedLink,
    UserEvent,
)
from tracking.services import send_context, send_identity

logger = logging.getLogger(__name__)

BURST_WINDOW = timedelta(seconds=30)
BURST_DISTINCT_LINKS = 3
MAX_ATTEMPTS = 3
# A claimed click is retried once this lease expires; confirming takes well under a
# second, so only a click whose worker died waits this long.
LEASE = timedelta(seconds=90)
Outcome = LinkClick.Outcome


def claim(now: datetime, limit: int) -> list[Any]:
    return claim_due(LinkClick.objects.filter(outcome=""), due_field="confirm_at", now=now,
                     limit=limit, lease=LEASE)


def process(ids: list[Any]) -> None:
    for click_id in ids:
        # An attempt is counted when this click's turn comes, not when its batch
        # is claimed: a worker killed mid-batch must not use up the attempts of
        # the clicks it never reached (they would end `skipped`, the answer lost).
        LinkClick.objects.filter(pk=click_id, outcome="").update(attempts=F("attempts") + 1)
        try:
            confirm_click(click_id)
        except Exception:
            # Left unresolved on purpose: the lease expires and run_due retries it.
            logger.exception("confirming semantic click %s failed", click_id)


def next_due() -> datetime | None:
    pending = LinkClick.objects.filter(outcome="", confirm_at__isnull=False)
    return pending.aggregate(at=Min("confirm_at"))["at"]


DUE_SOURCE = DueSource(name="semantic-clicks", claim=claim, process=process, next_due=next_due)


def confirm_click(click_id: Any) -> str:
    """Confirm one claimed click; returns its outcome ("" while it may be retried)."""
    click = LinkClick.objects.select_related("tracked_link__email_send").filter(
        pk=click_id).first()
    if click is None or click.outcome:
        return click.outcome if click else ""
    link = click.tracked_link
    if (click.attempts > MAX_ATTEMPTS or not link.is_semantic or link.email_send is None
            or link.email_send.is_erased):  # its person was erased since the click
        return _finish(click, Outcome.SKIPPED)
    if is_burst(click):
        logger.info("semantic click %s suppressed as a scanner burst", click.pk)
        return _finish(click, Outcome.BURST)
    with transaction.atomic():
        won, fresh = _claim_answer_slot(link)
        if won and (fresh or not _differs_from_latest(click, link)):
            TrackedLink.objects.filter(pk=link.pk, semantic_emitted_at__isnull=True).update(
                semantic_emitted_at=timezone.now())
            return _finish(click, Outcome.CONFIRMED)
        # The slot is another answer's, or this button again after a change to
        # another one (a change back): something said later.
        changed = _record_change(click, link)
        return _finish(click, Outcome.CHANGED if changed else Outcome.LOST)


def click_confirm_on_beacon(*, link: TrackedLink) -> str:
    """Confirm now the latest pending human click on `link`, whose answer page
    saw the person (the beacon's token was checked by the view). Returns the
    outcome, or "" when the click is left to the 30 s rule: no pending click (a
    HEAD or bot hit never has one), another answer link of the send clicked
    within the burst window, the clock already holding it, or a failure.

    Writes at most what the click's own confirmation writes (its outcome and one
    answer or change event, capped per email); a repeated beacon finds nothing
    pending and writes nothing."""
    now = timezone.now()
    click = LinkClick.objects.filter(tracked_link_id=link.pk, outcome="",
                                     confirm_at__isnull=False).order_by("-clicked_at").first()
    if click is None or link.email_send_id is None or _other_answer_clicked(click, link):
        return ""
    # Compare-and-set against the clock: whoever takes the lease confirms, once.
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if not LinkClick.objects.filter(free, pk=click.pk, outcome="").update(
            claimed_until=now + LEASE, attempts=F("attempts") + 1):
        return ""
    try:
        outcome = confirm_click(click.pk)
    except Exception:
        # The click keeps its confirm_at: released, the clock confirms it then.
        logger.exception("confirming semantic click %s on its beacon failed", click.pk)
        LinkClick.objects.filter(pk=click.pk, outcome="").update(claimed_until=None)
        return ""
    logger.info("semantic click %s confirmed on its answer page's beacon: %s", click.pk, outcome)
    return outcome


def _other_answer_clicked(click: LinkClick, link: TrackedLink) -> bool:
    """Any hit (bots and HEAD included) on another answer link of the same send
    within the burst window: a scanner opening every answer page looks like
    this, so the beacon does not speak for it and the 30 s rule decides."""
    window = (click.clicked_at - BURST_WINDOW, click.clicked_at + BURST_WINDOW)
    return LinkClick.objects.filter(
        tracked_link__email_send_id=link.email_send_id, clicked_at__range=window,
    ).exclude(tracked_link_id=link.pk).exclude(tracked_link__event="").exists()


def _finish(click: LinkClick, outcome: str) -> str:
    LinkClick.objects.filter(pk=click.pk).update(outcome=outcome, claimed_until=None)
    return outcome


def is_burst(click: LinkClick) -> bool:
    """Both burst rules over every raw click of the send within ±30 s."""
    link = click.tracked_link
    window = (click.clicked_at - BURST_WINDOW, click.clicked_at + BURST_WINDOW)
    dropped = link.email_send.last_click_dropped_at
    if dropped is not None and dropped >= window[0]:
        # Clicks over the send's hourly cap leave no row, so the links they hit
        # cannot be counted: an answer among a flood that big is a scanner's.
        return True
    link_ids = set(LinkClick.objects.filter(
        tracked_link__email_send_id=link.email_send_id, clicked_at__range=window
    ).values_list("tracked_link_id", flat=True))
    if len(link_ids) >= BURST_DISTINCT_LINKS:
        return True
    clicked = TrackedLink.objects.filter(pk__in=link_ids).values("event", "event_properties")
    return any(other["event"] == link.event and other["event_properties"] != link.event_properties
               for other in clicked)


def _claim_answer_slot(link: TrackedLink) -> tuple[bool, bool]:
    """Ingest the answer under `sem:<send>:<event>`: (this link holds the slot,
    stored just now)."""
    send = link.email_send
    key = answer_key(send.pk, link.event)
    properties = {**send_context(send), **link.event_properties, "linkId": str(link.pk)}
    item = EventInput(name=link.event, properties=properties, source="tracking",
                      idempotency_key=key, **send_identity(send))
    result = events_ingest([item])[0]
    if result.error:
        raise RuntimeError(f"answer for link {link.pk} not ingested: {result.error}")
    if result.stored:
        return True, True
    stored = UserEvent.objects.filter(idempotency_key=key).values_list("properties", flat=True)
    stored_props = stored.first() or {}
    return stored_props.get("linkId") == str(link.pk), False


def _differs_from_latest(click: LinkClick, link: TrackedLink) -> bool:
    latest = latest_answer_link(link.email_send, link.event, exclude_click=click.pk)
    return latest is not None and latest.event_properties != link.event_properties


# --- later answers ------------------------------------------------------------------


def answer_key(send_id: Any, event: str) -> str:
    return f"sem:{send_id}:{event}"


def latest_answer_link(send: EmailSend, event: str, *,
                       exclude_click: Any = None) -> TrackedLink | None:
    """The link of the person's latest confirmed answer to `event` in this email
    (the first answer, or the last change), or None before any."""
    clicks = LinkClick.objects.filter(
        tracked_link__email_send_id=send.pk, tracked_link__event=event,
        outcome__in=[Outcome.CONFIRMED, Outcome.CHANGED]).exclude(pk=exclude_click)
    latest = clicks.select_related("tracked_link").order_by("-clicked_at", "-pk").first()
    if latest is not None:
        return latest.tracked_link
    first = UserEvent.objects.filter(idempotency_key=answer_key(send.pk, event)).values_list(
        "properties", flat=True).first()
    link_id = (first or {}).get("linkId")
    return TrackedLink.objects.filter(pk=link_id).first() if link_id else None


def changes_today(send: EmailSend, now: datetime) -> int:
    """Changed answers recorded for this email since the start of the UTC day."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return LinkClick.objects.filter(tracked_link__email_send_id=send.pk,
                                    outcome=Outcome.CHANGED, clicked_at__gte=midnight).count()


def _record_change(click: LinkClick, link: TrackedLink) -> bool:
    """Store a later, different answer as `<event>.changed`; False when it says
    nothing new or the day's cap of changes for this email is reached.

    The cap bounds what one email's links can write however often they are
    clicked (each click is already rate-limited per link and per address)."""
    send = link.email_send
    key = f"{CHANGED_ANSWER_KEY_PREFIX}{click.pk}"
    if UserEvent.objects.filter(idempotency_key=key).exists():
        return True  # stored by an attempt that crashed before its outcome
    # One change at a time per email, so the cap and "previous" stay exact.
    EmailSend.objects.select_for_update().filter(pk=send.pk).values_list("pk").first()
    previous = latest_answer_link(send, link.event, exclude_click=click.pk)
    if previous is None or previous.event_properties == link.event_properties:
        return False
    limit = int(getattr(settings, "ANSWER_CHANGES_PER_SEND_DAY", 10) or 0)
    if limit and changes_today(send, timezone.now()) >= limit:
        logger.info("changed answer %s not stored: %s changes today", click.pk, limit)
        return False
    first = UserEvent.objects.filter(idempotency_key=answer_key(send.pk, link.event)).first()
    before = previous.event_properties or {}
    properties = {
        **send_context(send), **link.event_properties, "linkId": str(link.pk),
        "parentEvent": link.event, "previousLinkId": str(previous.pk),
        **{f"previous{name[:1].upper()}{name[1:]}": value for name, value in before.items()
           if link.event_properties.get(name) != value},
        "answerEventId": first.pk if first else None,
        "firstAnsweredAt": first.occurred_at.isoformat() if first else None,
    }
    item = EventInput(name=f"{link.event}{CHANGED_SUFFIX}", properties=properties,
                      source="tracking", idempotency_key=key, **send_identity(send))
    result = events_ingest([item])[0]
    if result.error:
        raise RuntimeError(f"changed answer for click {click.pk} not ingested: {result.error}")
    return True
