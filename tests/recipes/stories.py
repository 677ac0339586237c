"""Whole stories, produced through the public paths, for the console's page tests.

The support follow-up as a customer lives it: ticket T-9 resolved on Tuesday
at 16:40 in Berlin, "Did that fix it?" at 09:00 the next morning, opened an
hour later, "No, still broken" tapped at 11:00 with a note, support paged
three minutes after the answer was confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.test import Client
from rest_framework.test import APIClient

from alerts.models import Alert
from journeys.models import JourneyRun
from tests.recipes.helpers import (
    BROWSER,
    advance,
    advance_to,
    answer_page,
    comment,
    email_links,
    identify,
    send_event,
    sent,
)
from tracking.models import EmailSend

RESOLVED = datetime(2026, 6, 16, 14, 40, tzinfo=UTC)  # Tue 16:40 in Berlin
MORNING = datetime(2026, 6, 17, 7, 0, tzinfo=UTC)  # Wed 09:00 in Berlin
OPENED = MORNING + timedelta(hours=1)  # 10:00 in Berlin
ANSWERED = MORNING + timedelta(hours=2)  # 11:00 in Berlin
NOTE = ("Still crashes when I export to PDF.\n"
        "It happens on every report with more than 20 pages; the small ones are fine. "
        "I tried Chrome and Firefox, cleared the cache and logged in again: same thing. "
        "The error says 'renderer stopped' and the export spinner never ends. "
        "Our board meeting is on Friday, so a workaround would already help a lot.")


@dataclass
class SupportStory:
    run: JourneyRun
    question: EmailSend
    alert: Alert


def resolved_ticket(api: APIClient) -> None:
    """Ada (Berlin) exists; her ticket T-9 is resolved now."""
    identify(api, "u_ada", "ada@example.com", timezone="Europe/Berlin")
    send_event(api, "ticket.resolved", "u_ada", {"ticket_id": "T-9"})


def support_story(api: APIClient, client: Client, clock: object) -> SupportStory:
    """The whole story, ending three minutes after the answer (`clock` starts at RESOLVED)."""
    resolved_ticket(api)
    advance_to(clock, MORNING)
    (question,) = sent("support/followup")
    clock.move_to(OPENED)
    client.get(f"/v1/t/o/{question.pk}", **BROWSER)
    clock.move_to(ANSWERED)
    page = answer_page(client, email_links(question)["No, still broken"])
    clock.shift(timedelta(seconds=20))
    comment(client, page, NOTE)
    advance(clock, timedelta(seconds=10))  # the answer is confirmed 30 s after the tap
    advance(clock, timedelta(minutes=3))  # the grace window for a note, then the page
    question.refresh_from_db()
    return SupportStory(run=JourneyRun.objects.get(journey_id="support-followup"),
                        question=question, alert=Alert.objects.get(kind="reopen_requested"))
