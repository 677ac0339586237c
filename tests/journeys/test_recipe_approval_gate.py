"""The human approval gate recipe's journey and its `request-approval` page in the harness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeys.definitions.approval_gate import discount_of
from journeys.engine import days, hours, minutes
from journeys.testing import JourneyHarness, run_scenarios

pytestmark = pytest.mark.django_db

MON_10 = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
APPROVER = "approver@example.com"


def harness() -> JourneyHarness:
    return JourneyHarness("human-approval-gate", start=MON_10)


def customer_mail(result) -> list[tuple[str, datetime]]:
    return [(e.template_key, e.sent_at) for e in result.sent() if e.to_email != APPROVER]


def test_an_mrr_under_500_is_skipped():
    result = harness().run(properties={"mrr": 400})
    assert result.skip_reason == "trigger_conditions_not_met" and result.sent() == []


def test_the_approver_is_asked_at_once_and_an_approval_sends_the_offer():
    h = harness()
    h.event("approval.granted", at=hours(3), properties={"approvedBy": "kim", "discountPct": 30})
    result = h.run(properties={"mrr": 800})
    (ask,) = result.sent("transactional/approval-request")
    assert (ask.to_email, ask.sent_at) == (APPROVER, MON_10)
    assert ask.subject == "[Approval needed] winback-discount for user-1@example.com"
    (requested,) = result.triggered("approval.requested")
    assert requested.properties == {"action": "winback-discount", "discountPct": 30, "mrr": 800,
                                    "requestedAt": MON_10.isoformat()}
    assert customer_mail(result) == [("winback/discount-offer", MON_10 + hours(3))]
    assert result.sent("winback/discount-offer")[0].subject == "30% off to welcome you back"


def test_the_operators_discount_is_clamped_and_defaults_to_30():
    rows = [(80, 50), (None, 30), (45, 45), ("lots", 30), (12.5, 30), (-5, 0)]

    def scenario(row):
        given, offered = row
        h = harness()
        props = {"approvedBy": "kim"} if given is None else {"discountPct": given}
        h.event("approval.granted", at=hours(1), properties=props)
        (offer,) = h.run(properties={"mrr": 800}).sent("winback/discount-offer")
        assert f"{offered}% off" in offer.text

    run_scenarios(rows, scenario)
    assert discount_of(True) == 30


def test_no_approval_in_two_days_sends_the_standard_email_and_a_late_one_changes_nothing():
    h = harness()
    h.event("approval.granted", at=days(2) + hours(1), properties={"discountPct": 30})
    result = h.run(properties={"mrr": 800})
    assert customer_mail(result) == [("winback/standard", MON_10 + days(2))]
    assert len(result.triggered("approval.granted")) == 1  # stored all the same
    assert result.status == "completed"


def test_reactivating_exits_and_the_approver_email_stands():
    h = harness()
    h.event("subscription.reactivated", at=minutes(5))
    result = h.run(properties={"mrr": 800})
    assert (result.status, result.run.exit_reason) == ("exited", "event:subscription.reactivated")
    assert customer_mail(result) == [] and len(result.sent("transactional/approval-request")) == 1


def test_an_approval_for_someone_else_does_not_resume_this_run():
    h = harness()
    h.event("approval.granted", at=hours(3), properties={"discountPct": 30}, user_id="user-2")
    result = h.run(properties={"mrr": 800})
    assert customer_mail(result) == [("winback/standard", MON_10 + days(2))]
