"""The human approval gate recipe, end to end through the public API.

An at-risk account (MRR >= 500) gets a 30 % win-back discount only once a
person approves it: `request-approval` (alerts/approvals.py) emails the
approver with approve / reject buttons; a confirmed click becomes the
customer's `approval.granted` (or `approval.rejected`), as does a
`POST /v1/events` from any other tool.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import Alert
from journeys.models import JourneyRun
from tests.recipes.helpers import (
    advance,
    advance_to,
    click,
    email_links,
    events,
    identify,
    mail_to,
    send_event,
    sends_to,
    sent,
)
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

MON_10 = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
WED_10 = MON_10 + timedelta(days=2)
CUSTOMER = "max@example.com"
APPROVER = "approver@example.com"


@pytest.fixture
def clock_start() -> datetime:
    return MON_10


@pytest.fixture
def at_risk(api, clock) -> EmailSend:
    """Max's account is at risk; returns the approver's email."""
    identify(api, "u_max", CUSTOMER)
    send_event(api, "account.at_risk", "u_max", {"mrr": 800})
    (ask,) = sent("transactional/approval-request")
    return ask


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="human-approval-gate")


def approve(api, discount: object = 30, user_id: str = "u_max") -> None:
    properties = {"approvedBy": "kim@example.com"}
    if discount is not None:
        properties["discountPct"] = discount
    send_event(api, "approval.granted", user_id, properties)


def test_an_mrr_of_400_is_skipped(api, clock, mailoutbox):
    identify(api, "u_low", "low@example.com")
    send_event(api, "account.at_risk", "u_low", {"mrr": 400})
    assert not JourneyRun.objects.exists() and mailoutbox == []


def test_the_approver_is_asked_at_once_and_an_api_approval_sends_the_offer(
    api, clock, at_risk, mailoutbox
):
    (ask,) = mail_to(mailoutbox, APPROVER)
    assert ask.subject == f"[Approval needed] winback-discount for {CUSTOMER}"
    assert at_risk.sent_at == MON_10 and "800" in at_risk.text
    assert at_risk.idempotency_key == f"approval-request:u_max:{MON_10.isoformat()}"
    assert {"Approve 30% off", "Reject"} <= set(email_links(at_risk))
    alert = Alert.objects.get()
    assert (alert.kind, alert.contact.email, alert.status) == ("approval_request", CUSTOMER,
                                                              "open")
    assert (the_run().status, the_run().current_step) == ("waiting", "await-approval")
    clock.move_to(MON_10 + timedelta(hours=3))
    approve(api, 30)
    assert sends_to(CUSTOMER) == [("winback/discount-offer", MON_10 + timedelta(hours=3))]
    assert "30% off" in sent("winback/discount-offer")[0].text


@pytest.mark.parametrize(("given", "offered"), [(80, 50), (None, 30), ("NaN", 30)])
def test_the_operators_discount_is_validated(api, clock, at_risk, given, offered):
    approve(api, given)
    (offer,) = sent("winback/discount-offer")
    assert offer.subject == f"{offered}% off to welcome you back"


def test_the_approve_button_in_the_approvers_email_sends_the_offer(
    client, clock, at_risk, mailoutbox
):
    clock.move_to(MON_10 + timedelta(hours=1))
    click(client, email_links(at_risk)["Approve 30% off"])
    advance(clock, timedelta(seconds=30))  # the click is confirmed, then relayed
    (answer,) = events("approval.answered")
    assert answer.contact.email == APPROVER  # the approver's answer...
    (granted,) = events("approval.granted")  # ...becomes the customer's approval
    assert granted.contact.email == CUSTOMER
    assert granted.properties == {"approvedBy": APPROVER, "source": "approval-email",
                                  "requestedAt": MON_10.isoformat(), "discountPct": 30}
    confirmed = MON_10 + timedelta(hours=1, seconds=30)
    assert sends_to(CUSTOMER) == [("winback/discount-offer", confirmed)]
    alert = Alert.objects.get()
    assert (alert.status, alert.resolved_by) == ("resolved", APPROVER)


def test_the_reject_button_records_the_decision_and_the_standard_email_follows(
    client, clock, at_risk, mailoutbox
):
    clock.move_to(MON_10 + timedelta(hours=1))
    click(client, email_links(at_risk)["Reject"])
    advance(clock, timedelta(seconds=30))
    (rejected,) = events("approval.rejected")
    assert (rejected.contact.email, rejected.properties["rejectedBy"]) == (CUSTOMER, APPROVER)
    assert events("approval.granted") == [] and Alert.objects.get().status == "resolved"
    # A change of mind in the same email is not a second decision.
    clock.move_to(MON_10 + timedelta(hours=2))
    click(client, email_links(at_risk)["Approve 30% off"])
    advance(clock, timedelta(seconds=30))
    advance_to(clock, WED_10)
    assert sends_to(CUSTOMER) == [("winback/standard", WED_10)]


def test_a_posted_answer_event_is_not_a_decision(api, clock, at_risk, mailoutbox):
    send_event(api, "approval.answered", "u_max",
               {"decision": "approve", "emailSendId": str(at_risk.pk)})
    advance_to(clock, WED_10)
    assert events("approval.granted") == []
    assert sends_to(CUSTOMER) == [("winback/standard", WED_10)]


def test_no_approval_by_wednesday_sends_the_standard_email_and_a_late_one_is_stored(
    api, clock, at_risk, mailoutbox
):
    advance_to(clock, WED_10 - timedelta(seconds=1))
    assert sends_to(CUSTOMER) == []
    advance(clock, timedelta(seconds=1))
    assert sends_to(CUSTOMER) == [("winback/standard", WED_10)]
    clock.move_to(WED_10 + timedelta(hours=1))
    approve(api, 30)
    advance(clock, timedelta(days=1))
    assert len(events("approval.granted")) == 1
    assert sends_to(CUSTOMER) == [("winback/standard", WED_10)]


def test_reactivating_exits_and_the_approver_email_stands(api, clock, at_risk, mailoutbox):
    clock.move_to(MON_10 + timedelta(minutes=5))
    send_event(api, "subscription.reactivated", "u_max")
    assert (the_run().status, the_run().exit_reason) == ("exited",
                                                         "event:subscription.reactivated")
    advance(clock, timedelta(days=3))
    assert sends_to(CUSTOMER) == [] and len(mail_to(mailoutbox, APPROVER)) == 1


def test_an_approval_for_another_user_does_not_resume_this_run(api, clock, at_risk, mailoutbox):
    identify(api, "u_other", "other@example.com")
    approve(api, 30, user_id="u_other")
    assert (the_run().status, the_run().current_step) == ("waiting", "await-approval")
    advance_to(clock, WED_10)
    assert sends_to(CUSTOMER) == [("winback/standard", WED_10)]
