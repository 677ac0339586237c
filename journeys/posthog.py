"""PostHog as the first timezone source of `ctx.when`: the person's `$timezone`, then
`$geoip_time_zone`, before the contact's own columns.

Configured by `POSTHOG_HOST`, `POSTHOG_PROJECT_ID` and `POSTHOG_PERSONAL_API_KEY`
(a personal key that may read persons). Unconfigured, nothing is asked. Any
error, timeout or odd answer falls through silently to the next candidate (a
warning in the log): PostHog being down never delays or fails a journey by
more than `TIMEOUT`. The zone is resolved once per run (the run journals it),
so this is one request per enrolment that uses `ctx.when`, at most.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.utils import timezone

from contacts.models import Contact
from hogsend_site.zones import is_valid_zone

logger = logging.getLogger(__name__)

TIMEOUT = 2.0  # seconds
MAX_BODY = 1_000_000
ZONE_PROPERTIES = ("$timezone", "$geoip_time_zone")


def is_configured() -> bool:
    return bool(getattr(settings, "POSTHOG_HOST", "")
                and getattr(settings, "POSTHOG_PROJECT_ID", "")
                and getattr(settings, "POSTHOG_PERSONAL_API_KEY", ""))


def person_timezone(distinct_id: str) -> str | None:
    """The person's `$timezone`, else `$geoip_time_zone` (first valid IANA name), or None."""
    if not is_configured() or not distinct_id:
        return None
    properties = _person_properties(distinct_id)
    for name in ZONE_PROPERTIES:
        value = properties.get(name)
        if isinstance(value, str) and value and is_valid_zone(value):
            return value
        if value:
            logger.warning("PostHog person %s: skipping invalid %s %r", distinct_id, name, value)
    return None


def _person_properties(distinct_id: str) -> dict[str, Any]:
    host = settings.POSTHOG_HOST.rstrip("/")
    project = quote(str(settings.POSTHOG_PROJECT_ID), safe="")
    url = f"{host}/api/projects/{project}/persons/?{urlencode({'distinct_id': distinct_id})}"
    request = urllib.request.Request(url, headers={
        "Authorization": f"Bearer {settings.POSTHOG_PERSONAL_API_KEY}",
        "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            data = json.loads(response.read(MAX_BODY))
        results = data.get("results") or []
        properties = (results[0].get("properties") or {}) if results else {}
        if not isinstance(properties, dict):
            raise ValueError("person properties are not an object")
        return properties
    except (OSError, http.client.HTTPException, ValueError, AttributeError, TypeError) as exc:
        # urllib's HTTPError, URLError and timeouts are OSErrors; bad JSON is a ValueError.
        logger.warning("PostHog person lookup for %s failed, falling through: %s",
                       distinct_id, exc)
        return {}


def contact_timezone(contact: Contact) -> str | None:
    """PostHog's zone for a contact; cached on `Contact.timezone` when that is empty."""
    zone = person_timezone(contact.key)
    if zone and not contact.timezone:
        # The column caches PostHog's answer for later runs (and for when PostHog
        # is away); the condition keeps a zone set meanwhile by the API.
        Contact.objects.filter(pk=contact.pk, timezone="").update(
            timezone=zone, updated_at=timezone.now())
        contact.timezone = zone
    return zone
