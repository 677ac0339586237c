"""IANA timezone names: the one judge of which names are valid.

Contacts, the admin form, the engine's `ctx.when`, PostHog's person zone and the
rendering helpers all accept a zone name from outside (a caller, a person
property, a setting). Each asks here, so a name one of them accepts is a name
every other one accepts too.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_named(name: object) -> ZoneInfo | None:
    """The zone for an exact IANA name ("Europe/Prague"), or None for anything else.

    Nothing is trimmed or case-folded: the stored name is the one later read back.
    A directory of the zone database ("Europe" on some systems) raises
    IsADirectoryError rather than the not-found error, so it is caught too.
    """
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        return None


def is_valid_zone(name: object) -> bool:
    return zone_named(name) is not None
