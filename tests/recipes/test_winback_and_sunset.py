"""The win-back and sunset recipe: people who went quiet for 30 days join the
`dormant-30d` bucket, get a win-back email, then "Still want to hear from us?";
silence or "no" unsubscribes them (audited), a return ends it all at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from buckets.models import BucketMembership
from contacts.models import Contact, EmailPreference, PreferenceChange
from journeys.models import JourneyRun
from tests.recipes.helpers import (
    advance,
    advance_to,
    answer_page,
    email_links,
    events,
    identify,
    run_due,
    send_event,
    sent,
)

pytestmark = pytest.mark.django_db

LAST_ACTIVE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DORMANT = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # 30 days after the last app.active
ADA = "ada@example.com"


@pytest.fixture
def clock_start() -> datetime:
    return LAST_ACTIVE


@pytest.fixture
def active_once(api, clock) -> str:
    identify(api, "u_ada", ADA)
    send_event(api, "app.active", "u_ada")
    return "u_ada"


def membership() -> BucketMembership | None:
    return BucketMembership.objects.filter(bucket_id="dormant-30d").first()


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="winback-and-sunset")


def unsubscribed_all() -> bool:
    return EmailPreference.objects.filter(email=ADA, unsubscribed_all=True).exists()


def winback_sent(clock) -> None:
    advance_to(clock, DORMANT)
    assert len(sent("retention/winback")) == 1


def repermission_sent(clock):
    winback_sent(clock)
    advance(clock, timedelta(days=7))
    (email,) = sent("retention/re-permission")
    return email


def test_someone_quiet_for_30_days_joins_the_bucket_on_the_sweep_and_gets_the_winback(
        active_once, clock, mailoutbox):
    advance_to(clock, DORMANT - timedelta(seconds=1))
    assert membership() is None
    assert sent("retention/winback") == []

    advance(clock, timedelta(seconds=1))

    row = membership()
    assert (row.status, row.source, row.entered_at, row.entry_count) == (
        "active", "reconcile", DORMANT, 1)
    (entered,) = events("bucket:entered:dormant-30d")
    assert entered.user_key == "u_ada"
    assert entered.properties["bucketId"] == "dormant-30d"
    (email,) = sent("retention/winback")
    assert (email.to_email, email.sent_at, email.journey_run_id) == (ADA, DORMANT,
                                                                      the_run().pk)
    (message,) = [m for m in mailoutbox if m.subject == "We've missed you"]
    assert message.to == [ADA]
    run = the_run()
    assert (run.status, run.current_step) == ("waiting", "post-winback")


def test_a_signup_who_was_never_active_never_joins_and_gets_no_winback(api, clock):
    identify(api, "u_new", "new@example.com")
    send_event(api, "page.viewed", "u_new")
    advance(clock, timedelta(days=45))
    advance(clock, timedelta(days=45))

    assert not BucketMembership.objects.exists()
    assert events("bucket:entered:dormant-30d") == []
    assert not JourneyRun.objects.filter(journey_id="winback-and-sunset").exists()
    assert sent("retention/winback") == []


def test_coming_back_mid_flow_leaves_the_bucket_at_once_exits_the_run_and_sends_nothing_more(
        api, active_once, clock):
    winback_sent(clock)
    clock.shift(timedelta(days=3))

    send_event(api, "app.active", "u_ada")

    row = membership()
    assert (row.status, row.source, row.leave_reason) == ("left", "event", "criteria")
    assert row.left_at == DORMANT + timedelta(days=3)
    assert len(events("bucket:left:dormant-30d")) == 1
    run = the_run()
    assert run.status == "exited"
    advance(clock, timedelta(days=20))
    assert sent("retention/re-permission") == []
    assert not unsubscribed_all()
    assert not PreferenceChange.objects.exists()


def test_after_a_quiet_week_the_question_asks_still_want_to_hear_from_us(active_once, clock):
    winback_sent(clock)
    advance(clock, timedelta(days=7) - timedelta(seconds=1))
    assert sent("retention/re-permission") == []

    advance(clock, timedelta(seconds=1))

    (email,) = sent("retention/re-permission")
    assert email.subject == "Still want to hear from us?"
    assert email.sent_at == DORMANT + timedelta(days=7)
    assert {"Yes, keep me on the list", "No, unsubscribe me"} <= set(email_links(email))
    run = the_run()
    assert (run.status, run.current_step) == ("waiting", "await-repermission")


def test_yes_keeps_them_subscribed_and_ends_the_run(active_once, client, clock):
    email = repermission_sent(clock)
    clock.shift(timedelta(days=1))
    answer_page(client, email_links(email)["Yes, keep me on the list"])
    advance(clock, timedelta(seconds=30))  # the answer is confirmed

    (answer,) = events("repermission.answered")
    assert answer.properties["answer"] == "stay"
    assert the_run().status == "completed"
    advance(clock, timedelta(days=20))
    assert not unsubscribed_all()
    assert not PreferenceChange.objects.exists()


def test_silence_until_the_timeout_becomes_an_audited_unsubscribe(api, active_once, clock):
    repermission_sent(clock)
    advance(clock, timedelta(days=10) - timedelta(seconds=1))
    assert not unsubscribed_all()

    advance(clock, timedelta(seconds=1))

    assert unsubscribed_all()
    (change,) = PreferenceChange.objects.all()
    assert (change.source, change.actor) == ("journey", "winback-and-sunset")
    assert change.changes == {"unsubscribed_all": [False, True]}
    assert change.contact == Contact.objects.get(external_id="u_ada")
    run = the_run()
    assert run.status == "completed"
    assert run.logs.filter(action="checkpoint", to_step="sunset-applied").exists()
    later = api.post("/v1/emails", {"to": ADA, "template": "support/followup"}, format="json")
    assert later.json()["status"] == "unsubscribed"


def test_no_unsubscribes_them_as_soon_as_the_answer_is_confirmed(active_once, client, clock):
    email = repermission_sent(clock)
    clock.shift(timedelta(hours=5))
    answer_page(client, email_links(email)["No, unsubscribe me"])
    advance(clock, timedelta(seconds=30))

    assert unsubscribed_all()
    (change,) = PreferenceChange.objects.all()
    assert (change.source, change.actor) == ("journey", "winback-and-sunset")
    assert the_run().status == "completed"


def test_going_dormant_again_within_180_days_of_the_last_run_sends_no_second_winback(
        api, active_once, client, clock):
    email = repermission_sent(clock)
    clock.shift(timedelta(days=1))
    answer_page(client, email_links(email)["Yes, keep me on the list"])
    advance(clock, timedelta(seconds=30))
    clock.shift(timedelta(days=10))
    send_event(api, "app.active", "u_ada")
    assert membership().status == "left"

    advance(clock, timedelta(days=30))  # quiet for 30 days again, 48 days after the first run

    row = membership()
    assert (row.status, row.entry_count) == ("active", 2)
    assert len(events("bucket:entered:dormant-30d")) == 2
    assert JourneyRun.objects.filter(journey_id="winback-and-sunset").count() == 1
    assert len(sent("retention/winback")) == 1
    run_due()
    assert len(sent("retention/winback")) == 1
