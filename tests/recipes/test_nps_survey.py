"""The NPS survey recipe: three one-click bands, at most once per 90 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alerts.models import Alert
from journeys.models import JourneyLog, JourneyRun
from tests.recipes.helpers import (
    advance,
    advance_to,
    click,
    comment,
    email_links,
    events,
    identify,
    mail_to,
    send_event,
    sent,
)
from tracking.mailer import email_send
from tracking.models import EmailSend, LinkClick, TrackedLink
from tracking.send_types import Origin

pytestmark = pytest.mark.django_db

T = datetime(2026, 6, 16, 10, 0, tzinfo=UTC)
GRACE = timedelta(minutes=3)
ADA = "ada@example.com"
SUPPORT_INBOX = "support@example.com"


@pytest.fixture
def clock_start() -> datetime:
    return T


@pytest.fixture
def survey(api, clock, mailoutbox) -> EmailSend:
    """Ada is active; the survey goes out at once."""
    identify(api, "u_ada", ADA)
    send_event(api, "app.active", "u_ada")
    (email,) = sent("feedback/nps-survey")
    return email


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="nps-survey")


def answer(client, clock, survey: EmailSend, label: str, *, after: timedelta) -> None:
    """Click one band `after` the survey went out and let it be confirmed."""
    clock.shift(after)
    click(client, email_links(survey)[label])
    advance(clock, timedelta(seconds=30))


def test_the_survey_goes_out_at_once_with_three_band_buttons(survey, mailoutbox):
    (message,) = mailoutbox
    assert (message.to, message.subject) == ([ADA], "How likely are you to recommend us?")
    assert survey.sent_at == T
    bands = {
        link.event_properties["band"]
        for link in TrackedLink.objects.filter(email_send=survey, event="nps.submitted")
    }
    assert bands == {"detractor", "passive", "promoter"}
    assert {"0–6", "7–8", "9–10"} <= set(email_links(survey))


def test_it_surveys_at_most_once_every_90_days(api, mailoutbox):
    identify(api, "u_ada", ADA)
    with time_machine.travel(datetime(2026, 1, 1, 10, 0, tzinfo=UTC), tick=False) as clock:
        send_event(api, "app.active", "u_ada")
        send_event(api, "app.active", "u_ada")
        advance(clock, timedelta(days=7))
        assert JourneyRun.objects.get().status == "completed"

        clock.move_to(datetime(2026, 3, 31, 10, 0, tzinfo=UTC))  # day 89
        send_event(api, "app.active", "u_ada")
        assert JourneyRun.objects.count() == 1
        assert len(sent("feedback/nps-survey")) == 1

        clock.move_to(datetime(2026, 4, 2, 10, 0, tzinfo=UTC))  # day 91
        send_event(api, "app.active", "u_ada")
        assert JourneyRun.objects.count() == 2
        assert [e.sent_at for e in sent("feedback/nps-survey")][-1] == datetime(
            2026, 4, 2, 10, 0, tzinfo=UTC
        )
    assert len(mail_to(mailoutbox, ADA)) == 2


def test_a_detractor_is_flagged_for_a_human_and_gets_no_automated_reply(
    client, clock, survey, mailoutbox
):
    answer(client, clock, survey, "0–6", after=timedelta(hours=2))

    (score,) = events("nps.submitted")
    assert score.properties["band"] == "detractor"
    (flag,) = events("nps.detractor_flagged")
    assert flag.properties["band"] == "detractor"
    assert flag.properties["sourceEvent"] == "nps.submitted"
    assert flag.properties["sourceTemplate"] == "feedback/nps-survey"
    assert flag.properties["answeredAt"] == score.occurred_at.isoformat()
    # Scalars only, no identity: the alert resolves who it was server-side.
    assert not any("@" in str(value) for value in flag.properties.values())
    assert not {"email", "name", "userEmail"} & set(flag.properties)
    run = the_run()
    assert run.status == "completed"
    assert JourneyLog.objects.filter(run=run, action="checkpoint", to_step="detractor-flagged")

    advance(clock, GRACE)

    assert len(mail_to(mailoutbox, ADA)) == 1  # the survey, nothing after it
    (page,) = mail_to(mailoutbox, SUPPORT_INBOX)
    assert page.subject == f"[NPS detractor] {ADA}"
    (alert,) = Alert.objects.all()
    assert (alert.kind, alert.contact.email, alert.journey_run_id) == ("nps_detractor", ADA, run.pk)


def test_a_detractors_note_is_folded_into_the_alert(client, clock, survey, mailoutbox):
    clock.shift(timedelta(hours=2))
    page = click(client, email_links(survey)["0–6"])["Location"]
    advance(clock, timedelta(seconds=30))  # confirmed; the alert waits out its grace window
    clock.shift(timedelta(seconds=40))
    comment(client, page, "Too slow on large accounts.")
    advance(clock, GRACE)
    (page_mail,) = mail_to(mailoutbox, SUPPORT_INBOX)
    assert "Too slow on large accounts." in page_mail.body


def test_a_promoter_gets_the_referral_ask(client, clock, survey, mailoutbox):
    answer(client, clock, survey, "9–10", after=timedelta(days=3))
    (ask,) = sent("feedback/referral-ask")
    assert ask.to_email == ADA
    assert ask.subject == "Glad it's working — know a team who'd want this?"
    assert ask.sent_at == T + timedelta(days=3, seconds=30)
    assert the_run().status == "completed"


def test_a_promoter_who_answers_within_the_24h_suppress_window_still_gets_the_ask(
    client, clock, survey, mailoutbox
):
    answer(client, clock, survey, "9–10", after=timedelta(hours=2))
    assert [e.to_email for e in sent("feedback/referral-ask")] == [ADA]
    assert len(mail_to(mailoutbox, ADA)) == 2


def test_a_passive_answer_ends_the_run(client, clock, survey, mailoutbox):
    answer(client, clock, survey, "7–8", after=timedelta(hours=5))
    assert the_run().status == "completed"
    assert len(mailoutbox) == 1 and not events("nps.detractor_flagged")


def test_the_first_answer_wins_and_the_later_one_is_kept_as_a_change(
        client, clock, survey, mailoutbox):
    answer(client, clock, survey, "7–8", after=timedelta(hours=1))
    answer(client, clock, survey, "9–10", after=timedelta(minutes=1))
    assert [e.properties["band"] for e in events("nps.submitted")] == ["passive"]
    assert sent("feedback/referral-ask") == []
    outcomes = list(LinkClick.objects.order_by("clicked_at").values_list("outcome", flat=True))
    assert outcomes == ["confirmed", "changed"]
    (change,) = events("nps.submitted.changed")
    assert (change.properties["band"], change.properties["previousBand"]) == (
        "promoter", "passive")
    assert len(mailoutbox) == 1


def test_a_scanner_clicking_every_band_records_no_score(client, clock, survey, mailoutbox):
    for label in ("0–6", "7–8", "9–10"):
        click(client, email_links(survey)[label])
        clock.shift(timedelta(seconds=2))
    advance(clock, timedelta(seconds=30))
    assert events("nps.submitted") == []
    assert set(LinkClick.objects.values_list("outcome", flat=True)) == {"burst"}
    advance_to(clock, T + timedelta(days=7))
    assert the_run().status == "completed"
    assert len(mailoutbox) == 1 and not Alert.objects.exists()


def test_silence_ends_the_run_after_a_week_with_no_reminder(clock, survey, mailoutbox):
    advance_to(clock, T + timedelta(days=7) - timedelta(seconds=1))
    assert the_run().status == "waiting"
    advance(clock, timedelta(seconds=1))
    assert the_run().status == "completed"
    assert len(mailoutbox) == 1


def test_the_eleven_button_variant_answers_with_a_numeric_score(client, clock, survey, mailoutbox):
    # A team trying the 0-10 variant sends it alongside; its answers share nps.submitted.
    result = email_send(
        to=ADA, template="feedback/nps-survey-0-10", user_id="u_ada",
        origin=Origin(journey_id="nps-survey"),
    )
    variant = EmailSend.objects.get(pk=result.email_send_id)
    scores = [
        link.event_properties["score"]
        for link in TrackedLink.objects.filter(email_send=variant).order_by("original_url")
        if link.event == "nps.submitted"
    ]
    assert sorted(scores) == list(range(11))
    assert all(type(score) is int for score in scores)

    answer(client, clock, variant, "3", after=timedelta(hours=1))

    (flag,) = events("nps.detractor_flagged")
    assert (flag.properties["band"], flag.properties["score"]) == ("detractor", 3)
