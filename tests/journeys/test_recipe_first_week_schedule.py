"""The timezone-aware scheduling recipe's journey (`first-week-schedule`) in the harness.

It ships switched on, beside setup-offer on the same `trial.started`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeys.definitions.first_week_schedule import first_week_schedule
from journeys.engine import days
from journeys.engine.when import When
from journeys.testing import JourneyHarness

pytestmark = pytest.mark.django_db

def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def schedule(result) -> list[tuple[str, datetime]]:
    return [(e.template_key, e.sent_at) for e in result.sent()]


def test_it_ships_switched_on():
    assert JourneyHarness(first_week_schedule).run().status == "completed"


def test_new_york_day_one_thursday_0830_and_tips_the_next_tuesday_0900():
    h = JourneyHarness(first_week_schedule, start=utc(2026, 6, 11, 0),  # Wed 20:00 in New York
                       contact_properties={"timezone": "America/New_York"})
    result = h.run()
    assert schedule(result) == [("onboarding/day-one", utc(2026, 6, 11, 12, 30)),
                                ("onboarding/weekly-tips", utc(2026, 6, 16, 13))]
    assert result.status == "completed"


@pytest.mark.parametrize("zone", ["", "Mars/Base"])
def test_no_usable_timezone_means_utc(zone):
    h = JourneyHarness(first_week_schedule, start=utc(2026, 6, 10, 20),
                       contact_properties={"timezone": zone} if zone else {})
    (day_one, _tips) = h.run().sent()
    assert day_one.sent_at == utc(2026, 6, 11, 8, 30)


def test_subscribing_during_the_tuesday_sleep_exits_before_the_tips():
    h = JourneyHarness(first_week_schedule, start=utc(2026, 6, 11, 0),
                       contact_properties={"timezone": "America/New_York"})
    h.event("subscription.created", at=utc(2026, 6, 15, 15))  # Monday
    result = h.run()
    assert (result.status, result.run.exit_reason) == ("exited", "event:subscription.created")
    assert schedule(result) == [("onboarding/day-one", utc(2026, 6, 11, 12, 30))]


def test_a_monday_evening_start_moves_the_tips_a_week_rather_than_30_minutes_after():
    h = JourneyHarness(first_week_schedule, start=utc(2026, 6, 16, 1),  # Mon 21:00 in New York
                       contact_properties={"timezone": "America/New_York"})
    result = h.run()
    assert schedule(result) == [("onboarding/day-one", utc(2026, 6, 16, 12, 30)),  # Tue 08:30
                                ("onboarding/weekly-tips", utc(2026, 6, 23, 13))]  # Tue 09:00


def test_an_unsubscribe_after_day_one_stops_the_tips():
    h = JourneyHarness(first_week_schedule, start=utc(2026, 6, 11, 0))
    h.unsubscribe(at=days(2))
    assert schedule(h.run()) == [("onboarding/day-one", utc(2026, 6, 12, 8, 30))]


def test_the_cookbook_rules():
    london = When(now=utc(2026, 3, 27, 12), tz_name="Europe/London")  # Fri, BST from Sunday
    assert london.next("mon").at("09:00") == utc(2026, 3, 30, 8)
    at_ten = When(now=utc(2026, 6, 15, 10), tz_name="UTC")
    assert at_ten.window("09:00", "17:00").in_(days(5)).at("18:30") == utc(2026, 6, 21, 9)
    assert at_ten.next_local("09:00") == utc(2026, 6, 16, 9)
    assert at_ten.if_past("now").next_local("09:00") == at_ten.now
