"""Start-up checks of how journeys use buckets.

hogsend.W701  a journey triggers or exits on `bucket:entered:<id>` / `bucket:left:<id>`
              for a bucket that is not defined or not enabled (ENABLED_BUCKETS), so
              the event never comes.
"""

from __future__ import annotations

import difflib
import re

from django.core.checks import Tags, Warning, register

from buckets.registry import registry
from journeys.engine.registry import registry as journeys

BUCKET_EVENT_RE = re.compile(r"^bucket:(entered|left):(?P<id>.+)$")


@register(Tags.compatibility)
def check_bucket_events(app_configs, **kwargs):
    warnings = []
    known = sorted(bucket.id for bucket in registry)
    for journey in journeys:
        uses = [("trigger", journey.trigger_event)] + [
            (f"exit_on[{index}]", rule.event) for index, rule in enumerate(journey.exit_on)]
        for where, name in uses:
            match = BUCKET_EVENT_RE.match(name)
            if match is None or match["id"] in registry:
                continue
            close = difflib.get_close_matches(match["id"], known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            warnings.append(Warning(
                f"journey {journey.id!r} ({journey.source}) {where} waits for {name!r}, but no "
                f"bucket {match['id']!r} is defined and enabled, so that event never comes.{hint}",
                id="hogsend.W701"))
    return warnings
