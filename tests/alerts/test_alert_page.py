"""The alert page leads with the customer's words; the page to the support inbox
links to it and prints its times in words, naming their zones."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils.html import escape

from alerts.models import Alert
from tests.recipes.helpers import advance, mail_to, send_event
from tests.recipes.stories import NOTE, RESOLVED, SupportStory, support_story
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db

SUPPORT_INBOX = "support@example.com"


@pytest.fixture
def clock_start() -> datetime:
    return RESOLVED


@pytest.fixture
def story(api, client, clock, mailoutbox) -> SupportStory:
    return support_story(api, client, clock)


def alert_page(client, alert: Alert) -> str:
    response = client.get(reverse("admin:alerts_alert_change", args=[alert.pk]))
    assert response.status_code == 200
    return response.content.decode()


def summary_of(html: str) -> str:
    return html[html.index('id="alert-summary"'):html.index('id="technical-details"')]


def test_the_alert_page_leads_with_the_customers_note_in_full(support_client, story):
    html = alert_page(support_client, story.alert)
    note = f'<blockquote class="hs-note" id="customer-note">{escape(NOTE)}</blockquote>'
    assert note in html
    # Before anything else on the page: the note comes first, then the fieldsets.
    assert html.index('id="alert-summary"') < html.index("<fieldset")
    assert html.index(note) < html.index("<fieldset")


def test_the_alert_page_shows_the_answer_the_ticket_and_when_in_both_zones(support_client, story):
    summary = summary_of(alert_page(support_client, story.alert))
    assert "<h2>Reopen requested — Ticket #T-9 — ada@example.com</h2>" in summary
    assert ('<dd id="customer-answer">“No, still broken” on Wed 17 Jun 2026, 09:00 UTC '
            "(11:00 in Berlin)</dd>") in summary
    assert '<dd id="alert-reference">#T-9</dd>' in summary
    assert "<dt>Raised</dt><dd>Wed 17 Jun 2026, 09:03 UTC (11:03 in Berlin)</dd>" in summary


def test_the_alert_page_links_the_run_the_contact_and_the_email_she_answered(
        support_client, story):
    summary = summary_of(alert_page(support_client, story.alert))
    run_url = reverse("admin:journeys_journeyrun_change", args=[story.run.pk])
    contact_url = reverse("admin:contacts_contact_change", args=[story.run.contact_id])
    question_url = reverse("admin:tracking_emailsend_change", args=[story.question.pk])
    page_url = reverse("admin:tracking_emailsend_change", args=[story.alert.email_send_id])
    assert f'<a id="alert-run" href="{run_url}">' in summary
    assert f'<a id="alert-contact" href="{contact_url}">ada@example.com</a>' in summary
    assert f'<a id="alert-question" href="{question_url}">“Did that fix it?”</a>' in summary
    assert f'<a id="alert-page-email" href="{page_url}">{SUPPORT_INBOX}</a>' in summary


def test_the_raw_payload_and_keys_sit_behind_the_technical_details_fold(support_client, story):
    html = alert_page(support_client, story.alert)
    start = html.index('<details class="hs-technical"')
    fold = html[start:html.index("</details>", start)]
    outside = html[:start] + html[html.index("</details>", start):]
    assert "<summary>Technical details" in fold
    for technical in (story.alert.dedupe_key, "&quot;customerEmail&quot;", "Dedupe key"):
        assert technical in fold, technical
        assert technical not in outside, technical
    # The kind reads as words, its raw name small beside it.
    assert re.search(r'<span class="hs-label">Reopen requested</span> <small[^>]*>'
                     r"<code>reopen_requested</code></small>", outside)


def test_the_alert_page_reads_a_bounded_number_of_queries(
        support_client, story, django_assert_max_num_queries):
    # Session, user and permissions (4), then the alert, its contact, run, page
    # email, the run's sends, answers, zone and contact: none per answer or send.
    with django_assert_max_num_queries(12):
        alert_page(support_client, story.alert)


def test_an_alert_without_a_run_still_leads_with_the_note_and_the_ticket(
        support_client, api, clock, mailoutbox, ada):
    send_event(api, "support.reopen_requested", "u_ada",
               {"ticket_id": "T-7", "answeredAt": "2026-06-16T15:00:00+00:00"})
    advance(clock, timedelta(minutes=3))
    alert = Alert.objects.get()
    Alert.objects.filter(pk=alert.pk).update(payload={**alert.payload, "comment": "Help!"})
    summary = summary_of(alert_page(support_client, alert))
    assert '<blockquote class="hs-note" id="customer-note">Help!</blockquote>' in summary
    assert '<dd id="alert-reference">#T-7</dd>' in summary
    assert 'id="alert-run"' not in summary


# --- the page to the support inbox ----------------------------------------------------


def test_the_support_inbox_email_links_to_the_alert_and_says_when_in_words(story, mailoutbox):
    (message,) = mail_to(mailoutbox, SUPPORT_INBOX)
    url = f"http://testserver{reverse('admin:alerts_alert_change', args=[story.alert.pk])}"
    assert message.subject == "[Reopen requested] #T-9 — ada@example.com"
    assert f"Open the alert in the support console:\n{url}" in message.body
    answered = "Wed 17 Jun 2026, 09:00 UTC (11:00 in Berlin, the customer's time)"
    assert f"Answered at: {answered}" in message.body
    assert NOTE in message.body and "T-9" in message.body
    html = message.alternatives[0][0]
    assert answered in unescape(html)
    # The console link goes straight to the console: staff clicks are not tracked.
    assert re.search(rf'<a [^>]*href="{re.escape(url)}"[^>]*>Open the alert in the support '
                     "console</a>", html)
    assert not TrackedLink.objects.filter(email_send=story.alert.email_send,
                                          original_url=url).exists()
    assert story.alert.email_send.to_email == SUPPORT_INBOX


def test_the_support_inbox_email_prints_times_in_the_staff_zone(
        api, client, clock, mailoutbox, settings):
    settings.STAFF_TIME_ZONE = "America/New_York"
    support_story(api, client, clock)
    (message,) = mail_to(mailoutbox, SUPPORT_INBOX)
    assert ("Answered at: Wed 17 Jun 2026, 05:00 EDT (11:00 in Berlin, the customer's time)"
            in message.body)
