"""A support agent's day in Chromium, as a member of the support group (not a
superuser), over the whole support story produced through the public API: Ada's
ticket T-9 resolved, "Did that fix it?" the next morning, "No, still broken" with
a long note, support paged.

Each task saves var/screenshots/<screen>-1366x768.png (and the key screens at
390x844 too), and every screen saved passes axe-core with no serious or critical
violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import Alert
from contacts.models import PreferenceChange
from hogsend_site.auth import api_key_create
from hogsend_site.staff import support_group_sync
from journeys.models import JourneyRun
from tests.browser.walk import (
    LAPTOP,
    PHONE,
    Snapshot,
    chromium,
    look,
    needs_chromium,
    snapshot,
)
from tests.recipes.helpers import (
    BROWSER,
    advance,
    advance_to,
    answer_page,
    comment,
    email_links,
    sent,
)
from tests.recipes.stories import NOTE, SupportStory, resolved_ticket

pytestmark = needs_chromium
__all__ = ["chromium", "snapshot"]  # module fixtures: one browser, one story

AGENT, PASSWORD = "sam", "sam-pw-123"
NOTE_START = NOTE.splitlines()[0]  # "Still crashes when I export to PDF."
# The contact page's timeline links sit in sentences; they are underlined so more
# than colour tells them apart (axe: link-in-text-block, serious).
CONTACT_PAGE_AXE = True


def recent_support_story(api: APIClient, client: Client) -> SupportStory:
    """tests.recipes.stories' support story, step for step, moved to the last two
    days so that the support home's "this week" and its charts show it: resolved
    the day before yesterday at 16:40 in Berlin, "Did that fix it?" yesterday at
    09:00, opened at 10:00, "No, still broken" and the note at 11:00, support paged
    three minutes after the answer was confirmed."""
    berlin = ZoneInfo("Europe/Berlin")
    today = timezone.now().astimezone(berlin).date()
    morning = datetime.combine(today - timedelta(days=1), time(9), berlin)
    resolved = datetime.combine(today - timedelta(days=2), time(16, 40), berlin)
    with time_machine.travel(resolved, tick=False) as clock:
        resolved_ticket(api)
        advance_to(clock, morning)
        (question,) = sent("support/followup")
        clock.move_to(morning + timedelta(hours=1))
        client.get(f"/v1/t/o/{question.pk}", **BROWSER)
        clock.move_to(morning + timedelta(hours=2))
        page = answer_page(client, email_links(question)["No, still broken"])
        clock.shift(timedelta(seconds=20))
        comment(client, page, NOTE)
        advance(clock, timedelta(seconds=10))
        advance(clock, timedelta(minutes=3))
    question.refresh_from_db()
    return SupportStory(run=JourneyRun.objects.get(journey_id="support-followup"),
                        question=question, alert=Alert.objects.get(kind="reopen_requested"))


def build_story() -> SupportStory:
    """The whole story through the public API, and Sam of the support group."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='app', scopes=['ingest'])[1]}")
    story = recent_support_story(api, Client())
    user = get_user_model().objects.create_user(AGENT, password=PASSWORD, is_staff=True)
    user.groups.add(support_group_sync())
    return story


@pytest.fixture
def story(snapshot: Snapshot[SupportStory]) -> SupportStory:
    return snapshot.restore_or_build(build_story)


@pytest.fixture
def agent(live_server, chromium, story) -> Iterator[Any]:
    """Sam, logged in through the login form, in a fresh 1366x768 window."""
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", AGENT)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#content")
        yield page
    finally:
        context.close()


def admin_url(server: Any, name: str, *args: Any) -> str:
    return server.url + reverse(f"admin:{name}", args=args)


