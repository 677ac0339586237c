"""The timezone-aware scheduling recipe, end to end through the public API.

`first-week-schedule` ships on, beside `setup-offer` on the same `trial.started`.
The contact's zone comes from its `timezone` property.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from journeys.models import JourneyRun
from tests.recipes.helpers import advance, advance_to, identify, send_event, sent

pytestmark = pytest.mark.django_db

STARTED = datetime(2026, 6, 11, 0, 0, tzinfo=UTC)  # Wed 20:00 in New York
DAY_ONE = datetime(2026, 6, 11, 12, 30, tzinfo=UTC)  # Thu 08:30 in New York
TIPS = datetime(2026, 6, 16, 13, 0, tzinfo=UTC)  # Tue 09:00 in New York
TRIAL = "tia@example.com"


@pytest.fixture
def clock_start() -> datetime:
    return STARTED


def start_trial(api, timezone: str | None) -> None:
    identify(api, "u_tia", TRIAL,
             properties={"timezone": timezone} if timezone is not None else None)
    send_event(api, "trial.started", "u_tia")


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="first-week-schedule")


def test_day_one_and_tuesday_tips_at_new_york_wall_clock_times(api, clock, mailoutbox):
    start_trial(api, "America/New_York")
    assert (the_run().status, the_run().current_step) == ("waiting", "day-1-morning")
    advance_to(clock, DAY_ONE - timedelta(seconds=1))
    assert sent("onboarding/day-one") == []
    advance(clock, timedelta(seconds=1))
    assert [e.sent_at for e in sent("onboarding/day-one")] == [DAY_ONE]
    assert the_run().current_step == "tuesday-tips"
    advance_to(clock, TIPS)
    assert [e.sent_at for e in sent("onboarding/weekly-tips")] == [TIPS]
    assert the_run().status == "completed"


@pytest.mark.parametrize("zone", [None, "Mars/Base"])
def test_without_a_usable_timezone_08_30_is_utc(api, clock, mailoutbox, zone):
    start_trial(api, zone)
    advance_to(clock, datetime(2026, 6, 12, 8, 30, tzinfo=UTC))
    (day_one,) = sent("onboarding/day-one")
    assert day_one.sent_at == datetime(2026, 6, 12, 8, 30, tzinfo=UTC)


def test_subscribing_on_monday_exits_before_the_tips(api, clock, mailoutbox):
    start_trial(api, "America/New_York")
    advance_to(clock, DAY_ONE)
    clock.move_to(datetime(2026, 6, 15, 15, 0, tzinfo=UTC))  # Monday
    send_event(api, "subscription.created", "u_tia", {"plan": "team"})
    # (setup-offer exits on the same event: with two runs exited at once the
    # engine records the reason as "exit_on" rather than the event.)
    assert the_run().status == "exited"
    advance_to(clock, TIPS + timedelta(days=1))
    assert sent("onboarding/weekly-tips") == []


def test_a_monday_evening_start_gets_its_tips_the_tuesday_after(api, clock, mailoutbox):
    clock.move_to(datetime(2026, 6, 16, 1, 0, tzinfo=UTC))  # Mon 21:00 in New York
    start_trial(api, "America/New_York")
    advance_to(clock, datetime(2026, 6, 16, 12, 30, tzinfo=UTC))  # Tue 08:30
    assert len(sent("onboarding/day-one")) == 1
    advance_to(clock, datetime(2026, 6, 16, 13, 0, tzinfo=UTC))  # Tue 09:00: too soon
    assert sent("onboarding/weekly-tips") == []
    advance_to(clock, datetime(2026, 6, 23, 13, 0, tzinfo=UTC))
    assert [e.sent_at for e in sent("onboarding/weekly-tips")] == [
        datetime(2026, 6, 23, 13, 0, tzinfo=UTC)]
