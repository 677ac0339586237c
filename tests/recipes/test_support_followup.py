"""The support follow-up recipe: "Did that fix it?" the morning after a ticket is resolved."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse

from alerts.models import Alert, HandlerJob
from contacts.tokens import token_make
from journeys.models import JourneyLog, JourneyRun
from tests.recipes.helpers import (
    BROWSER,
    LINK_PREVIEW_BOT,
    advance,
    advance_to,
    answer_page,
    click,
    comment,
    email_links,
    events,
    identify,
    mail_to,
    run_due,
    send_event,
    sent,
    unsubscribe_one_click,
)
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

RESOLVED = datetime(2026, 6, 16, 14, 40, tzinfo=UTC)  # Tue 16:40 in Berlin
MORNING = datetime(2026, 6, 17, 7, 0, tzinfo=UTC)  # Wed 09:00 in Berlin
SUPPORT_INBOX = "support@example.com"
ADA = "ada@example.com"


@pytest.fixture
def clock_start() -> datetime:
    return RESOLVED


@pytest.fixture
def customer(api) -> str:
    identify(api, "u_ada", ADA, timezone="Europe/Berlin")
    return "u_ada"


def resolve(api, ticket: str = "T-9", user: str = "u_ada") -> None:
    send_event(api, "ticket.resolved", user, {"ticket_id": ticket})


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="support-followup")


def morning_email(api, clock, mailoutbox):
    resolve(api)
    advance_to(clock, MORNING)
    (email,) = sent("support/followup")
    return email


def test_the_question_lands_at_nine_the_next_morning_in_the_customers_timezone(
    api, clock, mailoutbox, customer
):
    resolve(api)
    run = the_run()
    assert (run.status, run.current_step, run.wake_at) == ("waiting", "next-morning", MORNING)
    advance_to(clock, MORNING - timedelta(seconds=1))
    assert mailoutbox == []

    advance(clock, timedelta(seconds=1))

    (message,) = mailoutbox
    assert (message.to, message.subject) == ([ADA], "Did that fix it?")
    (email,) = sent("support/followup")
    assert (email.to_email, email.sent_at, email.journey_run_id) == (ADA, MORNING, run.pk)
    assert "T-9" in email.html and "T-9" in email.text
    assert set(email_links(email)) >= {"Yes, all sorted", "No, still broken"}
    run.refresh_from_db()
    assert (run.status, run.current_step) == ("waiting", "await-answer")


def test_no_pages_the_support_inbox_once_with_the_customers_note(
    api, client, clock, mailoutbox, customer, settings
):
    email = morning_email(api, clock, mailoutbox)
    clock.shift(timedelta(hours=2))  # 11:00 in Berlin
    clicked_at = MORNING + timedelta(hours=2)
    page = answer_page(client, email_links(email)["No, still broken"])
    clock.shift(timedelta(seconds=20))
    comment(client, page, "Still crashes when I export to PDF.")
    advance(clock, timedelta(seconds=9))
    assert events("support.followup_answered") == []

    advance(clock, timedelta(seconds=1))  # click + 30 s: the answer is confirmed

    (answer,) = events("support.followup_answered")
    assert answer.properties["answer"] == "no"
    assert answer.occurred_at == clicked_at + timedelta(seconds=30)
    (reopen,) = events("support.reopen_requested")
    assert reopen.properties == {
        "ticket_id": "T-9",
        "source": "followup-email",
        "answeredAt": answer.occurred_at.isoformat(),
    }
    assert reopen.user_key == "u_ada"
    run = the_run()
    assert run.status == "completed"
    assert mail_to(mailoutbox, SUPPORT_INBOX) == []  # the grace window for a note

    advance(clock, timedelta(minutes=3))

    (page_mail,) = mail_to(mailoutbox, SUPPORT_INBOX)
    assert page_mail.subject == f"[Reopen requested] #T-9 — {ADA}"
    assert "Still crashes when I export to PDF." in page_mail.body
    (alert,) = Alert.objects.all()
    assert (alert.kind, alert.status, alert.contact.email) == ("reopen_requested", "open", ADA)
    assert alert.journey_run_id == run.pk
    assert alert.payload["ticketId"] == "T-9"
    assert alert.email_send.to_email == SUPPORT_INBOX
    assert len(mail_to(mailoutbox, ADA)) == 1  # the customer got the question, nothing else


def test_no_then_yes_with_a_note_keeps_the_first_answer_for_the_journey_and_tells_support(
    api, client, clock, mailoutbox, customer, support_client
):
    email = morning_email(api, clock, mailoutbox)
    links = email_links(email)
    clock.shift(timedelta(minutes=14))  # 09:14 in Berlin
    no_page = answer_page(client, links["No, still broken"])
    comment(client, no_page, "Still crashes when I export to PDF.")
    advance(clock, timedelta(seconds=30))  # the "no" is confirmed: the journey acts on it
    advance(clock, timedelta(minutes=4))  # the grace window: support is paged
    (alert,) = Alert.objects.all()
    assert alert.payload["comment"] == "Still crashes when I export to PDF."

    clock.shift(timedelta(hours=1))  # 10:14 in Berlin: it works after all
    yes_page = answer_page(client, links["Yes, all sorted"])
    page = client.get(urlsplit(yes_page).path, **BROWSER).content.decode()
    assert "You answered: Yes, all sorted" in page
    assert ("You first answered “No, still broken” at 09:14 CEST on Wednesday 17 June. "
            "We've recorded that you now say “Yes, all sorted”.") in page
    thanks = comment(client, yes_page, "Actually it works now, thanks!").content.decode()
    assert "We've added your note to your answer “Yes, all sorted”" in thanks
    advance(clock, timedelta(seconds=30))  # the change is confirmed
    advance(clock, timedelta(minutes=4))  # and added to the open alert

    # The journey took the first answer: one "no", the reopen request, one page.
    assert [e.properties["answer"] for e in events("support.followup_answered")] == ["no"]
    assert len(events("support.reopen_requested")) == 1
    assert len(mail_to(mailoutbox, SUPPORT_INBOX)) == 1
    assert the_run().status == "completed"
    # Nothing she said is lost: the later answer and both notes are events.
    (change,) = events("support.followup_answered.changed")
    assert (change.properties["answer"], change.properties["previousAnswer"],
            change.properties["ticketId"]) == ("yes", "no", "T-9")
    assert [n.properties["comment"] for n in events("support.followup_answered.comment")] == [
        "Still crashes when I export to PDF.", "Actually it works now, thanks!"]
    # The open alert shows both, in its title and its list of what came later.
    alert.refresh_from_db()
    assert alert.status == "open"
    assert alert.title == (f"Reopen requested: #T-9 — {ADA} — changed the answer to "
                           "“Yes, all sorted”: “Actually it works now, thanks!”")
    assert [(f["kind"], f.get("answer"), f.get("text")) for f in alert.payload["followups"]] == [
        ("note", "Yes, all sorted", "Actually it works now, thanks!"),
        ("changed_answer", "Yes, all sorted", None)]
    assert alert.payload["followups"][1]["previous"] == "No, still broken"
    html = support_client.get(reverse("admin:alerts_alert_change", args=[alert.pk])).content
    html = html.decode()
    assert "changed the answer to “Yes, all sorted”: “Actually it works now, thanks!”" in html
    followups = html[html.index('id="customer-followups"'):]
    followups = followups[:followups.index("</ul>")]
    assert ("Wrote on the “Yes, all sorted” page: <q class=\"hs-note\">Actually it works now, "
            "thanks!</q>") in followups
    assert "Changed the answer to “Yes, all sorted” (was “No, still broken”)" in followups
    # The run tells it too, after the page to support.
    run_page = support_client.get(
        reverse("admin:journeys_journeyrun_change", args=[the_run().pk])).content.decode()
    assert "ada@example.com changed the answer to" in run_page
    assert "(the journey had acted on the first)" in run_page
    assert "wrote again on" in run_page and "Actually it works now, thanks!" in run_page
    # And her timeline on the contact page.
    contact_page = support_client.get(reverse(
        "admin:contacts_contact_change", args=[alert.contact_id])).content.decode()
    assert "Changed the answer to “Yes, all sorted”" in contact_page
    assert "previousLinkId" not in contact_page
    assert "Actually it works now, thanks!" in contact_page
    # The answers list shows the first answer with what she said after it.
    answers = support_client.get(reverse("admin:tracking_answer_changelist")).content.decode()
    assert "Still crashes when I export to PDF." in answers
    assert "then changed to “Yes, all sorted” · 1 more note" in answers
    export = support_client.get(reverse("admin:tracking_answer_export"))
    (row,) = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert (row["answer"], row["changed_to"], row["later_notes"]) == (
        "no", "Yes, all sorted", "1")


def test_notes_are_bounded_per_email_per_day_and_the_page_says_so(
    api, client, clock, mailoutbox, customer, settings
):
    settings.ANSWER_NOTES_PER_SEND_DAY = 2
    email = morning_email(api, clock, mailoutbox)
    page = answer_page(client, email_links(email)["No, still broken"])
    for text in ("One.", "Two.", "Three."):
        comment(client, page, text)
    comment(client, page, "Three.")  # sent twice: kept once
    path = urlsplit(page).path
    token = re.search(r'name="form_token" value="([^"]+)"',
                      client.get(path, **BROWSER).content.decode()).group(1)
    refused = client.post(path, {"comment": "Four.", "form_token": token}, **BROWSER)
    assert refused.status_code == 429
    assert "That's a lot of notes for one day" in refused.content.decode()
    assert [n.properties["comment"] for n in events("support.followup_answered.comment")] == [
        "One.", "Two.", "Three."]
    clock.shift(timedelta(days=1))
    comment(client, page, "Four.")
    assert len(events("support.followup_answered.comment")) == 4


def test_yes_ends_the_run_quietly(api, client, clock, mailoutbox, customer):
    email = morning_email(api, clock, mailoutbox)
    click(client, email_links(email)["Yes, all sorted"])
    advance(clock, timedelta(seconds=30))
    advance(clock, timedelta(days=4))
    assert [e.properties["answer"] for e in events("support.followup_answered")] == ["yes"]
    assert the_run().status == "completed"
    assert events("support.reopen_requested") == []
    assert len(mailoutbox) == 1 and not Alert.objects.exists()


def test_silence_ends_the_run_after_four_days_with_nothing_more_sent(
    api, clock, mailoutbox, customer
):
    morning_email(api, clock, mailoutbox)
    advance_to(clock, MORNING + timedelta(days=4) - timedelta(seconds=1))
    assert the_run().status == "waiting"
    advance(clock, timedelta(seconds=1))
    assert the_run().status == "completed"
    assert events("support.reopen_requested") == []
    assert len(mailoutbox) == 1 and not Alert.objects.exists()


def test_a_ticket_reopened_before_the_morning_cancels_the_question(
    api, clock, mailoutbox, customer
):
    resolve(api)
    clock.move_to(MORNING - timedelta(hours=1))  # Wed 08:00 in Berlin
    send_event(api, "ticket.reopened", "u_ada", {"ticket_id": "T-9"})
    run = the_run()
    assert (run.status, run.exit_reason) == ("exited", "event:ticket.reopened")
    advance_to(clock, MORNING + timedelta(days=1))
    assert mailoutbox == [] and sent("support/followup") == []
    assert the_run().status == "exited"


def test_a_customer_who_unsubscribed_overnight_is_not_asked(
    api, client, clock, mailoutbox, customer
):
    resolve(api)
    clock.shift(timedelta(hours=6))
    # One click on the unsubscribe link of an earlier email.
    token = token_make(key="u_ada", email=ADA, action="unsubscribe")
    response = client.post(
        f"/v1/email/unsubscribe?token={token}", {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    advance_to(clock, MORNING)
    assert mailoutbox == [] and sent("support/followup") == []
    assert the_run().status == "completed"


def test_a_customer_who_unsubscribes_and_then_says_no_still_reaches_support(
    api, client, clock, mailoutbox, customer
):
    email = morning_email(api, clock, mailoutbox)
    clock.shift(timedelta(hours=2))
    unsubscribe_one_click(client, mailoutbox[0])
    click(client, email_links(email)["No, still broken"])
    advance(clock, timedelta(seconds=30))
    assert [e.properties["ticket_id"] for e in events("support.reopen_requested")] == ["T-9"]
    advance(clock, timedelta(minutes=3))
    assert len(mail_to(mailoutbox, SUPPORT_INBOX)) == 1


def test_several_tickets_in_a_week_get_one_survey(api, mailoutbox, customer):
    monday = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
    with time_machine.travel(monday, tick=False) as clock:
        resolve(api, "T-1")
        advance_to(clock, datetime(2026, 6, 18, 10, 0, tzinfo=UTC))  # Thursday
        resolve(api, "T-2")
        assert JourneyRun.objects.count() == 1
        advance_to(clock, datetime(2026, 6, 22, 10, 0, tzinfo=UTC))
        assert [e.to_email for e in sent("support/followup")] == [ADA]
        assert "T-1" in sent("support/followup")[0].html

        clock.move_to(datetime(2026, 6, 23, 10, 0, tzinfo=UTC))  # 8 days after the first
        resolve(api, "T-3")
        assert JourneyRun.objects.count() == 2
        advance(clock, timedelta(days=1))
        assert len(sent("support/followup")) == 2


def test_a_link_scanner_records_no_answer_and_pages_nobody(
    api, client, clock, mailoutbox, customer
):
    email = morning_email(api, clock, mailoutbox)
    for url in email_links(email).values():
        if "/v1/t/c/" in url:
            click(client, url, method="head")
            click(client, url, headers=LINK_PREVIEW_BOT)
    advance(clock, timedelta(minutes=1))
    assert LinkClick.objects.count() == 4
    assert events("support.followup_answered") == []
    advance_to(clock, MORNING + timedelta(days=4))
    assert the_run().status == "completed"
    assert events("support.reopen_requested") == [] and not Alert.objects.exists()
    assert len(mailoutbox) == 1


def test_both_buttons_clicked_within_30_seconds_is_a_scanner_not_an_answer(
    api, client, clock, mailoutbox, customer
):
    email = morning_email(api, clock, mailoutbox)
    links = email_links(email)
    click(client, links["Yes, all sorted"])
    clock.shift(timedelta(seconds=5))
    click(client, links["No, still broken"])
    advance(clock, timedelta(seconds=31))
    assert set(LinkClick.objects.values_list("outcome", flat=True)) == {"burst"}
    assert events("support.followup_answered") == []
    advance_to(clock, MORNING + timedelta(days=4))
    assert the_run().status == "completed"
    assert events("support.reopen_requested") == [] and not Alert.objects.exists()


def test_the_alert_retried_after_its_send_pages_support_once(
    api, client, clock, mailoutbox, customer
):
    email = morning_email(api, clock, mailoutbox)
    click(client, email_links(email)["No, still broken"])
    advance(clock, timedelta(seconds=30))
    advance(clock, timedelta(minutes=3))
    assert len(mail_to(mailoutbox, SUPPORT_INBOX)) == 1
    # The worker died after the provider took the email, before the job was
    # marked done: the job is claimed and run again.
    job = HandlerJob.objects.get(handler="support-alert")
    HandlerJob.objects.filter(pk=job.pk).update(status="pending", claimed_until=None)
    run_due()
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result["status"]) == ("done", 2, "sent")
    assert len(mail_to(mailoutbox, SUPPORT_INBOX)) == 1
    assert Alert.objects.count() == 1


def test_an_answer_given_while_the_run_was_down_is_still_read(
    api, client, clock, mailoutbox, customer
):
    email = morning_email(api, clock, mailoutbox)
    # The worker died right after the send, before the wait was registered:
    # the run still holds its lease and waits for nothing.
    JourneyRun.objects.filter(pk=the_run().pk).update(
        status="active",
        current_step="next-morning",
        waiting_event="",
        wait_deadline=None,
        wake_at=MORNING,
        claimed_until=MORNING + timedelta(minutes=5),
    )
    clock.shift(timedelta(minutes=1))
    click(client, email_links(email)["No, still broken"])
    advance(clock, timedelta(seconds=30))
    assert len(events("support.followup_answered")) == 1
    assert events("support.reopen_requested") == []
    advance_to(clock, MORNING + timedelta(minutes=5, seconds=1))  # the lease expired
    assert [e.properties["ticket_id"] for e in events("support.reopen_requested")] == ["T-9"]
    assert the_run().status == "completed"
    assert len(mail_to(mailoutbox, ADA)) == 1


def test_the_morning_follows_the_customers_daylight_saving_change(api, mailoutbox):
    identify(api, "u_jan", "jan@example.cz", timezone="Europe/Prague")
    resolved = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Sat 13:00 CET
    asked = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # Sun 09:00 CEST (clocks went forward)
    with time_machine.travel(resolved, tick=False) as clock:
        resolve(api, "T-42", user="u_jan")
        assert the_run().wake_at == asked
        advance_to(clock, asked - timedelta(seconds=1))
        assert mailoutbox == []
        advance(clock, timedelta(seconds=1))
    (email,) = sent("support/followup")
    assert (email.to_email, email.sent_at) == ("jan@example.cz", asked)


def test_the_run_timeline_tells_the_story(api, client, clock, mailoutbox, customer):
    email = morning_email(api, clock, mailoutbox)
    click(client, email_links(email)["No, still broken"])
    advance(clock, timedelta(seconds=30))
    steps = list(JourneyLog.objects.filter(run=the_run()).values_list("action", "to_step"))
    assert steps[0] == ("entered", "start")
    assert ("sleep", "next-morning") in steps and ("wait", "await-answer") in steps
    assert ("trigger", "trigger:support.reopen_requested") in steps
    assert steps[-1] == ("completed", "end")
