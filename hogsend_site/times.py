"""Instants in words for people: every time names its zone.

Staff read times in one zone (`STAFF_TIME_ZONE`, default UTC: staff users carry
no zone of their own); where the customer's clock matters the customer's local
time stands beside it ("09:00 in Berlin"). Storage stays aware UTC; these
helpers are for rendering only.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import dateformat
from django.utils.dateparse import parse_datetime

from hogsend_site.zones import zone_named

UTC_ZONE = ZoneInfo("UTC")


def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The zone called `name`, or None for an empty or unknown name."""
    return zone_named(name.strip()) if isinstance(name, str) else None


def staff_zone() -> ZoneInfo:
    """The zone staff pages and staff emails speak (`STAFF_TIME_ZONE`, UTC if unknown)."""
    return zone_or_none(getattr(settings, "STAFF_TIME_ZONE", "UTC")) or UTC_ZONE


def zone_place(zone: tzinfo) -> str:
    """A place people say: "Europe/Berlin" → "Berlin", "America/New_York" → "New York"."""
    key = getattr(zone, "key", None) or str(zone)
    return key.rsplit("/", 1)[-1].replace("_", " ")


def zone_abbreviation(moment: datetime) -> str:
    """CEST, UTC, EDT; a zone without a letter abbreviation reads "UTC+04"."""
    name = moment.strftime("%Z")
    return f"UTC{name}" if name[:1] in "+-" else name


def instant(value: datetime | str | None) -> datetime | None:
    """An aware instant from a datetime or an ISO string; None for anything else."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC_ZONE)
    try:
        parsed = parse_datetime(value) if isinstance(value, str) and value else None
    except ValueError:  # well-formed but impossible, e.g. month 13
        return None
    if parsed is not None and parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC_ZONE)
    return parsed


def in_words(value: datetime | None, zone: tzinfo | None = None, *, year: bool = True) -> str:
    """ "Wed 17 Jun 2026, 09:00 CEST" in `zone` (the staff zone by default)."""
    if value is None:
        return "—"
    local = value.astimezone(zone or staff_zone())
    shape = "D j M Y, H:i" if year else "D j M, H:i"
    return f"{dateformat.format(local, shape)} {zone_abbreviation(local)}"


def clock_time(value: datetime, zone: tzinfo | None = None) -> str:
    """ "09:00 CEST": the time of day alone, for a moment whose day is already said."""
    local = value.astimezone(zone or staff_zone())
    return f"{dateformat.format(local, 'H:i')} {zone_abbreviation(local)}"


def local_beside(value: datetime, customer: tzinfo | None, staff: tzinfo | None = None) -> str:
    """ "09:00 in Berlin" (with the day when it differs from the staff day), or ""
    when there is no customer zone or it shows the same wall-clock time as staff."""
    staff = staff or staff_zone()
    if customer is None:
        return ""
    theirs, ours = value.astimezone(customer), value.astimezone(staff)
    if theirs.utcoffset() == ours.utcoffset():
        return ""
    shape = "H:i" if theirs.date() == ours.date() else "D j M, H:i"
    return f"{dateformat.format(theirs, shape)} in {zone_place(customer)}"


def both(value: datetime | None, customer: tzinfo | None = None, *, year: bool = True) -> str:
    """ "Wed 17 Jun 2026, 07:00 UTC (09:00 in Berlin)": staff time, customer's beside."""
    if value is None:
        return "—"
    staff = staff_zone()
    beside = local_beside(value, customer, staff)
    text = in_words(value, staff, year=year)
    return f"{text} ({beside})" if beside else text


def customer_first(value: datetime | None, customer: tzinfo | None) -> str:
    """ "09:00 in Berlin (Wed 17 Jun 2026, 07:00 UTC)": for times chosen on the
    customer's clock (a morning send); the staff time alone without a customer zone."""
    if value is None:
        return "—"
    staff = in_words(value)
    beside = local_beside(value, customer)
    return f"{beside} ({staff})" if beside else staff
