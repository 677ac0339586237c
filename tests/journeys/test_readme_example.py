"""The harness example printed in the README, kept honest."""

from journeys.engine import hours
from journeys.testing import JourneyHarness


def test_a_no_pages_support(db):
    h = JourneyHarness("support-followup", start="2026-06-16T14:40:00Z",
                       timezone="Europe/Berlin")
    h.event("support.followup_answered", at="2026-06-17T09:12:00Z",
            properties={"answer": "no"})
    result = h.run(properties={"ticket_id": "T-9"})

    (question,) = result.sent("support/followup")
    assert question.sent_at.isoformat() == "2026-06-17T07:00:00+00:00"  # 09:00 Berlin
    (alert,) = result.sent("transactional/support-alert")
    assert alert.subject == "[Reopen requested] #T-9 — user-1@example.com"


def test_reopened_before_the_morning_sends_nothing(db):
    h = JourneyHarness("support-followup", start="2026-06-16T14:40:00Z")
    h.event("ticket.reopened", at=hours(10))
    result = h.run(properties={"ticket_id": "T-9"})
    assert result.status == "exited" and result.sent() == []
