"""System checks for outbound integrations (registered by alerts.destinations.register).

hogsend.W301  POSTHOG_CAPTURE_ANSWERS is on without POSTHOG_HOST and POSTHOG_PROJECT_API_KEY
hogsend.W302  some, not all, of the PostHog timezone settings are set (lookups stay off)
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

TIMEZONE_SETTINGS = ("POSTHOG_HOST", "POSTHOG_PROJECT_ID", "POSTHOG_PERSONAL_API_KEY")


@register()
def check_posthog_settings(app_configs, **kwargs) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    missing = [name for name in ("POSTHOG_HOST", "POSTHOG_PROJECT_API_KEY")
               if not getattr(settings, name, "")]
    if getattr(settings, "POSTHOG_CAPTURE_ANSWERS", False) and missing:
        found.append(Warning(
            f"POSTHOG_CAPTURE_ANSWERS is on but {', '.join(missing)} is empty: answers are "
            "not captured.", id="hogsend.W301"))
    present = [name for name in TIMEZONE_SETTINGS if getattr(settings, name, "")]
    if present and len(present) < len(TIMEZONE_SETTINGS):
        absent = sorted(set(TIMEZONE_SETTINGS) - set(present))
        found.append(Warning(
            f"PostHog timezone lookups need {', '.join(TIMEZONE_SETTINGS)}; "
            f"{', '.join(absent)} is empty, so journeys never ask PostHog.", id="hogsend.W302"))
    return found
