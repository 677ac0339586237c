"""`ctx.when`: wall-clock rules, DST gaps and overlaps, windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeys.engine import days
from journeys.engine.when import When


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_tomorrow_at_nine_in_prague_across_the_spring_change():
    when = When(now=at(2026, 3, 28, 12), tz_name="Europe/Prague")
    assert when.tomorrow().at("09:00") == at(2026, 3, 29, 7)


def test_next_monday_in_london_after_the_clocks_go_forward():
    when = When(now=at(2026, 3, 27, 12), tz_name="Europe/London")
    assert when.next("mon").at("09:00") == at(2026, 3, 30, 8)


def test_a_time_in_the_spring_gap_lands_after_the_gap():
    when = When(now=at(2026, 3, 7, 12), tz_name="America/New_York")
    assert when.tomorrow().at("02:30") == at(2026, 3, 8, 7, 30)  # 03:30 EDT


def test_an_ambiguous_autumn_time_takes_the_earlier_instant():
    when = When(now=at(2026, 10, 31, 12), tz_name="America/New_York")
    assert when.tomorrow().at("01:30") == at(2026, 11, 1, 5, 30)  # 01:30 EDT


def test_the_timezone_recipe_day_one_and_tuesday_tips():
    evening = When(now=at(2026, 6, 11, 0), tz_name="America/New_York")  # Wed 20:00 NY
    day_one = evening.tomorrow().at("08:30")
    assert day_one == at(2026, 6, 11, 12, 30)
    tips = When(now=day_one, tz_name="America/New_York").window("09:00", "17:00")
    assert tips.next("tue").at("09:00") == at(2026, 6, 16, 13)


def test_next_weekday_today_before_the_time_is_today_and_after_is_next_week():
    tuesday_morning = When(now=at(2026, 6, 16, 12), tz_name="America/New_York")  # 08:00 NY
    assert tuesday_morning.next("tuesday").at("09:00") == at(2026, 6, 16, 13)
    tuesday_noon = When(now=at(2026, 6, 16, 16), tz_name="America/New_York")
    assert tuesday_noon.next("TUE").at("09:00") == at(2026, 6, 23, 13)


def test_a_window_moves_an_evening_instant_to_the_next_opening():
    when = When(now=at(2026, 6, 1, 10), tz_name="UTC").window("09:00", "17:00")
    assert when.in_(days(5)).at("18:30") == at(2026, 6, 7, 9)


def test_an_overnight_window_is_open_past_midnight_and_closed_by_day():
    when = When(now=at(2026, 6, 1, 10), tz_name="UTC").window("22:00", "06:00")
    assert when.tomorrow().at("03:00") == at(2026, 6, 2, 3)
    assert when.tomorrow().at("12:00") == at(2026, 6, 2, 22)


def test_next_local_rolls_to_tomorrow_once_passed_unless_if_past_now():
    when = When(now=at(2026, 6, 1, 10), tz_name="UTC")
    assert when.next_local("09:00") == at(2026, 6, 2, 9)
    assert when.next_local("11:00") == at(2026, 6, 1, 11)
    assert when.if_past("now").next_local("09:00") == at(2026, 6, 1, 10)


def test_bad_inputs_raise_type_errors():
    when = When(now=at(2026, 6, 1, 10), tz_name="UTC")
    with pytest.raises(TypeError):
        when.tz("Mars/Base")
    with pytest.raises(TypeError):
        when.tomorrow().at("24:00")
    with pytest.raises(TypeError):
        when.next("someday")
    with pytest.raises(TypeError):
        when.if_past("later")
