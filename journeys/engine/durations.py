"""Durations are plain `timedelta`s; `days(n)` is exactly n × 24 h (never a calendar day)."""

from __future__ import annotations

import math
from datetime import timedelta


def days(n: float) -> timedelta:
    return timedelta(hours=24 * n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def whole_seconds(duration: timedelta) -> timedelta:
    """Durable sleeps are whole seconds, rounded up, at least 1 s: a sleep always parks
    the run and never wakes before the time asked."""
    return timedelta(seconds=max(1, math.ceil(duration.total_seconds())))


def duration_label(duration: timedelta) -> str:
    """A stable, readable form for default labels: `{"hours":48}`-like."""
    total = int(duration.total_seconds())
    parts = []
    for name, size in (("hours", 3600), ("minutes", 60), ("seconds", 1)):
        if total >= size:
            parts.append(f'"{name}":{total // size}')
            total %= size
    return "{" + ",".join(parts or ['"seconds":0']) + "}"


MAX_WAIT = timedelta(hours=720)
