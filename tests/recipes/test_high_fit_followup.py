"""The agent-triggered journeys recipe, end to end through the public API.

A research agent upserts the lead and posts `lead.research_completed {score,
tier}` with an idempotency key from its own run id; `high-fit-followup`
decides who qualifies (80-100) and follows up, then nudges after a quiet week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from journeys.models import JourneyRun
from tests.recipes.helpers import advance, advance_to, identify, send_event, sent
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db

SCORED = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)  # Mon 10:00
LEAD = "una@example.com"


@pytest.fixture
def clock_start() -> datetime:
    return SCORED


def research_completed(api, *, score, key: str, tier: str = "growth") -> dict:
    """The agent's one outcome event, keyed by its own run id."""
    return send_event(api, "lead.research_completed", "u1", {"score": score, "tier": tier},
                      key=key)


@pytest.fixture
def lead(api) -> None:
    """The agent first upserts who the lead is."""
    identify(api, "u1", LEAD, properties={"company_size": 120, "industry": "logistics"})


def runs() -> list[JourneyRun]:
    return list(JourneyRun.objects.filter(journey_id="high-fit-followup").order_by("created_at"))


def test_a_high_fit_score_follows_up_at_once(api, clock, lead, mailoutbox):
    assert research_completed(api, score=85, key="research-u1-run7")["stored"] is True
    (run,) = runs()
    assert (run.status, run.current_step) == ("waiting", "await-meeting")
    (email,) = sent("sales/high-fit")
    assert (email.to_email, email.sent_at) == (LEAD, SCORED)
    assert "growth" in email.text
    (message,) = mailoutbox
    assert message.subject == "A few ideas for your team"


@pytest.mark.parametrize("score", [9000, 79])
def test_out_of_range_scores_are_stored_but_enrol_nobody(api, clock, lead, mailoutbox, score):
    assert research_completed(api, score=score, key=f"research-u1-{score}")["stored"] is True
    assert UserEvent.objects.filter(event="lead.research_completed").count() == 1
    assert runs() == [] and mailoutbox == []


def test_the_agents_retry_is_a_duplicate(api, clock, lead, mailoutbox):
    research_completed(api, score=85, key="research-u1-run7")
    again = research_completed(api, score=85, key="research-u1-run7")
    assert (again["stored"], again["exits"]) == (False, [])
    assert len(runs()) == 1 and len(mailoutbox) == 1


def test_a_rescore_within_30_days_is_stored_but_starts_nothing(api, clock, lead, mailoutbox):
    research_completed(api, score=85, key="research-u1-run7")
    advance_to(clock, SCORED + timedelta(days=10))
    assert research_completed(api, score=92, key="research-u1-run8")["stored"] is True
    assert len(runs()) == 1
    advance_to(clock, SCORED + timedelta(days=31))
    research_completed(api, score=92, key="research-u1-run9")
    assert len(runs()) == 2
    assert [e.sent_at for e in sent("sales/high-fit")] == [SCORED, SCORED + timedelta(days=31)]


def test_a_meeting_two_days_later_exits_before_the_nudge(api, clock, lead, mailoutbox):
    research_completed(api, score=85, key="research-u1-run7")
    clock.move_to(SCORED + timedelta(days=2))
    send_event(api, "meeting.created", "u1", {"source": "calendly"})
    (run,) = runs()
    assert (run.status, run.exit_reason) == ("exited", "event:meeting.created")
    advance(clock, timedelta(days=10))
    assert sent("sales/high-fit-nudge") == [] and len(mailoutbox) == 1


def test_a_quiet_week_brings_the_nudge(api, clock, lead, mailoutbox):
    identify(api, "u1", LEAD)
    research_completed(api, score=85, key="research-u1-run7")
    advance_to(clock, SCORED + timedelta(days=7) - timedelta(seconds=1))
    assert sent("sales/high-fit-nudge") == []
    advance(clock, timedelta(seconds=1))
    (nudge,) = sent("sales/high-fit-nudge")
    assert nudge.sent_at == SCORED + timedelta(days=7)
    assert runs()[0].status == "completed"
