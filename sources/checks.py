"""Start-up checks of ENABLED_SOURCES against the defined sources and their secrets."""

from __future__ import annotations

from django.core.checks import Error, Tags, Warning, register

from sources.auth import secret_value
from sources.registry import all_sources, allowed_ids


@register(Tags.compatibility)
def check_enabled_sources(app_configs, **kwargs):
    allowed = allowed_ids()
    if not allowed:
        return []
    known = {source.id: source for source in all_sources()}
    problems = []
    for source_id in sorted(allowed):
        source = known.get(source_id)
        if source is None:
            problems.append(Error(
                f"ENABLED_SOURCES names unknown webhook source {source_id!r} "
                f"(defined: {', '.join(sorted(known)) or 'none'}).", id="hogsend.E401"))
        elif not secret_value(source.auth.secret_env):
            problems.append(Warning(
                f"ENABLED_SOURCES names {source_id!r} but {source.auth.secret_env} is not set: "
                "the source answers 404 until it is.", id="hogsend.W401"))
    return problems
