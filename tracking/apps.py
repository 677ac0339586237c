from __future__ import annotations

from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Events and email"

    def ready(self) -> None:
        from anymail.signals import tracking as anymail_tracking

        from hogsend_site.due import register_source
        from tracking import checks, email_templates, events_due, receivers, semantic  # noqa: F401
        from tracking.timeline import register as register_timeline

        register_timeline()
        register_source(semantic.DUE_SOURCE)
        register_source(events_due.DUE_SOURCE)
        anymail_tracking.connect(receivers.provider_event_received,
                                 dispatch_uid="hogsend.tracking.provider_event_received")
