"""Reads behind the support home (the admin index for support staff).

Each read is one aggregate query, whatever the traffic: counts come back grouped
by local day (and journey), and weeks are summed here. Days and weeks are those
of the current time zone (the admin's), weeks starting on Monday. The dashboard
reads alerts, answers, sends and runs, so it lives in `alerts`, the top app.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate
from django.utils import timezone

from alerts.models import Alert
from journeys.selectors import stranded_runs
from tracking.models import Answer, EmailSend

YES_NO = ("yes", "no")
BANDS = ("promoter", "passive", "detractor")
ANSWER_KINDS = (*YES_NO, *BANDS)


@dataclass(frozen=True)
class Calendar:
    """Today, this week's Monday and the window the charts cover, in one time zone."""

    now: datetime
    today: date
    weeks: list[date]  # Mondays, oldest first; the last is this week's
    days: list[date]  # oldest first; the last is today

    @classmethod
    def at(cls, now: datetime, *, weeks: int = 8, days: int = 14) -> Calendar:
        today = timezone.localdate(now)
        monday = today - timedelta(days=today.weekday())
        return cls(now=now, today=today,
                   weeks=[monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)],
                   days=[today - timedelta(days=n) for n in range(days - 1, -1, -1)])

    @property
    def monday(self) -> date:
        return self.weeks[-1]

    @staticmethod
    def start_of(day: date) -> datetime:
        """Local midnight of `day`, as an aware instant."""
        return datetime.combine(day, time(), tzinfo=timezone.get_current_timezone())

    @staticmethod
    def week_of(day: date) -> date:
        return day - timedelta(days=day.weekday())


def nps_band(band: Any, score: Any) -> str | None:
    """The answer's band, or the band of its 0-10 score (the eleven-button survey
    answers with a score only): 0-6 detractor, 7-8 passive, 9-10 promoter."""
    if band in BANDS:
        return str(band)
    try:
        value = int(str(score))
    except (TypeError, ValueError):
        return None
    if not 0 <= value <= 10:
        return None
    return "detractor" if value <= 6 else "passive" if value <= 8 else "promoter"


def answer_kind(answer: Any, band: Any, score: Any) -> str | None:
    """"yes"/"no" (a follow-up's answer), an NPS band, or None for other answers."""
    if answer in YES_NO:
        return str(answer)
    return nps_band(band, score)


@dataclass
class AnswerTally:
    """Answers per local day and journey: {(day, journey id): {kind: count}}."""

    cells: dict[tuple[date, str], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(ANSWER_KINDS, 0)))

    def total(self, *, since: date, until: date | None = None) -> dict[str, int]:
        totals = dict.fromkeys(ANSWER_KINDS, 0)
        for (day, _), counts in self.cells.items():
            if day >= since and (until is None or day <= until):
                for kind, n in counts.items():
                    totals[kind] += n
        return totals

    def weekly(self) -> dict[tuple[date, str], dict[str, int]]:
        """{(monday, journey id): {kind: count}}."""
        weeks: dict[tuple[date, str], dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(ANSWER_KINDS, 0))
        for (day, journey_id), counts in self.cells.items():
            for kind, n in counts.items():
                weeks[(Calendar.week_of(day), journey_id)][kind] += n
        return weeks


def answer_tally(*, since: datetime) -> AnswerTally:
    """Confirmed answers (yes/no and NPS) since `since`, in one grouped query.

    Grouped by the raw answer, band and score, so the query stays a GROUP BY
    and the score-to-band rule stays in Python (`nps_band`)."""
    tz = timezone.get_current_timezone()
    rows = (Answer.objects
            .filter(occurred_at__gte=since)
            .filter(Q(properties__answer__in=YES_NO) | Q(properties__has_key="band")
                    | Q(properties__has_key="score"))
            .annotate(day=TruncDate("occurred_at", tzinfo=tz), journey=KT("properties__journeyId"),
                      answer=KT("properties__answer"), band=KT("properties__band"),
                      score=KT("properties__score"))
            .values_list("day", "journey", "answer", "band", "score")
            .annotate(n=Count("id")).order_by())
    tally = AnswerTally()
    for day, journey_id, answer, band, score, n in rows:
        kind = answer_kind(answer, band, score)
        if kind is not None:
            tally.cells[(day, journey_id or "")][kind] += n
    return tally


def weekly_sends(*, since: datetime) -> dict[tuple[date, str], dict[str, int]]:
    """{(monday, journey id): {"sends", "answered"}}: journey sends that went out
    since `since` and how many of them got a confirmed answer, in one query."""
    tz = timezone.get_current_timezone()
    rows = (EmailSend.objects
            .filter(created_at__gte=since, status__in=EmailSend.POST_DISPATCH)
            .exclude(journey_id="")
            .annotate(day=TruncDate("created_at", tzinfo=tz))
            .values_list("day", "journey_id")
            .annotate(sends=Count("id", distinct=True),
                      answered=Count("id", distinct=True,
                                     filter=Q(links__semantic_emitted_at__isnull=False)))
            .order_by())
    weeks: dict[tuple[date, str], dict[str, int]] = defaultdict(
        lambda: {"sends": 0, "answered": 0})
    for day, journey_id, sends, answered in rows:
        cell = weeks[(Calendar.week_of(day), journey_id)]
        cell["sends"] += sends
        cell["answered"] += answered
    return weeks


def alert_flow(*, since: datetime) -> dict[str, dict[date, int]]:
    """Alerts opened and resolved per local day since `since` (two queries)."""
    tz = timezone.get_current_timezone()
    opened = (Alert.objects.filter(created_at__gte=since)
              .annotate(day=TruncDate("created_at", tzinfo=tz))
              .values_list("day").annotate(n=Count("id")).order_by())
    closed = (Alert.objects.filter(resolved_at__gte=since)
              .annotate(day=TruncDate("resolved_at", tzinfo=tz))
              .values_list("day").annotate(n=Count("id")).order_by())
    return {"opened": dict(opened), "closed": dict(closed)}


def open_alerts(*, limit: int) -> list[Alert]:
    """The newest open alerts with their contacts (served by alert_queue_idx)."""
    return list(Alert.objects.filter(status=Alert.Status.OPEN).select_related("contact")
                .order_by("-created_at", "-pk")[:limit])


def alert_queue_counts() -> dict[str, int]:
    """How many alerts are open and acknowledged, in one query."""
    return Alert.objects.aggregate(
        open=Count("id", filter=Q(status=Alert.Status.OPEN)),
        acknowledged=Count("id", filter=Q(status=Alert.Status.ACKNOWLEDGED)))


def stranded_count(*, now: datetime) -> int:
    return stranded_runs(now).count()


__all__ = ["ANSWER_KINDS", "BANDS", "YES_NO", "AnswerTally", "Calendar", "alert_flow",
           "alert_queue_counts", "answer_kind", "answer_tally", "nps_band", "open_alerts",
           "stranded_count", "weekly_sends"]
