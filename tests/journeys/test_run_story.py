"""The run page tells the run's story in sentences, every time naming its zone,
with the engine's own records behind a "Technical details" fold."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from django.urls import reverse
from django.utils.html import escape

from journeys.models import JourneyRun
from tests.recipes.helpers import advance_to
from tests.recipes.stories import (
    MORNING,
    NOTE,
    RESOLVED,
    SupportStory,
    resolved_ticket,
    support_story,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock_start() -> datetime:
    return RESOLVED


@pytest.fixture
def story(api, client, clock, mailoutbox) -> SupportStory:
    return support_story(api, client, clock)


def run_page(client, run: JourneyRun) -> str:
    response = client.get(reverse("admin:journeys_journeyrun_change", args=[run.pk]))
    assert response.status_code == 200
    return response.content.decode()


def story_items(html: str) -> list[str]:
    """The story's sentences, tags stripped, in page order."""
    block = html[html.index('id="run-story"'):html.index('id="technical-details"')]
    items = re.findall(r"<li>(.*?)</li>", block, re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in items]


def split_fold(html: str) -> tuple[str, str]:
    """(the page outside the technical fold, the fold itself)."""
    start = html.index('<details class="hs-technical"')
    end = html.rindex("</details>") + len("</details>")
    return html[:start] + html[end:], html[start:end]


def test_the_run_page_tells_the_story_from_the_resolved_ticket_to_the_support_page(
        support_client, story):
    html = run_page(support_client, story.run)
    sentences = story_items(html)
    assert sentences == [
        "Entered on Tue 16 Jun 2026, 14:40 UTC (16:40 in Berlin) when ticket T-9 was resolved. "
        "ticket.resolved",
        "Waited until 09:00 in Berlin (Wed 17 Jun 2026, 07:00 UTC). sleep · next-morning",
        "Sent “Did that fix it?” to ada@example.com on Wed 17 Jun 2026, 07:00 UTC "
        "(09:00 in Berlin); opened 08:00 UTC, clicked 09:00 UTC. send · support/followup",
        "ada@example.com answered “No, still broken” on Wed 17 Jun 2026, 09:00 UTC "
        f"(11:00 in Berlin) and wrote: {escape(' '.join(NOTE.split()))}. "
        "support.followup_answered",
        "Raised “Reopen requested”. support.reopen_requested",
        "Finished on Wed 17 Jun 2026, 09:00 UTC (11:00 in Berlin).",
        "Support paged on Wed 17 Jun 2026, 09:03 UTC (11:03 in Berlin): "
        "Reopen requested: #T-9 — ada@example.com (open). reopen_requested",
    ]
    assert "<strong>Finished on Wed 17 Jun 2026, 09:00 UTC (11:00 in Berlin)</strong>" in html


def test_the_story_links_the_trigger_the_email_the_answer_and_the_alert(support_client, story):
    html = run_page(support_client, story.run)
    trigger = story.run.trigger_event
    links = {
        reverse("admin:tracking_userevent_change", args=[trigger.pk]): "ticket T-9 was resolved",
        reverse("admin:tracking_emailsend_change", args=[story.question.pk]):
            "“Did that fix it?”",
        reverse("admin:alerts_alert_change", args=[story.alert.pk]):
            "Reopen requested: #T-9 — ada@example.com",
    }
    block = html[html.index('id="run-story"'):html.index('id="technical-details"')]
    for url, text in links.items():
        assert f'<a href="{url}">{text}</a>' in block, url
    assert re.search(r'answered <a href="/admin/tracking/userevent/\d+/change/">“No, still '
                     r'broken”</a>', block)


def test_the_customers_note_is_on_the_run_page_in_full(support_client, story):
    html = run_page(support_client, story.run)
    assert f'<q class="hs-note">{escape(NOTE)}</q>' in html


def test_the_step_journal_claim_times_and_hashes_sit_behind_the_technical_details_fold(
        support_client, story):
    html = run_page(support_client, story.run)
    outside, fold = split_fold(html)
    assert "<summary>Technical details" in fold
    for technical in ("guard:is-subscribed#1", "Claimed until", "Version hash",
                      story.run.version_hash, "Step journal", "<iframe sandbox srcdoc="):
        assert technical in fold, technical
        assert technical not in outside, technical
    # The people's part stays outside the fold.
    assert 'id="run-story"' in outside and "Where it is" in outside


def test_the_technical_tables_label_events_with_the_raw_name_small_beside(support_client, story):
    _, fold = split_fold(run_page(support_client, story.run))
    assert re.search(r"Answered: No, still broken <small><a href=\"[^\"]+\">"
                     r"support\.followup_answered #\d+</a></small>", fold)
    assert re.search(r"Ticket resolved <small><a href=\"[^\"]+\">ticket\.resolved #\d+</a>", fold)
    assert "2026-06-16 14:40:00 UTC" in fold  # table times name their zone too


def test_times_follow_the_staff_zone_with_the_customers_beside_only_when_it_differs(
        support_client, story, settings):
    settings.STAFF_TIME_ZONE = "America/New_York"
    sentences = story_items(run_page(support_client, story.run))
    assert sentences[0].startswith(
        "Entered on Tue 16 Jun 2026, 10:40 EDT (16:40 in Berlin) when ticket T-9 was resolved.")
    assert sentences[1].startswith("Waited until 09:00 in Berlin (Wed 17 Jun 2026, 03:00 EDT).")

    settings.STAFF_TIME_ZONE = "Europe/Prague"  # the same clock as Berlin: nothing beside
    html = run_page(support_client, story.run)
    sentences = story_items(html)
    assert sentences[0].startswith(
        "Entered on Tue 16 Jun 2026, 16:40 CEST when ticket T-9 was resolved.")
    assert sentences[1].startswith("Waited until Wed 17 Jun 2026, 09:00 CEST.")
    assert "Times are Europe/Prague" in html


def test_a_sleeping_run_says_it_waits_until_nine_in_the_customers_city(
        support_client, api, clock, mailoutbox):
    resolved_ticket(api)
    run = JourneyRun.objects.get(journey_id="support-followup")
    html = run_page(support_client, run)
    assert ("<strong>Waiting until 09:00 in Berlin (Wed 17 Jun 2026, 07:00 UTC)</strong>"
            in html)
    assert story_items(html)[1].startswith(
        "Sleeping until 09:00 in Berlin (Wed 17 Jun 2026, 07:00 UTC).")


def test_a_run_waiting_for_the_answer_names_the_event_in_words(
        support_client, api, client, clock, mailoutbox):
    resolved_ticket(api)
    advance_to(clock, MORNING)
    run = JourneyRun.objects.get(journey_id="support-followup")
    html = run_page(support_client, run)
    waiting = ("Waiting for “Answered the support follow-up” until 09:00 in Berlin "
               "(Sun 21 Jun 2026, 07:00 UTC)")
    assert f"<strong>{waiting}</strong>" in html
    assert story_items(html)[-1] == f"{waiting}. support.followup_answered"


def test_the_run_page_reads_a_bounded_number_of_queries(
        support_client, story, django_assert_max_num_queries):
    # Session, user and permissions (4), then the run, its journal, zone, sends,
    # contact, answers, timeline, events, alerts, stranded check, content type.
    with django_assert_max_num_queries(16):
        run_page(support_client, story.run)
