"""Changelist columns that read as words and fit a laptop screen.

A raw datetime column prints "Dec. 3, 2026, 12:35 p.m." with no zone; `stamp`
makes a column that says the zone (staff time, `hogsend_site.times`) and stays
sortable by the field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.utils import timezone

from hogsend_site import times


def short_stamp(value: datetime | None) -> str:
    """ "Wed 17 Jun, 09:00 UTC": the year only when it is not this year's."""
    if value is None:
        return "—"
    year = value.astimezone(times.staff_zone()).year != timezone.now().year
    return times.in_words(value, year=year)


def stamp(field: str, description: str | None = None) -> Callable[[Any], str]:
    """A list_display column for the datetime `field`, in staff time with its zone."""

    @admin.display(description=description or field.removesuffix("_at").replace("_", " "),
                   ordering=field)
    def column(obj: Any) -> str:
        return short_stamp(getattr(obj, field))

    column.__name__ = f"{field}_stamp"
    return column
