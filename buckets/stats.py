"""Reads behind the bucket pages and the admin plane: membership counts, joins
and leaves today and this week, and joins/leaves per day for a chart.

Joins and leaves are read from the membership rows (`entered_at` is a member's
latest entry, `left_at` their latest leave), so every transition shows, silent
ones included (a backfill, an entry the bucket's entry_limit kept quiet); a
person who joined twice inside the window counts once, on their latest join.
Each read is one aggregate query whatever the number of members, bounded by
the window it covers. Days are the staff's (STAFF_TIME_ZONE), weeks start on Monday.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from buckets.models import BucketMembership
from hogsend_site import times

CHART_DAYS = 30


@dataclass(frozen=True)
class Calendar:
    """Today and this week's Monday in the staff's zone, with their local midnights."""

    today: date
    monday: date
    zone: Any

    @classmethod
    def now(cls, now: datetime | None = None) -> Calendar:
        zone = times.staff_zone()
        today = (now or timezone.now()).astimezone(zone).date()
        return cls(today=today, monday=today - timedelta(days=today.weekday()), zone=zone)

    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone)

    def days(self, count: int = CHART_DAYS) -> list[date]:
        """The last `count` days, oldest first; the last is today."""
        return [self.today - timedelta(days=n) for n in range(count - 1, -1, -1)]


def _live() -> Any:
    return BucketMembership.objects.filter(contact__deleted_at__isnull=True)


def bucket_flow_counts(*, bucket_ids: list[str], calendar: Calendar) -> dict[str, dict[str, int]]:
    """`{bucket_id: {joinedToday, joinedThisWeek, leftToday, leftThisWeek}}` (one query)."""
    today, week = calendar.start_of(calendar.today), calendar.start_of(calendar.monday)
    rows = (_live().filter(bucket_id__in=bucket_ids)
            .filter(Q(entered_at__gte=week) | Q(left_at__gte=week))
            .values("bucket_id")
            .annotate(joinedToday=Count("pk", filter=Q(entered_at__gte=today)),
                      joinedThisWeek=Count("pk", filter=Q(entered_at__gte=week)),
                      leftToday=Count("pk", filter=Q(left_at__gte=today)),
                      leftThisWeek=Count("pk", filter=Q(left_at__gte=week)))
            .order_by())
    empty = {"joinedToday": 0, "joinedThisWeek": 0, "leftToday": 0, "leftThisWeek": 0}
    found = {row.pop("bucket_id"): row for row in rows}
    return {bucket_id: found.get(bucket_id, dict(empty)) for bucket_id in bucket_ids}


def bucket_daily_flow(*, bucket_id: str, calendar: Calendar, days: int = CHART_DAYS
                      ) -> dict[str, dict[date, int]]:
    """Joins and leaves per local day over the last `days` days (two queries)."""
    since = calendar.start_of(calendar.days(days)[0])
    rows = _live().filter(bucket_id=bucket_id)
    joined = (rows.filter(entered_at__gte=since)
              .annotate(day=TruncDate("entered_at", tzinfo=calendar.zone))
              .values_list("day").annotate(n=Count("pk")).order_by())
    left = (rows.filter(left_at__gte=since)
            .annotate(day=TruncDate("left_at", tzinfo=calendar.zone))
            .values_list("day").annotate(n=Count("pk")).order_by())
    flow: dict[str, dict[date, int]] = defaultdict(dict)
    flow["joined"], flow["left"] = dict(joined), dict(left)
    return dict(flow)
