"""Reads of bucket membership, and the facts criteria are evaluated on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, QuerySet, TextField
from django.db.models.functions import Cast

from buckets.criteria import EventStat, Facts, StatNeed
from buckets.evaluation_sql import facts_rows
from buckets.models import BucketMembership


def as_text(expression: Any) -> Cast:
    """A timestamp read as its ISO text: `parse_instant` turns it back into a datetime
    several times faster than the driver's own conversion, which dominated the
    evaluation's reads (thousands of instants per ingest batch)."""
    return Cast(expression, output_field=TextField())


def parse_instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    instant = datetime.fromisoformat(text)
    # SQLite keeps UTC instants without an offset; PostgreSQL's session is UTC.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def bucket_members(*, bucket_id: str, status: str | None = BucketMembership.Status.ACTIVE
                   ) -> QuerySet[BucketMembership]:
    """A bucket's memberships (active by default; None: all), live contacts only,
    newest entry first, with their contact loaded (campaign audiences, console)."""
    rows = BucketMembership.objects.filter(bucket_id=bucket_id, contact__deleted_at__isnull=True)
    if status is not None:
        rows = rows.filter(status=status)
    return rows.select_related("contact").order_by("-entered_at", "-pk")


def bucket_counts(*, bucket_ids: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
    """`{bucket_id: {"active": n, "left": n}}` over live contacts (one query)."""
    rows = BucketMembership.objects.filter(contact__deleted_at__isnull=True)
    if bucket_ids is not None:
        rows = rows.filter(bucket_id__in=list(bucket_ids))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"active": 0, "left": 0})
    for bucket_id, status, n in rows.values_list("bucket_id", "status").annotate(n=Count("pk")
                                                                                  ).order_by():
        counts[bucket_id][status] = n
    return dict(counts)


def contact_memberships(*, contact_id: Any) -> QuerySet[BucketMembership]:
    """One person's memberships (every bucket they ever entered), active first."""
    return BucketMembership.objects.filter(contact_id=contact_id).order_by("status", "bucket_id")


@dataclass(frozen=True)
class Person:
    """A contact as criteria see it."""

    id: Any
    key: str
    deleted: bool
    facts: Facts


def people_facts(*, contact_ids: Iterable[Any], needs: set[StatNeed], now: datetime,
                 properties: bool = True) -> dict[Any, Person]:
    """Properties (unless `properties=False`: no criteria read them) and the event
    aggregates `needs` asks for, for these contacts, in one statement: each
    aggregate is a correlated subquery that the (contact, event, occurred_at)
    index answers per person (a latest occurrence is one index probe, however
    long the history)."""
    ordered = sorted(needs, key=lambda n: (n.kind, n.event, n.within or 0))
    people: dict[Any, Person] = {}
    for contact_id, external_id, anonymous_id, deleted, props, *values in facts_rows(
            contact_ids=list(contact_ids), needs=ordered, now=now, properties=properties):
        stats: dict[str, dict[str, Any]] = defaultdict(lambda: {"windows": {}})
        for need, value in zip(ordered, values, strict=True):
            stat = stats[need.event]
            if need.kind == "last":
                stat["last"] = parse_instant(value)
            elif need.kind == "total":
                stat["total"] = value or 0
            elif need.kind == "count":
                stat["windows"][need.within] = (value or 0,
                                                stat["windows"].get(need.within, (0, None))[1])
            else:
                stat["windows"][need.within] = (stat["windows"].get(need.within, (0, None))[0],
                                                parse_instant(value))
        people[contact_id] = Person(
            id=contact_id, key=external_id or anonymous_id or str(contact_id),
            deleted=bool(deleted),
            facts=Facts(properties=props or {},
                        events={name: EventStat(**stat) for name, stat in stats.items()}))
    return people
