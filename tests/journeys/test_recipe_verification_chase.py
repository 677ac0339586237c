"""The verification-chase recipe's journey in the harness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeys.engine import days, hours, minutes
from journeys.testing import JourneyHarness

pytestmark = pytest.mark.django_db

T = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
SIGNUP = {"verify_url": "https://app.example.com/verify/resend?u=u1", "first_name": "Vera"}


def harness() -> JourneyHarness:
    return JourneyHarness("verification-chase", start=T)


def reminders(result) -> list[tuple[str, datetime]]:
    return [(e.subject, e.sent_at) for e in result.sent("transactional/verify-email")]


def test_verifying_two_minutes_after_signup_sends_no_reminder():
    h = harness()
    h.event("user.email_verified", at=minutes(2))
    result = h.run(properties=SIGNUP)
    assert (result.status, result.run.exit_reason) == ("exited", "event:user.email_verified")
    assert result.sent() == []


def test_a_verification_stored_just_before_the_signup_event_ends_the_run_quietly():
    h = harness()
    h.event("user.email_verified", at=T - minutes(1))
    result = h.run(properties=SIGNUP)
    assert result.status == "completed" and result.sent() == []


def test_verifying_at_30_hours_leaves_exactly_the_first_reminder():
    h = harness()
    h.event("user.email_verified", at=hours(30))
    result = h.run(properties=SIGNUP)
    assert reminders(result) == [("Reminder: please verify your email address", T + hours(24))]
    assert result.status == "exited"


def test_never_verifying_brings_two_reminders_then_the_run_completes():
    result = harness().run(properties=SIGNUP)
    assert reminders(result) == [
        ("Reminder: please verify your email address", T + hours(24)),
        ("Last reminder: verify your email to keep your account", T + hours(72)),
    ]
    (first, _) = result.sent()
    assert "/v1/t/c/" in first.html  # the button is a tracked link
    assert "Hi Vera," in first.text and first.category == "journey"
    assert result.status == "completed" and result.run.completed_at == T + hours(72)


def test_an_unsubscribe_an_hour_in_stops_both_reminders():
    h = harness()
    h.unsubscribe(at=hours(1))
    result = h.run(properties=SIGNUP)
    assert result.sent() == [] and result.status == "completed"


def test_deleting_the_account_exits_the_chase():
    h = harness()
    h.event("user.deleted", at=hours(10))
    result = h.run(properties=SIGNUP)
    assert (result.status, result.run.exit_reason) == ("exited", "event:user.deleted")
    assert result.sent() == []


def test_a_signup_without_a_usable_verify_url_sends_nothing():
    result = harness().run(properties={"verify_url": "javascript:alert(1)"})
    assert result.sent() == [] and result.status == "completed"
    assert "no-verify-url" in [log.to_step for log in result.timeline]


def test_a_second_signup_is_refused_once_entered():
    h = harness()
    assert h.entry_check(latest_run=("completed", T - days(3))) == "already_entered_once"
