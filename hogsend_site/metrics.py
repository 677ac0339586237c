"""Prometheus metrics, computed from the database at scrape time.

Every figure is a gauge read from the tables (the source of truth), so any web
process answers the same numbers and nothing is lost when a process restarts.
Each query is an indexed count or aggregate; scrape every 15-60 s.

    hogsend_journey_runs{journey,status}           runs by journey and status
    hogsend_due_backlog                            live runs whose wake-up is due now
    hogsend_due_lateness_seconds                   how late the oldest due wake-up is
    hogsend_email_sends_last_minute{status}        sends created in the last minute
    hogsend_webhook_deliveries{status}             outbound deliveries (if installed)
    hogsend_handler_jobs{status}                   on-event handler jobs pending/failed
    hogsend_handler_jobs_overdue                   pending jobs whose due time has passed
    hogsend_semantic_clicks_pending                answer confirmations not yet resolved
    hogsend_alerts_open{kind}                      operator alerts still open
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _grouped(queryset: Any, *fields: str) -> list[dict[str, Any]]:
    return list(queryset.values(*fields).annotate(n=Count("pk")).order_by())


class HogsendCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        yield from self._runs(now)
        yield from self._sends(now)
        yield from self._deliveries()
        yield from self._jobs(now)
        yield from self._clicks()
        yield from self._alerts()

    def _runs(self, now) -> Iterator[GaugeMetricFamily]:
        from journeys.models import LIVE_STATUSES, JourneyRun

        runs = GaugeMetricFamily("hogsend_journey_runs", "Journey runs by journey and status",
                                 labels=["journey", "status"])
        for row in _grouped(JourneyRun.objects.all(), "journey_id", "status"):
            runs.add_metric([row["journey_id"], row["status"]], row["n"])
        yield runs
        due = JourneyRun.objects.filter(status__in=LIVE_STATUSES, wake_at__lte=now)
        figures = due.aggregate(n=Count("pk"), oldest=Min("wake_at"))
        yield GaugeMetricFamily("hogsend_due_backlog", "Live runs whose wake-up is due now",
                                value=figures["n"])
        lateness = (now - figures["oldest"]).total_seconds() if figures["oldest"] else 0.0
        yield GaugeMetricFamily("hogsend_due_lateness_seconds",
                                "How late the oldest due wake-up is", value=max(0.0, lateness))

    def _sends(self, now) -> Iterator[GaugeMetricFamily]:
        from tracking.models import EmailSend

        sends = GaugeMetricFamily("hogsend_email_sends_last_minute",
                                  "Email sends created in the last minute, by status",
                                  labels=["status"])
        recent = EmailSend.objects.filter(created_at__gte=now - timedelta(minutes=1))
        counts = {row["status"]: row["n"] for row in _grouped(recent, "status")}
        for status in EmailSend.Status.values:
            sends.add_metric([status], counts.get(status, 0))
        yield sends

    def _deliveries(self) -> Iterator[GaugeMetricFamily]:
        try:
            model = apps.get_model("alerts", "WebhookDelivery")
        except LookupError:
            return
        deliveries = GaugeMetricFamily("hogsend_webhook_deliveries",
                                       "Outbound webhook deliveries by status", labels=["status"])
        for row in _grouped(model.objects.all(), "status"):
            deliveries.add_metric([row["status"]], row["n"])
        yield deliveries

    def _jobs(self, now) -> Iterator[GaugeMetricFamily]:
        from alerts.models import HandlerJob

        jobs = GaugeMetricFamily("hogsend_handler_jobs", "On-event handler jobs by status",
                                 labels=["status"])
        counts = {row["status"]: row["n"] for row in _grouped(
            HandlerJob.objects.exclude(status=HandlerJob.Status.DONE), "status")}
        for status in (HandlerJob.Status.PENDING, HandlerJob.Status.FAILED):
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        overdue = HandlerJob.objects.filter(status=HandlerJob.Status.PENDING, due_at__lte=now)
        yield GaugeMetricFamily("hogsend_handler_jobs_overdue",
                                "Pending handler jobs whose due time has passed",
                                value=overdue.count())

    def _clicks(self) -> Iterator[GaugeMetricFamily]:
        from tracking.models import LinkClick, PendingEvent

        pending = LinkClick.objects.filter(outcome="", confirm_at__isnull=False).count()
        yield GaugeMetricFamily("hogsend_semantic_clicks_pending",
                                "Semantic clicks awaiting answer confirmation", value=pending)
        events = GaugeMetricFamily("hogsend_tracking_events",
                                   "Per-hit click/open events not yet ingested", labels=["state"])
        waiting = PendingEvent.objects.filter(due_at__isnull=False).count()
        events.add_metric(["pending"], waiting)
        events.add_metric(["given_up"], PendingEvent.objects.filter(due_at__isnull=True).count())
        yield events

    def _alerts(self) -> Iterator[GaugeMetricFamily]:
        from alerts.models import Alert

        alerts = GaugeMetricFamily("hogsend_alerts_open", "Operator alerts still open",
                                   labels=["kind"])
        for row in _grouped(Alert.objects.filter(status=Alert.Status.OPEN), "kind"):
            alerts.add_metric([row["kind"]], row["n"])
        yield alerts


def render() -> bytes:
    """The exposition text (a fresh registry per scrape: nothing global to leak)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HogsendCollector())
    return generate_latest(registry)
