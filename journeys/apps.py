from __future__ import annotations

from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "journeys"

    def ready(self) -> None:
        from hogsend_site.due import register_source
        from journeys import checks  # noqa: F401  (registers system checks)
        from journeys.due import RUNS
        from journeys.engine.registry import load
        from journeys.services import journeys_on_ingest
        from journeys.timeline import register as register_timeline
        from tracking.dispatch import register_ingest_hook

        load()
        register_ingest_hook("journeys", journeys_on_ingest)
        register_source(RUNS)
        register_timeline()
