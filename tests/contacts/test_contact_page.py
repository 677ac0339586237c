"""The contact page as support staff read it: read-only, properties as a table,
every list shown as sends see it, and one timeline of everything about the person
(events, emails, answers with their notes in full, runs, preference changes)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact
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
from tracking.ingest import EventInput, events_ingest

pytestmark = pytest.mark.django_db

RESOLVED = datetime(2026, 6, 16, 14, 40, tzinfo=UTC)  # Tue 16:40 in Berlin
MORNING = datetime(2026, 6, 17, 7, 0, tzinfo=UTC)  # Wed 09:00 in Berlin
NOTE = ("Still crashes when I export to PDF.\nIt started after the update on Monday, and "
        "it happens with every document I try, even the small ones. " * 3).strip()


def page_url(contact: Contact, **query: object) -> str:
    url = reverse("admin:contacts_contact_change", args=[contact.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def switch(client, contact: Contact, **body: str):
    return client.post(reverse("admin:contacts_contact_preferences", args=[contact.pk]), body)


@pytest.fixture
def ada_story(api, client, mailoutbox) -> Contact:
    """Ada's ticket was resolved; the morning email asked; she opened it, answered
    "No, still broken" and wrote a long note; support was paged."""
    with time_machine.travel(RESOLVED, tick=False) as clock:
        identify(api, "u_ada", "ada@example.com", timezone="Europe/Berlin")
        api.put("/v1/contacts", {"userId": "u_ada", "properties": {
            "plan": "pro", "company": {"name": "Acme", "seats": 12}, "beta": True}},
            format="json")
        send_event(api, "ticket.resolved", "u_ada", {"ticket_id": "T-9"})
        advance_to(clock, MORNING)
        (email,) = sent("support/followup")
        pixel = re.search(r'/v1/t/o/[^"]+', email.html).group(0)
        client.get(pixel, **BROWSER)
        clock.shift(timedelta(hours=2))
        page = answer_page(client, email_links(email)["No, still broken"])
        comment(client, page, NOTE)
        advance(clock, timedelta(seconds=30))
        advance(clock, timedelta(minutes=3))
    return Contact.objects.get(external_id="u_ada")


def rows_of(html: str) -> list[str]:
    """The timeline's rows as text, top to bottom."""
    body = html.split('id="contact-timeline"')[1]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r'<tr class="tl-row.*?</tr>', body, re.S)]


def test_support_staff_read_the_contact_without_a_form_to_save_or_delete(support_client,
                                                                         ada_story):
    html = support_client.get(page_url(ada_story)).content.decode()
    assert 'name="properties"' not in html and "<textarea" not in html
    assert 'name="_save"' not in html and "deletelink" not in html
    properties = html.split("field-properties_table")[1].split("</table>")[0]
    for key, value in (("plan", "pro"), ("company.name", "Acme"), ("company.seats", "12"),
                       ("beta", "yes")):
        assert f"<td>{key}</td><td>{value}</td>" in properties, key
    # The audited switches stay theirs.
    assert 'id="unsubscribe-all"' in html


def test_a_superuser_still_edits_the_contact(admin_client, ada_story):
    html = admin_client.get(page_url(ada_story)).content.decode()
    assert '<textarea name="properties"' in html and 'name="_save"' in html
    assert "deletelink" in html


def test_the_timeline_holds_everything_about_the_person_newest_first(support_client,
                                                                     ada_story):
    switch(support_client, ada_story, action="unsubscribe_all")
    html = support_client.get(page_url(ada_story)).content.decode()
    rows = rows_of(html)
    # The newest: sam's unsubscribe, with who and from where.
    assert "Unsubscribed from everything" in rows[0] and "by sam" in rows[0]
    assert "from the admin" in rows[0]
    text = "\n".join(rows)
    for expected in ("Reopen requested", "Answered: No, still broken",
                     "Email “Did that fix it?”", "opened Wed 17 Jun 2026, 07:00 UTC",
                     "Entered the journey “Support — resolution follow-up”",
                     "Ticket resolved", "ticket_id: T-9",
                     "answeredAt: Wed 17 Jun 2026, 09:00 UTC"):
        assert expected in text, expected
    # The note is there in full, once, under its answer.
    quotes = re.findall(r'<blockquote class="tl-quote">(.*?)</blockquote>', html, re.S)
    assert quotes == [NOTE]
    answer_row = next(row for row in rows if "Answered: No, still broken" in row)
    assert "Still crashes when I export to PDF." in answer_row
    # Oldest last: the ticket resolved the day before.
    assert "Ticket resolved" in rows[-1] or "Entered the journey" in rows[-1]


