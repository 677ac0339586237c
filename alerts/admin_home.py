"""The support home: the admin index, for support staff, becomes a dashboard above
the app list.

Open alerts lead, each with the customer's own words, ticket and age; then
today's and this week's answers (yes/no and NPS bands) linking to the answers
list filtered, the stranded runs, and small charts of the last weeks: answer
rate and CSAT per journey, NPS, alerts opened and resolved. The reads are
`alerts.dashboard`'s, a fixed number of aggregate queries; the charts are inline
SVG (`hogsend_site.charts`). Times are the admin's time zone, and say so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.timesince import timesince

from alerts.dashboard import (
    Calendar,
    alert_flow,
    alert_queue_counts,
    answer_tally,
    open_alerts,
    stranded_count,
    weekly_sends,
)
from alerts.models import Alert
from hogsend_site.charts import Series, bar_chart, data_table, line_chart, number, percent, signed
from hogsend_site.labels import alert_kind_label
from journeys.engine.registry import registry

# Everything the home shows is readable on these pages; the support group and
# superusers hold them all, other staff keep Django's plain index.
HOME_PERMISSIONS = ("alerts.view_alert", "tracking.view_answer", "journeys.view_strandedrun",
                    "tracking.view_emailsend")
OPEN_ALERTS_SHOWN = 10
WEEKS, DAYS = 8, 14
# (answer kind, column heading, the answers list's `value` filter)
ANSWER_COLUMNS = (
    ("yes", "Yes", "answer:yes"),
    ("no", "No", "answer:no"),
    ("promoter", "Promoters", "band:promoter"),
    ("passive", "Passives", "band:passive"),
    ("detractor", "Detractors", "band:detractor"),
)
UNKNOWN_TICKET = "unknown"  # what alerts.operator writes when the event had none


def support_home_visible(user: Any) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perms(HOME_PERMISSIONS))


def support_home(*, now: datetime) -> dict[str, Any]:
    """The dashboard's template context."""
    calendar = Calendar.at(now, weeks=WEEKS, days=DAYS)
    since_weeks = calendar.start_of(calendar.weeks[0])
    tally = answer_tally(since=since_weeks)
    zone = timezone.get_current_timezone_name()
    flow = alert_flow(since=calendar.start_of(calendar.days[0]))
    weekly = tally.weekly()
    sends = weekly_sends(since=since_weeks)
    return {
        "zone": zone,
        "now": _stamp(now, zone),
        "alerts": [alert_row(alert, now=now, zone=zone)
                   for alert in open_alerts(limit=OPEN_ALERTS_SHOWN)],
        "alert_counts": alert_queue_counts(),
        "open_alerts_url": _url("admin:alerts_alert_changelist", status__exact="open"),
        "acknowledged_alerts_url": _url("admin:alerts_alert_changelist",
                                        status__exact="acknowledged"),
        "answers": answer_rows(tally, calendar, zone=zone),
        "answer_columns": [heading for _, heading, _ in ANSWER_COLUMNS],
        "stranded": {"count": stranded_count(now=now),
                     "url": reverse("admin:journeys_strandedrun_changelist")},
        "charts": [answer_rate_chart(sends, calendar, zone), csat_chart(weekly, calendar, zone),
                   nps_chart(weekly, calendar, zone), alerts_chart(flow, calendar, zone)],
    }


def _url(name: str, **query: str) -> str:
    return f"{reverse(name)}?{urlencode(query)}" if query else reverse(name)


def _stamp(instant: datetime, zone: str) -> str:
    return f"{formats.date_format(timezone.localtime(instant), 'j M Y, H:i')} {zone}"


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def _journey_name(journey_id: str) -> str:
    journey = registry.get(journey_id)
    return journey.name if journey else journey_id or "(no journey)"


# --- open alerts --------------------------------------------------------------------


def alert_row(alert: Alert, *, now: datetime, zone: str) -> dict[str, Any]:
    payload = alert.payload if isinstance(alert.payload, dict) else {}
    contact = alert.contact
    customer = ((contact.email or contact.key) if contact else "") or str(
        payload.get("customerEmail") or payload.get("leadEmail") or "")
    return {
        "url": reverse("admin:alerts_alert_change", args=[alert.pk]),
        "words": str(payload.get("comment") or "").strip(),
        "title": alert.title,
        "kind": alert_kind_label(alert.kind, short=True),
        "ticket": _ticket(payload),
        "customer": customer,
        "customer_url": (reverse("admin:contacts_contact_change", args=[contact.pk])
                         if contact else ""),
        "opened": alert.created_at,
        "opened_text": _stamp(alert.created_at, zone),
        "ago": timesince(alert.created_at, now),
    }


def _ticket(payload: dict[str, Any]) -> str:
    ticket = str(payload.get("ticketId") or "")
    if ticket and ticket != UNKNOWN_TICKET:
        return ticket
    order = str(payload.get("orderId") or "")
    return f"order {order}" if order and order != UNKNOWN_TICKET else ""


# --- today's and this week's answers --------------------------------------------------


def answer_rows(tally: Any, calendar: Calendar, *, zone: str) -> list[dict[str, Any]]:
    tomorrow = calendar.start_of(calendar.today + timedelta(days=1))
    periods = (("Today", calendar.today, f"since 00:00 {zone}"),
               ("This week", calendar.monday,
                f"since Monday {_short(calendar.monday)}, 00:00 {zone}"))
    rows = []
    for label, first_day, since_text in periods:
        since = calendar.start_of(first_day)
        counts = tally.total(since=first_day)
        rows.append({"label": label, "since": since_text, "cells": [
            {"kind": kind, "count": counts[kind],
             "url": _url("admin:tracking_answer_changelist", value=value,
                         occurred_at__gte=str(timezone.localtime(since)),
                         occurred_at__lt=str(timezone.localtime(tomorrow)))}
            for kind, _, value in ANSWER_COLUMNS]})
    return rows


