from __future__ import annotations

from django.apps import AppConfig


class HogsendSiteConfig(AppConfig):
    name = "hogsend_site"
    verbose_name = "Hogsend"

    def ready(self) -> None:
        from hogsend_site import checks, schema  # noqa: F401  (checks, the OpenAPI auth scheme)
