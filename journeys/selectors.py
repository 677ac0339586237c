"""Reads the admin plane reuses: run counts per journey, runs with filters, and a
contact's timeline (events, runs and sends interleaved)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from contacts.models import Contact
from journeys.models import JourneyConfig, JourneyRun
from tracking.models import EmailSend, UserEvent


def journey_overrides() -> dict[str, bool]:
    """The admin switch of every journey that has one (journey id -> enabled)."""
    return dict(JourneyConfig.objects.values_list("journey_id", "enabled"))


def journey_run_counts(*, journey_ids: list[str]) -> dict[str, dict[str, int]]:
    """Runs per journey and status (every status present, zero or not), in one
    aggregate query over the (journey_id, status) index."""
    counts = {jid: dict.fromkeys(JourneyRun.Status.values, 0) for jid in journey_ids}
    rows = (JourneyRun.objects.filter(journey_id__in=journey_ids)
            .values_list("journey_id", "status").annotate(n=Count("id")).order_by())
    for journey_id, status, n in rows:
        counts[journey_id][status] = n
    return counts


def journey_run_list(*, journey_id: str, status: str = "", user_id: str = "") -> QuerySet[JourneyRun]:
    """Runs of one journey, newest first; `user_id` matches the run's key or the
    contact's external id."""
    runs = JourneyRun.objects.filter(journey_id=journey_id)
    if status:
        runs = runs.filter(status=status)
    if user_id:
        runs = runs.filter(Q(user_key=user_id) | Q(contact__external_id=user_id))
    return runs.order_by("-created_at", "-pk")


@dataclass(frozen=True)
class TimelineItem:
    type: str  # "event" | "journey" | "email"
    timestamp: datetime
    row: Any


def _timeline_sources(contact: Contact) -> dict[str, tuple[QuerySet, str]]:
    return {
        "event": (UserEvent.objects.filter(contact=contact), "occurred_at"),
        "journey": (JourneyRun.objects.filter(contact=contact), "created_at"),
        "email": (EmailSend.objects.filter(contact=contact).defer("html", "text"), "created_at"),
    }


def contact_timeline(
    *, contact: Contact, kind: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[TimelineItem], int]:
    """One page of the contact's events (at `occurred_at`), runs (at enrolment) and
    sends (at creation), newest first, and the total across the chosen kinds.

    Each kind contributes at most `offset + limit` rows, so a page costs two
    queries per kind however long the history is.
    """
    sources = _timeline_sources(contact)
    if kind:
        sources = {kind: sources[kind]}
    items: list[TimelineItem] = []
    total = 0
    for name, (rows, field) in sources.items():
        total += rows.count()
        newest = rows.order_by(f"-{field}", "-pk")[: offset + limit]
        items.extend(TimelineItem(name, getattr(row, field), row) for row in newest)
    items.sort(key=lambda item: item.timestamp, reverse=True)
    return items[offset: offset + limit], total