# --- charts ---------------------------------------------------------------------------


def _chart(chart_id: str, svg: Any, caption: str, labels: list[str], series: list[Series],
           label_header: str, fmt: Any) -> dict[str, Any]:
    return {"id": chart_id, "svg": svg,
            "table": data_table(caption=caption, labels=labels, series=series,
                                label_header=label_header, fmt=fmt)}


def _weekly_percent_chart(*, chart_id: str, title: str, y_label: str, journey_ids: set[str],
                          cell: Callable[[date, str], tuple[float | None, str]],
                          calendar: Calendar, zone: str) -> dict[str, Any]:
    """A line per journey of a percentage per week; `cell(week, journey_id)` gives the
    value (None: nothing to measure) and its note."""
    labels = [_short(week) for week in calendar.weeks]
    series = []
    for journey_id in sorted(journey_ids, key=_journey_name):
        cells = [cell(week, journey_id) for week in calendar.weeks]
        series.append(Series(name=_journey_name(journey_id), values=[v for v, _ in cells],
                             notes=[note for _, note in cells]))
    svg = line_chart(chart_id=chart_id, title=title, labels=labels, series=series,
                     x_label=f"Week starting (Monday, {zone})", y_label=y_label,
                     y_min=0, y_max=100, fmt=percent)
    return _chart(chart_id, svg, title, labels, series, "Week starting", percent)


def answer_rate_chart(sends: dict[tuple[date, str], dict[str, int]], calendar: Calendar,
                      zone: str) -> dict[str, Any]:
    """Answered sends ÷ sends, per week of sending and journey."""
    def cell(week: date, journey_id: str) -> tuple[float | None, str]:
        counts = sends.get((week, journey_id), {"sends": 0, "answered": 0})
        rate = 100 * counts["answered"] / counts["sends"] if counts["sends"] else None
        return rate, f"{counts['answered']} of {counts['sends']} sends answered"

    return _weekly_percent_chart(
        chart_id="chart-answer-rate", title="Answer rate per week", y_label="% of sends answered",
        journey_ids={jid for _, jid in sends}, cell=cell, calendar=calendar, zone=zone)


def csat_chart(weekly: dict[tuple[date, str], dict[str, int]], calendar: Calendar,
               zone: str) -> dict[str, Any]:
    """% "yes" among yes/no answers, per week answered and journey."""
    def cell(week: date, journey_id: str) -> tuple[float | None, str]:
        counts = weekly.get((week, journey_id)) or {"yes": 0, "no": 0}
        answered = counts["yes"] + counts["no"]
        return (100 * counts["yes"] / answered if answered else None,
                f"{counts['yes']} yes of {answered}")

    journeys = {jid for (_, jid), counts in weekly.items() if counts["yes"] + counts["no"]}
    return _weekly_percent_chart(
        chart_id="chart-csat", title="CSAT per week: % answering yes", y_label="% yes",
        journey_ids=journeys, cell=cell, calendar=calendar, zone=zone)


def nps_chart(weekly: dict[tuple[date, str], dict[str, int]], calendar: Calendar,
              zone: str) -> dict[str, Any]:
    """Promoters − detractors as % of NPS answers, per week answered, all journeys."""
    labels = [_short(week) for week in calendar.weeks]
    values: list[float | None] = []
    notes = []
    for week in calendar.weeks:
        bands = {band: sum(counts[band] for (day, _), counts in weekly.items() if day == week)
                 for band in ("promoter", "passive", "detractor")}
        total = sum(bands.values())
        values.append(100 * (bands["promoter"] - bands["detractor"]) / total if total else None)
        notes.append(f"{bands['promoter']} promoters, {bands['passive']} passives, "
                     f"{bands['detractor']} detractors")
    series = [Series(name="NPS", values=values, notes=notes, colour="var(--link-fg, #417893)",
                     negative_colour="var(--error-fg, #ba2121)")]
    title = "NPS per week: promoters − detractors"
    svg = bar_chart(chart_id="chart-nps", title=title, labels=labels, series=series,
                    x_label=f"Week starting (Monday, {zone})", y_label="NPS",
                    y_min=-100, y_max=100, fmt=signed)
    return _chart("chart-nps", svg, title, labels, series, "Week starting", signed)


def alerts_chart(flow: dict[str, dict[date, int]], calendar: Calendar,
                 zone: str) -> dict[str, Any]:
    """Alerts opened and resolved per day."""
    labels = [_short(day) for day in calendar.days]
    series = [
        Series(name="Opened", values=[flow["opened"].get(day, 0) for day in calendar.days],
               colour="var(--error-fg, #ba2121)"),
        Series(name="Resolved", values=[flow["closed"].get(day, 0) for day in calendar.days],
               colour="var(--link-fg, #417893)"),
    ]
    if not any(series[0].values) and not any(series[1].values):
        series = []  # fourteen empty days draw as "no data yet", not a flat axis
    title = "Alerts opened and resolved per day"
    svg = bar_chart(chart_id="chart-alerts", title=title, labels=labels, series=series,
                    x_label=f"Day ({zone})", y_label="Alerts", fmt=number)
    return _chart("chart-alerts", svg, title, labels, series, "Day", number)


__all__ = ["HOME_PERMISSIONS", "alert_row", "support_home", "support_home_visible"]
