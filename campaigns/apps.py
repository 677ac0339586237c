from __future__ import annotations

from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from campaigns import checks  # noqa: F401  (registers system checks)
        from campaigns.due import CHUNKS
        from campaigns.registry import load
        from hogsend_site.due import register_source
        from tracking.categories import JOURNEY
        from tracking.templates_registry import register_template

        load()
        register_source(CHUNKS)
        register_template(
            "marketing/announcement", subject="News from us", category=JOURNEY,
            description="A broadcast: headline, paragraphs (or intro) and one button "
                        "(ctaLabel, ctaUrl).")
