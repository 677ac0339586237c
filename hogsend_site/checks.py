"""System checks: configuration that must hold for the engine to be correct."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility)
def check_time_and_queue(app_configs, **kwargs):
    errors = []
    if settings.TIME_ZONE != "UTC" or not settings.USE_TZ:
        errors.append(Error("TIME_ZONE must be 'UTC' and USE_TZ True.", id="hogsend.E001"))
    q = getattr(settings, "Q_CLUSTER", {})
    if q.get("retry", 0) <= q.get("timeout", 0):
        errors.append(Error("Q_CLUSTER['retry'] must exceed Q_CLUSTER['timeout'] "
                            "(otherwise django-q2 runs a task twice).", id="hogsend.E002"))
    if not q.get("max_attempts"):
        errors.append(Error("Q_CLUSTER['max_attempts'] must be finite.", id="hogsend.E003"))
    if not settings.DEBUG and not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        errors.append(Warning("ANYMAIL_WEBHOOK_SECRET is not set: provider bounce webhooks "
                              "will be refused.", id="hogsend.W001"))
    return errors


@register(Tags.security)
def check_trusted_proxies(app_configs, **kwargs):
    """A bad TRUSTED_PROXIES entry would fail every request that reads the client IP."""
    from hogsend_site.client_ip import trusted_networks

    try:
        trusted_networks()
    except ValueError as exc:
        return [Error(f"TRUSTED_PROXIES: {exc}", hint="Addresses or CIDRs, comma-separated.",
                      id="hogsend.E004")]
    return []


@register(Tags.compatibility)
def check_staff_time_zone(app_configs, **kwargs):
    """An unknown STAFF_TIME_ZONE would quietly print every console time in UTC."""
    from hogsend_site.times import zone_or_none

    name = getattr(settings, "STAFF_TIME_ZONE", "UTC")
    if zone_or_none(name) is None:
        return [Warning(f"STAFF_TIME_ZONE {name!r} is not a known time zone; times are shown "
                        "in UTC.", hint="An IANA name such as Europe/Prague.",
                        id="hogsend.W002")]
    return []
