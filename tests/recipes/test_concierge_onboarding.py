"""The concierge onboarding recipe, end to end through the public API.

An enterprise signup pages customer success (`csm-alert`, alerts/concierge.py);
the CSM reports contact with one `POST /v1/events {name: "csm.contacted"}`;
silence re-pages after a day and sends the automated welcome after two.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import Alert, HandlerJob
from journeys.models import JourneyRun
from tests.recipes.helpers import (
    advance,
    advance_to,
    identify,
    mail_to,
    send_event,
    sends_to,
    sent,
)
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

MON_9 = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
TUE_9, WED_9 = MON_9 + timedelta(days=1), MON_9 + timedelta(days=2)
CUSTOMER = "cleo@example.com"
CSM_INBOX = "csm@example.com"


@pytest.fixture
def clock_start() -> datetime:
    return MON_9


@pytest.fixture
def signup(api, clock) -> None:
    identify(api, "u_cleo", CUSTOMER)
    send_event(api, "user.signed_up", "u_cleo", {"plan": "enterprise", "seats": 40})


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="concierge-onboarding")


def test_a_pro_signup_pages_nobody(api, clock, mailoutbox):
    identify(api, "u_pat", "pat@example.com")
    send_event(api, "user.signed_up", "u_pat", {"plan": "pro"})
    assert not JourneyRun.objects.filter(journey_id="concierge-onboarding").exists()
    advance(clock, timedelta(days=3))
    assert mail_to(mailoutbox, CSM_INBOX) == [] and not Alert.objects.exists()


def test_the_csm_reports_contact_and_the_customer_meets_them(api, clock, signup, mailoutbox):
    (page,) = mail_to(mailoutbox, CSM_INBOX)
    assert page.subject == f"[Enterprise signup] {CUSTOMER} (40 seats)"
    assert "u_cleo" in page.body and "csm.contacted" in page.body
    alert = Alert.objects.get()
    assert (alert.kind, alert.contact.email, alert.journey_run_id) == (
        "csm_assignment", CUSTOMER, the_run().pk)
    assert (the_run().status, the_run().current_step) == ("waiting", "await-csm")

    clock.move_to(MON_9 + timedelta(hours=6))  # Mon 15:00
    send_event(api, "csm.contacted", "u_cleo", {"csm_name": "Sarah", "channel": "phone"})

    assert sends_to(CUSTOMER) == [("onboarding/concierge-intro", MON_9 + timedelta(hours=6))]
    (intro,) = mail_to(mailoutbox, CUSTOMER)
    assert intro.subject == "Meet your onboarding contact" and "Sarah" in intro.body
    assert the_run().status == "completed"


def test_silence_re_pages_with_a_new_key_then_contact_on_tuesday(api, clock, signup, mailoutbox):
    advance_to(clock, TUE_9)
    _first, second = mail_to(mailoutbox, CSM_INBOX)
    assert second.subject == f"[Reminder: Enterprise signup] {CUSTOMER} (40 seats)"
    keys = set(EmailSend.objects.filter(to_email=CSM_INBOX).values_list("idempotency_key",
                                                                        flat=True))
    assert keys == {f"csm-alert:u_cleo:{MON_9.isoformat()}",
                    f"csm-alert:u_cleo:{TUE_9.isoformat()}"}
    assert Alert.objects.count() == 2
    clock.move_to(TUE_9 + timedelta(hours=5))  # Tue 14:00
    send_event(api, "csm.contacted", "u_cleo", {"csm_name": "Omar"})
    assert sends_to(CUSTOMER) == [("onboarding/concierge-intro", TUE_9 + timedelta(hours=5))]


def test_two_silent_days_bring_the_welcome_and_no_third_page(api, clock, signup, mailoutbox):
    advance_to(clock, TUE_9)
    advance_to(clock, WED_9 - timedelta(seconds=1))
    assert sends_to(CUSTOMER) == []
    advance(clock, timedelta(seconds=1))
    assert sends_to(CUSTOMER) == [("onboarding/enterprise-welcome", WED_9)]
    advance(clock, timedelta(days=3))
    assert len(mail_to(mailoutbox, CSM_INBOX)) == 2
    assert the_run().status == "completed"


def test_a_meeting_booked_on_monday_exits_and_the_page_stands(api, clock, signup, mailoutbox):
    clock.move_to(MON_9 + timedelta(hours=2))  # Mon 11:00
    send_event(api, "meeting.booked", "u_cleo")
    assert (the_run().status, the_run().exit_reason) == ("exited", "event:meeting.booked")
    advance(clock, timedelta(days=3))
    assert sends_to(CUSTOMER) == []
    assert len(mail_to(mailoutbox, CSM_INBOX)) == 1 and Alert.objects.count() == 1


def test_a_retried_first_page_sends_no_second_email(api, clock, signup, mailoutbox):
    # The task crashed after the provider accepted the page: it runs again.
    HandlerJob.objects.filter(handler="csm-alert").update(status="pending", claimed_until=None)
    advance(clock, timedelta(minutes=1))
    assert HandlerJob.objects.get(handler="csm-alert").status == "done"
    assert len(mail_to(mailoutbox, CSM_INBOX)) == 1
    assert EmailSend.objects.filter(to_email=CSM_INBOX).count() == 1


def test_a_report_landing_between_the_two_waits_is_caught_by_the_lookback(
    api, clock, signup, mailoutbox
):
    # The clock is late on Tuesday: the report is stored at 09:10, after the
    # first wait's deadline, and the run wakes only at 09:20.
    clock.move_to(TUE_9 + timedelta(minutes=10))
    response = api.post("/v1/events", {"name": "csm.contacted", "userId": "u_cleo",
                                       "eventProperties": {"csm_name": "Sarah"}}, format="json")
    assert response.status_code == 202
    advance_to(clock, TUE_9 + timedelta(minutes=20))
    assert len(mail_to(mailoutbox, CSM_INBOX)) == 2  # the reminder went out first
    assert sends_to(CUSTOMER) == [("onboarding/concierge-intro", TUE_9 + timedelta(minutes=20))]
    assert "Sarah" in sent("onboarding/concierge-intro")[0].text
