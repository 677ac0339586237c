from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self) -> None:
        # operator, concierge, approvals: the shipped handlers; followups: later
        # notes added to their alerts.
        from alerts import approvals, concierge, destinations, followups, operator  # noqa: F401
        from alerts.due import JOBS
        from alerts.services import handler_jobs_create
        from hogsend_site.due import register_source
        from tracking.dispatch import register_ingest_hook

        register_ingest_hook("alerts", handler_jobs_create)
        register_source(JOBS)
        destinations.register()  # webhooks: outbound sink, ingest hook, clock, cache
