"""The concierge onboarding recipe's journey and its `csm-alert` page in the harness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeys.engine import days, hours, minutes
from journeys.testing import JourneyHarness

pytestmark = pytest.mark.django_db

MON_9 = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
SIGNUP = {"plan": "enterprise", "seats": 40}
CSM_INBOX = "csm@example.com"


def harness() -> JourneyHarness:
    return JourneyHarness("concierge-onboarding", start=MON_9)


def pages(result) -> list[tuple[str, datetime]]:
    return [(e.subject, e.sent_at) for e in result.sent("transactional/csm-alert")]


def customer_mail(result) -> list[tuple[str, datetime]]:
    return [(e.template_key, e.sent_at) for e in result.sent() if e.to_email != CSM_INBOX]


def test_a_pro_signup_is_not_enterprise_and_pages_nobody():
    result = harness().run(properties={"plan": "pro"})
    assert result.skip_reason == "trigger_conditions_not_met"
    assert result.run is None and result.sent() == []


def test_the_csm_reports_contact_the_same_day_and_the_intro_names_them():
    h = harness()
    h.event("csm.contacted", at=hours(6), properties={"csm_name": "Sarah", "channel": "phone"})
    result = h.run(properties=SIGNUP)
    assert pages(result) == [("[Enterprise signup] user-1@example.com (40 seats)", MON_9)]
    (page,) = result.sent("transactional/csm-alert")
    assert page.to_email == CSM_INBOX
    assert customer_mail(result) == [("onboarding/concierge-intro", MON_9 + hours(6))]
    (intro,) = result.sent("onboarding/concierge-intro")
    assert "Sarah" in intro.text
    (requested,) = result.triggered("csm.assignment_requested")
    assert requested.properties == {"plan": "enterprise", "seats": 40, "reminder": False,
                                    "requestedAt": MON_9.isoformat()}


def test_a_silent_day_pages_again_as_a_reminder():
    h = harness()
    h.event("csm.contacted", at=days(1) + hours(5), properties={"csm_name": "Omar"})
    result = h.run(properties=SIGNUP)
    assert pages(result) == [
        ("[Enterprise signup] user-1@example.com (40 seats)", MON_9),
        ("[Reminder: Enterprise signup] user-1@example.com (40 seats)", MON_9 + days(1)),
    ]
    first, second = result.sent("transactional/csm-alert")
    assert first.idempotency_key != second.idempotency_key
    assert customer_mail(result) == [("onboarding/concierge-intro", MON_9 + days(1) + hours(5))]


def test_two_silent_days_send_the_automated_welcome_and_no_third_page():
    result = harness().run(properties=SIGNUP)
    assert len(pages(result)) == 2
    assert customer_mail(result) == [("onboarding/enterprise-welcome", MON_9 + days(2))]
    assert result.status == "completed"


def test_a_booked_meeting_exits_but_the_first_page_stands():
    h = harness()
    h.event("meeting.booked", at=hours(2))
    result = h.run(properties=SIGNUP)
    assert (result.status, result.run.exit_reason) == ("exited", "event:meeting.booked")
    assert len(pages(result)) == 1 and customer_mail(result) == []


def test_an_unsubscribed_customer_gets_no_automated_mail_but_the_csm_is_still_paged():
    h = harness()
    h.unsubscribe(at=minutes(5))
    result = h.run(properties=SIGNUP)
    assert len(pages(result)) == 2 and customer_mail(result) == []


def test_junk_seats_are_zero_and_a_missing_csm_name_has_a_fallback():
    h = harness()
    h.event("csm.contacted", at=hours(1))
    result = h.run(properties={"plan": "enterprise", "seats": "lots"})
    (requested,) = result.triggered("csm.assignment_requested")
    assert requested.properties["seats"] == 0
    (intro,) = result.sent("onboarding/concierge-intro")
    assert "your account team" in intro.text
