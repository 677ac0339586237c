from __future__ import annotations

from django.apps import AppConfig


class BucketsConfig(AppConfig):
    name = "buckets"
    verbose_name = "Buckets"

    def ready(self) -> None:
        from buckets import checks  # noqa: F401  (registers system checks)
        from buckets.due import BACKFILL, CHECKS
        from buckets.registry import load
        from buckets.services import buckets_on_ingest, buckets_on_properties
        from contacts.dispatch import register_properties_hook
        from hogsend_site.due import register_source
        from tracking.dispatch import register_ingest_hook

        load()
        register_ingest_hook("buckets", buckets_on_ingest)
        register_properties_hook("buckets", buckets_on_properties)
        register_source(CHECKS)
        register_source(BACKFILL)
