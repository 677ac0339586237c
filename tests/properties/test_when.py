"""Properties of `ctx.when` (journeys/engine/when.py `When`)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from journeys.engine.when import WEEKDAYS, When

ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                         "America/Santiago", "Pacific/Chatham", "Asia/Kolkata",
                         "America/St_Johns", "Europe/London"])
# hypothesis takes naive bounds and attaches the zone itself.
NOWS = st.datetimes(min_value=datetime(2020, 1, 1),  # noqa: DTZ001
                    max_value=datetime(2032, 12, 31),  # noqa: DTZ001
                    timezones=st.just(UTC))
# Wall-clock times, weighted towards the hours DST transitions touch.
HOURS = st.one_of(st.integers(0, 23), st.integers(0, 3))
HHMM = st.tuples(HOURS, st.sampled_from([0, 15, 30, 45, 59])).map(
    lambda t: f"{t[0]:02d}:{t[1]:02d}")


def terminals(when: When, hhmm: str) -> list[datetime]:
    return [when.next_local(hhmm), when.tomorrow().at(hhmm), when.next("monday").at(hhmm),
            when.next("sun").at(hhmm), when.in_(timedelta(hours=30)).at(hhmm),
            when.in_(timedelta(0)).at(hhmm)]


def requested(hhmm: str) -> time:
    hours, minutes = map(int, hhmm.split(":"))
    return time(hours, minutes)


def exists(day, at: time, tz: ZoneInfo) -> bool:
    """False inside a spring-forward gap (the wall time never happens)."""
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


@settings(max_examples=300)
@given(NOWS, ZONES, HHMM)
def test_results_are_aware_instants_strictly_after_now(now, zone, hhmm):
    for instant in terminals(When(now=now, tz_name=zone), hhmm):
        assert instant.tzinfo is not None and instant.utcoffset() == timedelta(0)
        assert instant > now


@settings(max_examples=300)
@given(NOWS, ZONES, HHMM)
def test_results_land_on_the_local_time_or_just_after_a_gap(now, zone, hhmm):
    tz, at = ZoneInfo(zone), requested(hhmm)
    for instant in terminals(When(now=now, tz_name=zone), hhmm):
        local = instant.astimezone(tz)
        if exists(local.date(), at, tz):
            assert local.time().replace(second=0, microsecond=0) == at
        else:
            # Inside a gap: after the gap, by the gap's length (never before it).
            wall = datetime.combine(local.date(), at)
            assert local.replace(tzinfo=None) > wall
            assert local.replace(tzinfo=None) - wall <= timedelta(hours=1)


@settings(max_examples=300)
@given(NOWS, ZONES, HHMM)
def test_ambiguous_times_take_the_earlier_instant(now, zone, hhmm):
    tz, at = ZoneInfo(zone), requested(hhmm)
    for instant in terminals(When(now=now, tz_name=zone), hhmm):
        naive = datetime.combine(instant.astimezone(tz).date(), at)
        first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
        second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
        if first != second and exists(naive.date(), at, tz):  # ambiguous
            assert instant == min(first, second)


@settings(max_examples=200)
@given(NOWS, ZONES, HHMM)
def test_if_past_now_never_goes_back_in_time(now, zone, hhmm):
    when = When(now=now, tz_name=zone).if_past("now")
    assert when.next_local(hhmm) >= now
    assert when.in_(timedelta(0)).at(hhmm) >= now


@settings(max_examples=300)
@given(NOWS, ZONES, HHMM, HHMM, HHMM)
def test_windows_only_move_forward_and_into_the_window(now, zone, hhmm, start, end):
    plain = When(now=now, tz_name=zone)
    windowed = plain.window(start, end)
    tz = ZoneInfo(zone)
    for before, after in zip(terminals(plain, hhmm), terminals(windowed, hhmm), strict=True):
        assert after >= before
        if start == end:
            assert after == before
            continue
        clock = after.astimezone(tz).time().replace(second=0, microsecond=0)
        open_, close = requested(start), requested(end)
        inside = (open_ <= clock < close) if open_ < close else (clock >= open_ or clock < close)
        # A window opening inside a DST gap opens just after it.
        assert inside or not exists(after.astimezone(tz).date(), open_, tz)


@given(NOWS, ZONES, st.sampled_from(sorted(WEEKDAYS)), HHMM)
def test_next_weekday_lands_on_that_weekday_within_a_week(now, zone, weekday, hhmm):
    instant = When(now=now, tz_name=zone).next(weekday).at(hhmm)
    local = instant.astimezone(ZoneInfo(zone))
    assert local.weekday() == WEEKDAYS[weekday]
    assert instant - now <= timedelta(days=7, hours=2)


@given(NOWS, ZONES, HHMM)
def test_tomorrow_is_the_next_local_date(now, zone, hhmm):
    tz = ZoneInfo(zone)
    instant = When(now=now, tz_name=zone).tomorrow().at(hhmm)
    assert instant.astimezone(tz).date() == now.astimezone(tz).date() + timedelta(days=1)
