"""The trial expiring recipe: a trial with 3 days or fewer left joins the
`trial-expiring-soon` bucket in real time and gets a reminder, then 20 % off if
no subscription follows within 2 days; the bucket's 14-day time box and its
`once` entry limit keep it to one reminder per trial."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from buckets.models import BucketMembership
from journeys.models import JourneyRun
from tests.recipes.helpers import advance, events, identify, run_due, send_event, sent

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
ADA = "ada@example.com"
TRIAL = {"plan": "trial", "trial_days_left": 3, "converted": False}


@pytest.fixture
def clock_start() -> datetime:
    return START


def upsert(api, properties: dict) -> None:
    identify(api, "u_ada", ADA, properties=properties)
    run_due()


def membership() -> BucketMembership:
    return BucketMembership.objects.get(bucket_id="trial-expiring-soon")


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="trial-expiring")


def test_a_trial_with_three_days_left_joins_in_real_time_and_gets_the_reminder(api, clock):
    upsert(api, TRIAL)

    row = membership()
    assert (row.status, row.source, row.entered_at) == ("active", "event", START)
    assert row.snapshot == {"converted": False, "plan": "trial", "trial_days_left": 3}
    (entered,) = events("bucket:entered:trial-expiring-soon")
    assert entered.properties["trial_days_left"] == 3
    (email,) = sent("lifecycle/trial-expiring")
    assert (email.to_email, email.subject, email.sent_at) == (
        ADA, "Your trial ends in 3 days", START)
    assert "3 days" in email.text and "% off" not in email.text
    assert (the_run().status, the_run().current_step) == ("waiting", "await-upgrade")


def test_a_trial_with_more_days_left_does_not_join(api, clock):
    upsert(api, {**TRIAL, "trial_days_left": 9})
    assert not BucketMembership.objects.exists()
    assert sent("lifecycle/trial-expiring") == []


def test_no_subscription_within_48_hours_brings_the_20_percent_offer(api, clock):
    upsert(api, TRIAL)
    advance(clock, timedelta(days=2) - timedelta(seconds=1))
    assert len(sent("lifecycle/trial-expiring")) == 1

    advance(clock, timedelta(seconds=1))

    _first, last = sent("lifecycle/trial-expiring")
    assert last.sent_at == START + timedelta(days=2)
    assert last.subject == "Your trial has ended: 20% off if you upgrade now"
    assert "20% off" in last.text
    assert the_run().status == "completed"


def test_converting_mid_wait_leaves_the_bucket_at_once_and_stops_the_offer(api, clock):
    upsert(api, TRIAL)
    clock.shift(timedelta(hours=20))

    send_event(api, "app.active", "u_ada")  # no change to the trial: still a member
    assert membership().status == "active"
    response = api.post("/v1/events", {"name": "checkout.completed", "userId": "u_ada",
                                       "contactProperties": {"converted": True}}, format="json")
    assert response.status_code == 202
    run_due()

    row = membership()
    assert (row.status, row.source, row.leave_reason) == ("left", "event", "criteria")
    assert len(events("bucket:left:trial-expiring-soon")) == 1
    assert the_run().status == "exited"
    advance(clock, timedelta(days=3))
    assert len(sent("lifecycle/trial-expiring")) == 1


def test_a_subscription_mid_wait_ends_the_run_without_the_offer(api, clock):
    upsert(api, TRIAL)
    clock.shift(timedelta(hours=30))
    send_event(api, "subscription.created", "u_ada")

    assert the_run().status == "exited"
    advance(clock, timedelta(days=3))
    assert len(sent("lifecycle/trial-expiring")) == 1


def test_after_14_days_the_time_box_removes_a_member_who_still_matches_and_never_reenters(
        api, clock):
    upsert(api, TRIAL)
    advance(clock, timedelta(days=14) - timedelta(seconds=1))
    assert membership().status == "active"

    advance(clock, timedelta(seconds=1))

    row = membership()
    assert (row.status, row.leave_reason, row.source) == ("left", "max_dwell", "reconcile")
    assert row.left_at == START + timedelta(days=14)
    (left,) = events("bucket:left:trial-expiring-soon")
    assert left.properties["reason"] == "max_dwell"

    # Still a trial: held out while matching; once out of it and back, the row
    # advances but `once` emits no second entered event and sends nothing.
    upsert(api, {**TRIAL, "trial_days_left": 2})
    assert membership().status == "left"
    upsert(api, {**TRIAL, "trial_days_left": 10})
    upsert(api, {**TRIAL, "trial_days_left": 1})
    row = membership()
    assert (row.status, row.entry_count) == ("active", 2)
    assert len(events("bucket:entered:trial-expiring-soon")) == 1
    assert JourneyRun.objects.filter(journey_id="trial-expiring").count() == 1
    assert len(sent("lifecycle/trial-expiring")) == 2
