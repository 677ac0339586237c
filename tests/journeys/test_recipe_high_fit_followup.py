"""The agent-triggered recipe's journey (`high-fit-followup`) in the harness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeys.engine import days
from journeys.testing import JourneyHarness, run_scenarios

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def harness(**kwargs) -> JourneyHarness:
    return JourneyHarness("high-fit-followup", start=START, **kwargs)


def test_a_high_score_sends_the_follow_up_at_once_with_the_tier():
    result = harness().run(properties={"score": 85, "tier": "growth"})
    (email,) = result.sent("sales/high-fit")
    assert email.sent_at == START
    assert "growth" in email.text
    assert "await-meeting" in result.steps  # the week a meeting is awaited


def test_only_scores_from_80_to_100_enrol():
    rows = [(79, False), (80, True), (85, True), (100, True), (101, False), (9000, False),
            ("85", False), (None, False)]

    def scenario(row):
        score, enrols = row
        result = harness().run(properties={"score": score, "tier": "growth"})
        assert result.enrolled is enrols
        if not enrols:
            assert result.skip_reason == "trigger_conditions_not_met"
            assert result.run is None and result.sent() == []

    run_scenarios(rows, scenario)


def test_a_meeting_within_the_week_exits_without_the_nudge():
    h = harness()
    h.event("meeting.created", at=days(2))
    result = h.run(properties={"score": 92, "tier": "enterprise"})
    assert (result.status, result.run.exit_reason) == ("exited", "event:meeting.created")
    assert [e.template_key for e in result.sent()] == ["sales/high-fit"]


def test_no_meeting_in_seven_days_brings_one_nudge():
    result = harness().run(properties={"score": 92, "tier": "enterprise"})
    assert [(e.template_key, e.sent_at) for e in result.sent()] == [
        ("sales/high-fit", START),
        ("sales/high-fit-nudge", START + days(7)),
    ]
    assert result.status == "completed"


def test_an_unsubscribe_during_the_week_stops_the_nudge():
    h = harness()
    h.unsubscribe(at=days(3))
    result = h.run(properties={"score": 92})
    assert [e.template_key for e in result.sent()] == ["sales/high-fit"]
    assert result.status == "completed"


def test_a_rescore_within_30_days_is_not_a_new_run_after_that_it_is():
    h = harness()
    assert h.entry_check(properties={"score": 92},
                         latest_run=("completed", START - days(10))) == "period_not_elapsed"
    assert h.entry_check(properties={"score": 92}, latest_run=("completed", START - days(31))) \
        is None
