"""`ctx.when`: wall-clock scheduling in the contact's timezone.

Pure date math on the run's replay-stable clock. Local times are turned into
instants with "compatible" disambiguation: a time inside a spring-forward gap
lands after the gap, an ambiguous fall-back time takes the earlier instant.
Python's `fold=0` does exactly that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# is_valid_zone is re-exported: the engine and PostHog ask here, one judge of names.
from hogsend_site.zones import is_valid_zone as is_valid_zone
from hogsend_site.zones import zone_named

HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
WEEKDAYS = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tuesday": 1,
    "wed": 2,
    "wednesday": 2,
    "thu": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}


def parse_hhmm(value: str) -> time:
    match = HHMM.match(value or "") if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise TypeError(f"time must be HH:mm (00:00-23:59), got {value!r}")
    return time(int(match[1]), int(match[2]))


def zone(name: str) -> ZoneInfo:
    """A ZoneInfo for a valid IANA name; TypeError otherwise."""
    tz = zone_named(name)
    if tz is None:
        raise TypeError(f"invalid IANA timezone {name!r}")
    return tz


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `tz` (compatible rule)."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz, fold=0)
    instant = aware.astimezone(UTC)
    # In a gap, fold=0 resolves with the pre-transition offset, which already
    # lands after the gap (02:30 EST == 03:30 EDT).
    return instant


@dataclass(frozen=True)
class When:
    now: datetime
    tz_name: str
    window_start: time | None = None
    window_end: time | None = None
    if_past_mode: str = "next"

    @property
    def _tz(self) -> ZoneInfo:
        return zone(self.tz_name)

    # --- refinements -----------------------------------------------------
    def tz(self, name: str) -> When:
        zone(name)  # an invalid explicit zone raises
        return replace(self, tz_name=name)

    def window(self, start: str, end: str) -> When:
        return replace(self, window_start=parse_hhmm(start), window_end=parse_hhmm(end))

    def if_past(self, mode: str) -> When:
        if mode not in ("next", "now"):
            raise TypeError("if_past takes 'next' or 'now'")
        return replace(self, if_past_mode=mode)

    # --- terminals -------------------------------------------------------
    def next_local(self, hhmm: str) -> datetime:
        return self._finish(self._local_today(), parse_hhmm(hhmm), roll_days=1)

    def tomorrow(self) -> _At:
        return _At(self, self._local_today() + timedelta(days=1), roll_days=0)

    def next(self, weekday: str) -> _At:
        key = (weekday or "").strip().lower()
        if key not in WEEKDAYS:
            raise TypeError(f"unknown weekday {weekday!r}")
        today = self._local_today()
        ahead = (WEEKDAYS[key] - today.weekday()) % 7
        return _At(self, today + timedelta(days=ahead), roll_days=7)

    def in_(self, duration: timedelta) -> _At:
        return _At(self, (self.now + duration).astimezone(self._tz).date(), roll_days=0)

    # --- internals -------------------------------------------------------
    def _local_today(self) -> date:
        return self.now.astimezone(self._tz).date()

    def _finish(self, day: date, at: time, roll_days: int) -> datetime:
        candidate = local_instant(day, at, self._tz)
        if candidate <= self.now:
            if self.if_past_mode == "now":
                candidate = self.now
            else:
                candidate = local_instant(day + timedelta(days=max(roll_days, 1)), at, self._tz)
        return self._clamp(candidate)

    def _clamp(self, instant: datetime) -> datetime:
        """Move an instant forward into the send window (never backwards)."""
        start, end = self.window_start, self.window_end
        if start is None or end is None or start == end:
            return instant
        tz = self._tz
        local = instant.astimezone(tz)
        day, clock = local.date(), local.time().replace(tzinfo=None)
        if start < end:
            if clock < start:
                return local_instant(day, start, tz)
            if clock >= end:
                return local_instant(day + timedelta(days=1), start, tz)
            return instant
        # Overnight window (22:00-06:00): open if >= start or < end.
        if clock >= start or clock < end:
            return instant
        return local_instant(day, start, tz)


@dataclass(frozen=True)
class _At:
    when: When
    day: date
    roll_days: int

    def at(self, hhmm: str) -> datetime:
        return self.when._finish(self.day, parse_hhmm(hhmm), self.roll_days)
