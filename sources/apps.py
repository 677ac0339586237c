from __future__ import annotations

from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "sources"
    verbose_name = "Inbound webhook sources"

    def ready(self) -> None:
        from sources import checks  # noqa: F401  (registers system checks)
        from sources.registry import load

        load()
