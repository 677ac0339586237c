"""End to end: Zendesk's own webhooks drive the support follow-up, with no glue code.

The agent marks the ticket solved in Zendesk; Zendesk's signed trigger webhook
starts the journey, and the question goes out at 09:00 the next morning in the
customer's timezone. A reopened ticket's webhook ends the run before that.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from journeys.models import JourneyRun
from tests.recipes.helpers import advance_to, identify, run_due, sent
from tests.sources import vendors
from tests.sources.vendors import post, raw

pytestmark = pytest.mark.django_db

SOLVED_AT = datetime(2026, 6, 16, 14, 40, tzinfo=UTC)  # Tue 16:40 in Berlin
MORNING = datetime(2026, 6, 17, 7, 0, tzinfo=UTC)  # Wed 09:00 in Berlin


@pytest.fixture
def clock_start() -> datetime:
    return SOLVED_AT


@pytest.fixture
def customer(api) -> None:
    identify(api, "u_ada", "ada@example.com", timezone="Europe/Berlin")


def zendesk_webhook(client, event: str) -> None:
    """What Zendesk sends when the README's trigger fires (placeholders rendered)."""
    body = raw({
        "event": event,
        "ticket": {"id": "35436", "status": "Solved" if event == "ticket.resolved" else "Open",
                   "updated_at": vendors.now().strftime("%Y-%m-%dT%H:%MZ")},
        "requester": {"id": "8447388090494", "email": "ada@example.com", "external_id": "u_ada"},
    })
    response = post(client, "zendesk", body, vendors.zendesk(body))
    assert response.status_code == 200, response.content
    run_due()


def test_a_solved_ticket_in_zendesk_asks_the_customer_the_next_morning(client, clock, customer,
                                                                       mailoutbox):
    zendesk_webhook(client, "ticket.resolved")

    run = JourneyRun.objects.get(journey_id="support-followup")
    assert (run.status, run.current_step, run.wake_at) == ("waiting", "next-morning", MORNING)
    advance_to(clock, MORNING)
    (email,) = sent("support/followup")
    assert (email.to_email, email.sent_at) == ("ada@example.com", MORNING)
    assert "35436" in email.text


def test_a_ticket_reopened_in_zendesk_ends_the_run_before_the_question(client, clock, customer,
                                                                      mailoutbox):
    zendesk_webhook(client, "ticket.resolved")
    clock.move_to(MORNING - timedelta(hours=1))  # Wed 08:00 in Berlin

    zendesk_webhook(client, "ticket.reopened")

    run = JourneyRun.objects.get(journey_id="support-followup")
    assert run.status == "exited"
    advance_to(clock, MORNING + timedelta(hours=1))
    assert sent("support/followup") == [] and mailoutbox == []