def test_the_support_home_leads_with_the_open_alert_in_the_customers_words(
        live_server, story, agent):
    from playwright.sync_api import expect

    agent.goto(f"{live_server.url}/admin/")
    first = agent.locator("#open-alerts tr.alert-row").first
    expect(first.locator("q.customer-words")).to_contain_text(NOTE_START)
    expect(first.locator(".alert-ticket")).to_contain_text("T-9")
    expect(first.locator(".alert-customer")).to_contain_text("ada@example.com")
    # Open alerts come before everything else on the page.
    order = agent.evaluate("""() => [...document.querySelectorAll('#content h2')]
                                    .map(h => h.id).filter(Boolean)""")
    assert order[0] == "open-alerts-heading", order
    expect(agent.locator("#stranded-count")).to_be_visible()
    assert agent.locator("#trends svg").count() >= 3
    look(agent, "support-home", "1366x768")
    agent.set_viewport_size(PHONE)
    look(agent, "support-home", "390x844")


def test_an_alert_leads_with_her_note_and_links_to_the_run_and_the_contact(
        live_server, story, agent):
    from playwright.sync_api import expect

    agent.goto(f"{live_server.url}/admin/")
    # On her words, as a person clicks: the link spans several lines, and the
    # middle of its box can fall between two of them.
    agent.locator("#open-alerts tr.alert-row").first.locator("a").first.click(
        position={"x": 30, "y": 8})
    agent.wait_for_url("**/admin/alerts/alert/*/change/")
    expect(agent.locator("#customer-note")).to_contain_text(NOTE_START)
    expect(agent.locator("#customer-note")).to_contain_text("board meeting is on Friday")
    expect(agent.locator("#customer-answer")).to_contain_text("No, still broken")
    expect(agent.locator("#alert-reference")).to_have_text("#T-9")
    expect(agent.locator("#technical-details")).not_to_have_attribute("open", "")
    assert agent.url.endswith(reverse("admin:alerts_alert_change", args=[story.alert.pk]))
    look(agent, "alert", "1366x768")

    agent.click("#alert-run")
    agent.wait_for_url("**/admin/journeys/journeyrun/*/change/")
    expect(agent.locator("#run-story")).to_contain_text("No, still broken")
    assert agent.url.endswith(reverse("admin:journeys_journeyrun_change", args=[story.run.pk]))
    look(agent, "alert-to-run", "1366x768")

    agent.go_back()
    agent.click("#alert-contact")
    agent.wait_for_url("**/admin/contacts/contact/*/change/")
    expect(agent.locator("#support-panel")).to_contain_text("ada@example.com")
    assert agent.url.endswith(
        reverse("admin:contacts_contact_change", args=[story.run.contact_id]))
    look(agent, "alert-to-contact", "1366x768", axe=CONTACT_PAGE_AXE)

    agent.go_back()
    agent.set_viewport_size(PHONE)
    expect(agent.locator("#customer-note")).to_be_visible()
    look(agent, "alert", "390x844")


def test_a_run_tells_its_story_in_sentences_with_the_engine_behind_a_fold(
        live_server, story, agent):
    from playwright.sync_api import expect

    agent.goto(admin_url(live_server, "journeys_journeyrun_change", story.run.pk))
    lines = agent.locator("#run-story li")
    expect(lines.first).to_contain_text("T-9")
    run_story = agent.locator("#run-story")
    expect(run_story).to_contain_text("09:00")
    expect(run_story).to_contain_text("Did that fix it?")
    expect(run_story).to_contain_text("No, still broken")
    expect(run_story).to_contain_text(NOTE_START)
    fold = agent.locator("#technical-details")
    expect(fold).not_to_have_attribute("open", "")
    # The step journal is in the page but not shown until the fold is opened.
    assert not fold.locator("fieldset").first.is_visible()
    look(agent, "run-story", "1366x768")
    agent.set_viewport_size(PHONE)
    look(agent, "run-story", "390x844")

    agent.set_viewport_size(LAPTOP)
    fold.locator(":scope > summary").click()
    expect(fold.locator("fieldset").first).to_be_visible()
    look(agent, "run-story-technical-details", "1366x768")


