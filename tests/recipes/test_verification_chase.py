"""The verification chase recipe, end to end through the public API.

The signup handler sends the first verify email with `POST /v1/emails`, then
posts `user.signed_up` (key `signed-up-<id>`) carrying a resend-link URL; the
app posts `user.email_verified` (key `email-verified-<id>`) when the person
clicks it. The journey sends at most two reminders, at +24 h and +72 h.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from journeys.models import JourneyRun
from tests.recipes.helpers import BROWSER, advance, advance_to, identify, send_event
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

T = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
VERA = "vera@example.com"
VERIFY_URL = "https://app.example.com/verify/resend?u=u_vera"
TEMPLATE = "transactional/verify-email"
FIRST = "Reminder: please verify your email address"
LAST = "Last reminder: verify your email to keep your account"


@pytest.fixture
def clock_start() -> datetime:
    return T


def sign_up(api) -> dict:
    """What the app's signup handler does: the first email, then the event."""
    identify(api, "u_vera", VERA)
    response = api.post("/v1/emails", {"userId": "u_vera", "template": TEMPLATE, "props": {
        "firstName": "Vera", "verifyUrl": "https://app.example.com/verify?token=t0k"}},
        format="json")
    assert response.status_code == 202, response.content
    return send_event(api, "user.signed_up", "u_vera",
                      {"verify_url": VERIFY_URL, "first_name": "Vera"}, key="signed-up-u_vera")


def verified(api) -> dict:
    return send_event(api, "user.email_verified", "u_vera", key="email-verified-u_vera")


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="verification-chase")


def reminders() -> list[tuple[str, datetime]]:
    return list(EmailSend.objects.filter(template_key=TEMPLATE, journey_id="verification-chase",
                                         sent_at__isnull=False)
                .order_by("sent_at").values_list("subject", "sent_at"))


def test_verifying_two_minutes_in_means_no_reminder_ever(api, clock, mailoutbox):
    sign_up(api)
    assert (the_run().status, the_run().current_step) == ("waiting", "await-verification")
    clock.move_to(T + timedelta(minutes=2))
    verified(api)
    assert (the_run().status, the_run().exit_reason) == ("exited", "event:user.email_verified")
    advance(clock, timedelta(days=5))
    assert the_run().status == "exited" and reminders() == []
    assert len(mailoutbox) == 1  # the signup handler's own email


def test_verifying_at_30_hours_leaves_one_reminder_at_24(api, clock, mailoutbox):
    sign_up(api)
    advance_to(clock, T + timedelta(hours=24))
    clock.move_to(T + timedelta(hours=30))
    verified(api)
    advance(clock, timedelta(days=5))
    assert reminders() == [(FIRST, T + timedelta(hours=24))]
    assert the_run().status == "exited"


def test_never_verifying_brings_reminders_at_24_and_72_hours(api, clock, mailoutbox):
    sign_up(api)
    advance_to(clock, T + timedelta(hours=24) - timedelta(seconds=1))
    assert reminders() == []
    advance_to(clock, T + timedelta(hours=24))
    advance_to(clock, T + timedelta(hours=72))
    assert reminders() == [(FIRST, T + timedelta(hours=24)), (LAST, T + timedelta(hours=72))]
    assert (the_run().status, the_run().completed_at) == ("completed", T + timedelta(hours=72))
    reminder = mailoutbox[-1]
    assert reminder.to == [VERA] and "List-Unsubscribe" in reminder.extra_headers
    advance(clock, timedelta(days=10))
    assert len(reminders()) == 2


def test_a_replayed_signup_is_a_duplicate_and_a_new_key_restarts_nothing(api, clock, mailoutbox):
    sign_up(api)
    again = send_event(api, "user.signed_up", "u_vera", {"verify_url": VERIFY_URL},
                       key="signed-up-u_vera")
    assert (again["stored"], again["exits"]) == (False, [])
    clock.move_to(T + timedelta(hours=1))
    fresh = send_event(api, "user.signed_up", "u_vera", {"verify_url": VERIFY_URL},
                       key="signed-up-u_vera-2")
    assert fresh["stored"] is True
    assert JourneyRun.objects.filter(journey_id="verification-chase").count() == 1


def test_a_global_unsubscribe_an_hour_in_stops_the_reminders(api, client, clock, mailoutbox):
    sign_up(api)
    clock.move_to(T + timedelta(hours=1))
    # The first email's header only leaves transactional mail; its preference
    # centre link is where "unsubscribe from all emails" is.
    url = re.search(r"Email preferences: (\S+)", mailoutbox[0].body).group(1)
    page = urlsplit(url)
    response = client.post(f"{page.path}?{page.query}", {"unsubscribed_all": "on"}, **BROWSER)
    assert response.status_code == 200
    advance_to(clock, T + timedelta(hours=24))
    advance_to(clock, T + timedelta(hours=72))
    assert reminders() == [] and the_run().status == "completed"


def test_deleting_the_account_at_10_hours_exits(api, clock, mailoutbox):
    sign_up(api)
    clock.move_to(T + timedelta(hours=10))
    send_event(api, "user.deleted", "u_vera", key="deleted-u_vera")
    assert (the_run().status, the_run().exit_reason) == ("exited", "event:user.deleted")
    advance(clock, timedelta(days=5))
    assert reminders() == []