def test_every_time_on_the_page_names_its_zone_and_the_persons_clock_beside_it(
        support_client, ada_story):
    html = support_client.get(page_url(ada_story)).content.decode()
    body = html.split('id="contact-timeline"')[1]
    stamps = re.findall(r'<td class="tl-when">(.*?)</td>', body, re.S)
    assert stamps and all(re.search(r"\d\d:\d\d (UTC|CEST|CET)", s) for s in stamps)
    assert any("in Berlin" in s for s in stamps)
    # A customer's 09:00 reads as such beside the staff time.
    assert "Wed 17 Jun 2026, 07:00 UTC" in body and "09:00 in Berlin" in body
    assert "local time now" in html and re.search(r"local time now \w{3} .* CES?T", html)


def test_the_timeline_is_capped_with_show_more_and_reads_the_same_queries_however_long(
        support_client, ada):
    def page_queries(limit: int | None = None) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            response = support_client.get(page_url(ada, **({"timeline": limit} if limit else {})))
        assert response.status_code == 200
        return len(queries), response.content.decode()

    events_ingest([EventInput(name="docs.page_read", user_id="u_ada", properties={"n": n})
                   for n in range(5)])
    page_queries()  # the first request also fills per-process caches (content types)
    few, _ = page_queries()
    events_ingest([EventInput(name="docs.page_read", user_id="u_ada", properties={"n": n})
                   for n in range(5, 45)])
    many, html = page_queries()
    assert many == few
    assert len(rows_of(html)) == 30
    assert 'id="timeline-more" href="?timeline=60#contact-timeline"' in html
    _, everything = page_queries(60)
    assert len(rows_of(everything)) == 45 and 'id="timeline-more"' not in everything
    for junk in ("x", "-3", "99999999"):
        assert support_client.get(page_url(ada, timeline=junk)).status_code == 200


def test_unsubscribing_from_everything_shows_every_list_as_overridden(support_client, ada):
    switch(support_client, ada, action="category", category="digest", subscribed="0")
    switch(support_client, ada, action="unsubscribe_all")
    html = support_client.get(page_url(ada)).content.decode()
    lists = re.findall(r'<tr class="topic" data-list="([^"]+)">(.*?)</tr>', html, re.S)
    assert {list_id for list_id, _ in lists} >= {"journey", "digest"}
    for _, row in lists:
        assert "<strong>off</strong> (unsubscribed from everything)" in row
        assert ">Unsubscribe</button>" not in row and ">Subscribe</button>" not in row
        assert "subscribed</td>" not in row
    switch(support_client, ada, action="resubscribe_all")
    html = support_client.get(page_url(ada)).content.decode()
    lists = dict(re.findall(r'<tr class="topic" data-list="([^"]+)">(.*?)</tr>', html, re.S))
    assert "subscribed" in lists["journey"] and "off" not in lists["journey"]
    assert "<strong>unsubscribed</strong>" in lists["digest"]


def test_a_later_note_and_a_changed_answer_read_as_what_the_person_did(support_client, ada):
    note = "Actually it works now, thanks!\nSorry for the noise."
    events_ingest([
        EventInput(name="support.followup_answered.changed", user_id="u_ada",
                   properties={"answer": "yes", "ticketId": "T-9"}),
        EventInput(name="support.followup_answered.comment", user_id="u_ada",
                   properties={"answer": "yes", "comment": note}),
    ])
    html = support_client.get(page_url(ada)).content.decode()
    text = "\n".join(rows_of(html))
    assert "Changed the answer to “Yes, all sorted”" in text and "Wrote a note" in text
    assert re.findall(r'<blockquote class="tl-quote">(.*?)</blockquote>', html, re.S) == [note]