def test_an_answer_is_found_with_her_comment_in_the_answers_list(live_server, story, agent):
    from playwright.sync_api import expect

    # From the support console on the home page to every answer, newest first.
    agent.locator("#content").get_by_role("link", name="Answers", exact=True).first.click()
    agent.wait_for_url("**/admin/tracking/answer/")
    row = agent.locator("#result_list tbody tr", has_text="ada@example.com")
    expect(row).to_have_count(1)
    expect(row.locator(".field-answer_display")).to_contain_text("No, still broken")
    expect(row.locator(".field-comment_display")).to_contain_text(NOTE_START)
    look(agent, "answers-list", "1366x768")

    row.locator(".field-answer_display a").click()
    expect(agent.locator("#content")).to_contain_text("board meeting is on Friday")
    look(agent, "answer-detail", "1366x768")

    # And from her contact page: her answers only.
    agent.goto(admin_url(live_server, "contacts_contact_change", story.run.contact_id))
    agent.locator("#support-panel").get_by_role("link", name="Answers", exact=True).click()
    rows = agent.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".field-comment_display")).to_contain_text(NOTE_START)
    look(agent, "answers-of-a-contact", "1366x768")


def test_a_contact_is_looked_up_by_email_and_read_as_one_timeline(live_server, story, agent):
    from playwright.sync_api import expect

    agent.locator("#content").get_by_role("link", name="Find a contact").click()
    agent.fill("#searchbar", "ADA@example.com")
    agent.press("#searchbar", "Enter")
    agent.click("#result_list a:text('ada@example.com')")
    timeline = agent.locator("#contact-timeline")
    expect(timeline).to_contain_text("Answered: No, still broken")
    expect(timeline.locator("blockquote")).to_contain_text("board meeting is on Friday")
    expect(timeline).to_contain_text("Reopen requested")
    expect(timeline).to_contain_text("Did that fix it?")
    expect(timeline).to_contain_text("Entered the journey")
    # Read-only for the support group: no JSON properties box, no Save, no Delete.
    assert agent.locator("textarea").count() == 0
    assert agent.locator("input[name=_save], .deletelink").count() == 0
    look(agent, "contact-timeline", "1366x768", axe=CONTACT_PAGE_AXE)
    agent.set_viewport_size(PHONE)
    look(agent, "contact-timeline", "390x844", axe=CONTACT_PAGE_AXE)


def test_a_contact_is_unsubscribed_from_everything_and_the_change_is_audited(
        live_server, story, agent):
    from playwright.sync_api import expect

    agent.goto(admin_url(live_server, "contacts_contact_change", story.run.contact_id))
    before = PreferenceChange.objects.count()
    expect(agent.locator("#subscription-state")).to_have_text("subscribed")
    look(agent, "unsubscribe-before", "1366x768", axe=CONTACT_PAGE_AXE)
    agent.click("#unsubscribe-all")
    expect(agent.locator("#subscription-state")).to_have_text("unsubscribed from everything")
    topics = agent.locator("#support-panel tr.topic")
    assert topics.count() >= 1
    for row in topics.all():
        expect(row).to_contain_text("off (unsubscribed from everything)")
    expect(agent.locator("#resubscribe-all")).to_be_visible()
    look(agent, "unsubscribe-after", "1366x768", axe=CONTACT_PAGE_AXE)
    change = PreferenceChange.objects.order_by("-pk").first()
    assert PreferenceChange.objects.count() == before + 1
    assert (change.source, change.actor) == ("staff", AGENT)
    assert change.contact_id == story.run.contact_id


def test_an_email_is_previewed_at_desktop_width_and_on_a_phone(live_server, story, agent):
    from playwright.sync_api import expect

    agent.goto(admin_url(live_server, "tracking_emailsend_change", story.question.pk))
    frame = agent.locator("iframe.hs-preview-frame").first
    frame.scroll_into_view_if_needed()
    # Sandboxed: the email's content runs nothing in the admin.
    assert frame.get_attribute("sandbox") == ""
    expect(agent.frame_locator("iframe.hs-preview-frame").first.locator("body")).to_contain_text(
        "Did that fix it?")
    desktop = frame.bounding_box()["width"]
    assert desktop >= 700, desktop
    look(agent, "email-preview-desktop", "1366x768")
    agent.get_by_text("Phone (390 px)").first.click()
    assert abs(frame.bounding_box()["width"] - 390) <= 2
    look(agent, "email-preview-phone", "1366x768")
