"""The lead alerts recipe: a setup-call offer whose "interested" pages sales.

The `notify-lead` handler waits a 3-minute grace window so a note typed on the
hosted answer page is folded into the alert, resolves the lead's address
server-side and sends regardless of the lead's own preferences.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import Alert, HandlerJob
from journeys.models import JourneyLog, JourneyRun
from tests.recipes.helpers import (
    advance,
    advance_to,
    click,
    comment,
    email_links,
    events,
    identify,
    mail_of,
    mail_to,
    run_due,
    send_event,
    sent,
    unsubscribe_one_click,
)
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

STARTED = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)  # Mon 10:00
OFFERED = datetime(2026, 6, 16, 10, 0, tzinfo=UTC)  # Tue 10:00
CLICKED = datetime(2026, 6, 16, 12, 0, tzinfo=UTC)  # Tue 12:00
CONFIRMED = CLICKED + timedelta(seconds=30)
ALERTED = CONFIRMED + timedelta(minutes=3)  # 12:03:30
LEAD = "lea@example.com"
SALES_INBOX = "sales@example.com"
# This recipe's emails. A trial start also brings first-week-schedule's onboarding
# emails, which are not this recipe's business.
OFFER, LEAD_ALERT = "offer/setup-call", "transactional/lead-alert"


@pytest.fixture
def clock_start() -> datetime:
    return STARTED


@pytest.fixture
def offer(api, clock, mailoutbox) -> EmailSend:
    identify(api, "u_lea", LEAD)
    send_event(api, "trial.started", "u_lea")
    advance_to(clock, OFFERED)
    (email,) = sent("offer/setup-call")
    return email


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="setup-offer")


def interested(client, clock, offer: EmailSend) -> str:
    """Tue 12:00: the lead clicks "I'm interested"; returns the answer page."""
    clock.move_to(CLICKED)
    return click(client, email_links(offer)["I'm interested"])["Location"]


def test_the_offer_goes_out_a_day_after_the_trial_starts(api, clock, mailoutbox):
    identify(api, "u_lea", LEAD)
    send_event(api, "trial.started", "u_lea")
    assert (the_run().status, the_run().current_step) == ("waiting", "pre-offer")
    advance_to(clock, OFFERED - timedelta(seconds=1))
    assert mail_of(mailoutbox, OFFER, LEAD_ALERT) == []
    advance(clock, timedelta(seconds=1))
    (message,) = mail_of(mailoutbox, OFFER, LEAD_ALERT)
    assert (message.to, message.subject) == ([LEAD], "Want a hand getting set up?")
    (email,) = sent("offer/setup-call")
    answers = {
        link.event_properties["answer"] for link in email.links.filter(event="offer.answered")
    }
    assert answers == {"interested", "not_now"}
    assert {"I'm interested", "Not right now"} <= set(email_links(email))
    assert "Not right now:" in email.text and "/v1/t/c/" in email.text


def test_interested_pages_sales_with_the_leads_note(client, clock, offer, mailoutbox):
    page = interested(client, clock, offer)
    clock.move_to(CLICKED + timedelta(minutes=1))
    comment(client, page, "We have 40 seats, can we talk SSO?")
    advance_to(clock, CONFIRMED - timedelta(seconds=1))
    assert events("offer.answered") == []
    advance_to(clock, CONFIRMED)

    (answer,) = events("offer.answered")
    assert (answer.properties["answer"], answer.occurred_at) == ("interested", CONFIRMED)
    (flag,) = events("lead.flagged")
    assert flag.properties == {
        "reason": "setup-offer",
        "answer": "interested",
        "sourceEvent": "offer.answered",
        "sourceTemplate": "offer/setup-call",
        "answeredAt": CONFIRMED.isoformat(),
        "subscribed": True,
    }
    run = the_run()
    assert run.status == "completed"
    assert JourneyLog.objects.filter(run=run, action="checkpoint", to_step="lead-flagged")
    advance_to(clock, ALERTED - timedelta(seconds=1))
    assert mail_to(mailoutbox, SALES_INBOX) == []

    advance_to(clock, ALERTED)

    (page_mail,) = mail_to(mailoutbox, SALES_INBOX)
    assert page_mail.subject == f"[Lead] {LEAD} wants a setup call"
    assert LEAD in page_mail.body and "We have 40 seats, can we talk SSO?" in page_mail.body
    (alert,) = Alert.objects.all()
    assert (alert.kind, alert.contact.email, alert.journey_run_id) == ("lead", LEAD, run.pk)
    assert alert.payload["comment"] == "We have 40 seats, can we talk SSO?"
    assert alert.email_send.sent_at == ALERTED
    # The offer; nothing of this recipe's went to the lead after it.
    assert len(mail_to(mail_of(mailoutbox, OFFER, LEAD_ALERT), LEAD)) == 1


def test_a_note_after_the_grace_window_is_kept_but_not_in_the_alert(
    client, clock, offer, mailoutbox
):
    page = interested(client, clock, offer)
    advance_to(clock, CONFIRMED)
    advance_to(clock, ALERTED)
    clock.move_to(CLICKED + timedelta(minutes=10))
    comment(client, page, "Forgot to say: we use Okta.")
    run_due()

    (page_mail,) = mail_to(mailoutbox, SALES_INBOX)
    assert "Okta" not in page_mail.body
    assert Alert.objects.get().payload["comment"] == ""
    (note,) = events("offer.answered.comment")
    assert note.properties["comment"] == "Forgot to say: we use Okta."


def test_an_unsubscribed_lead_is_still_a_lead(client, clock, offer, mailoutbox):
    clock.move_to(OFFERED + timedelta(hours=1))  # Tue 11:00
    (offer_mail,) = mail_of(mailoutbox, OFFER, LEAD_ALERT)
    unsubscribe_one_click(client, offer_mail)
    interested(client, clock, offer)
    advance_to(clock, CONFIRMED)
    (flag,) = events("lead.flagged")
    assert flag.properties["subscribed"] is False
    advance_to(clock, ALERTED)
    (page_mail,) = mail_to(mailoutbox, SALES_INBOX)
    assert "reply personally" in page_mail.body
    assert Alert.objects.get().payload["subscribed"] is False


def test_converting_right_after_the_flag_still_pages_sales_exactly_once(
    api, client, clock, offer, mailoutbox
):
    interested(client, clock, offer)
    advance_to(clock, CONFIRMED)
    clock.move_to(CONFIRMED + timedelta(seconds=5))
    send_event(api, "subscription.created", "u_lea", {"plan": "team"})
    # The run finished with the flag, so the exit finds nothing live to cancel;
    # the alert lives outside the run and cannot be cancelled either.
    assert the_run().status == "completed"
    advance_to(clock, ALERTED)
    advance(clock, timedelta(hours=1))
    assert len(mail_to(mailoutbox, SALES_INBOX)) == 1
    assert Alert.objects.count() == 1


def test_converting_before_answering_withdraws_the_offer(api, client, clock, offer, mailoutbox):
    clock.move_to(OFFERED + timedelta(hours=1))
    send_event(api, "subscription.created", "u_lea", {"plan": "team"})
    assert (the_run().status, the_run().exit_reason) == ("exited", "event:subscription.created")
    interested(client, clock, offer)
    advance_to(clock, ALERTED)
    assert [e.properties["answer"] for e in events("offer.answered")] == ["interested"]
    assert events("lead.flagged") == [] and mail_to(mailoutbox, SALES_INBOX) == []


def test_the_alert_task_retried_after_its_send_pages_sales_once(client, clock, offer, mailoutbox):
    interested(client, clock, offer)
    advance_to(clock, CONFIRMED)
    advance_to(clock, ALERTED)
    assert len(mail_to(mailoutbox, SALES_INBOX)) == 1
    # The task crashed after the provider accepted the email: it runs again.
    HandlerJob.objects.filter(handler="notify-lead").update(status="pending", claimed_until=None)
    advance(clock, timedelta(minutes=1))
    assert HandlerJob.objects.get(handler="notify-lead").status == "done"
    assert len(mail_to(mailoutbox, SALES_INBOX)) == 1
    assert EmailSend.objects.filter(to_email=SALES_INBOX).count() == 1


def test_not_now_flags_nobody(client, clock, offer, mailoutbox):
    clock.move_to(CLICKED)
    click(client, email_links(offer)["Not right now"])
    advance_to(clock, ALERTED + timedelta(hours=1))
    assert [e.properties["answer"] for e in events("offer.answered")] == ["not_now"]
    assert the_run().status == "completed"
    assert events("lead.flagged") == [] and not Alert.objects.exists()


def test_silence_for_four_days_flags_nobody(clock, offer, mailoutbox):
    advance_to(clock, OFFERED + timedelta(days=4))
    assert the_run().status == "completed"
    assert events("lead.flagged") == [] and len(mail_of(mailoutbox, OFFER, LEAD_ALERT)) == 1


def test_a_second_trial_start_never_offers_again(api, clock, offer, mailoutbox):
    advance_to(clock, OFFERED + timedelta(days=30))
    send_event(api, "trial.started", "u_lea")
    advance(clock, timedelta(days=2))
    assert JourneyRun.objects.filter(journey_id="setup-offer").count() == 1
    assert len(sent("offer/setup-call")) == 1
