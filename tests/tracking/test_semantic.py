from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.management import call_command

from tests.tracking.conftest import answer_link
from tracking.mailer import email_send
from tracking.models import EmailSend, LinkClick, TrackedLink, UserEvent
from tracking.send_types import Origin

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
HUMAN = {"HTTP_USER_AGENT": "Mozilla/5.0 (Macintosh)"}


@pytest.fixture
def clock_start() -> datetime:
    return NOON


@pytest.fixture
def nps(ada, mailoutbox) -> EmailSend:
    result = email_send(to=ada.email, template="feedback/nps-survey", contact=ada,
                        origin=Origin(journey_id="nps-survey"))
    return EmailSend.objects.get(pk=result.email_send_id)


def band(send: EmailSend, value: str) -> TrackedLink:
    return TrackedLink.objects.get(email_send=send, event_properties__band=value)


def answers(event: str) -> list[dict]:
    return list(UserEvent.objects.filter(event=event).values_list("properties", flat=True))


def settle(clock, seconds: int = 31) -> None:
    clock.shift(timedelta(seconds=seconds))
    call_command("run_due")


def test_a_human_click_becomes_the_answer_30_seconds_later(client, followup, clock):
    no = answer_link(followup, "no")
    client.get(f"/v1/t/c/{no.pk}", **HUMAN)
    clock.shift(timedelta(seconds=10))
    call_command("run_due")
    assert answers("support.followup_answered") == []
    settle(clock, 21)
    event = UserEvent.objects.get(event="support.followup_answered")
    assert event.idempotency_key == f"sem:{followup.pk}:support.followup_answered"
    assert event.source == "tracking" and event.contact_id == followup.contact_id
    assert event.properties == {"emailSendId": str(followup.pk), "templateKey": "support/followup",
                                "journeyId": "support-followup", "answer": "no",
                                "ticketId": "T-9", "linkId": str(no.pk)}
    no.refresh_from_db()
    assert no.semantic_emitted_at == NOON + timedelta(seconds=31)
    assert LinkClick.objects.get().outcome == "confirmed"


def test_three_distinct_links_within_30_seconds_are_a_scanner_burst(client, nps, clock):
    for value in ("detractor", "passive", "promoter"):
        client.get(f"/v1/t/c/{band(nps, value).pk}", **HUMAN)
        clock.shift(timedelta(seconds=2))
    settle(clock)
    assert answers("nps.submitted") == []
    assert set(LinkClick.objects.values_list("outcome", flat=True)) == {"burst"}
    assert not TrackedLink.objects.filter(semantic_emitted_at__isnull=False).exists()


def test_two_different_answers_within_30_seconds_are_a_burst(client, followup, clock):
    client.get(f"/v1/t/c/{answer_link(followup, 'yes').pk}", **HUMAN)
    clock.shift(timedelta(seconds=20))
    client.get(f"/v1/t/c/{answer_link(followup, 'no').pk}", **HUMAN)
    settle(clock)
    assert answers("support.followup_answered") == []
    assert set(LinkClick.objects.values_list("outcome", flat=True)) == {"burst"}


def test_bot_hits_count_toward_a_burst(client, nps, clock):
    client.get(f"/v1/t/c/{band(nps, 'promoter').pk}", **HUMAN)
    client.get(f"/v1/t/c/{band(nps, 'passive').pk}", HTTP_USER_AGENT="Slackbot 1.0")
    client.head(f"/v1/t/c/{band(nps, 'detractor').pk}")
    settle(clock)
    assert answers("nps.submitted") == []
    assert LinkClick.objects.get(confirm_at__isnull=False).outcome == "burst"


def test_two_clicks_of_the_same_answer_are_not_a_burst(client, followup, clock):
    no = answer_link(followup, "no")
    client.get(f"/v1/t/c/{no.pk}", **HUMAN)
    clock.shift(timedelta(seconds=5))
    client.get(f"/v1/t/c/{no.pk}", **HUMAN)
    settle(clock, 40)
    assert [a["answer"] for a in answers("support.followup_answered")] == ["no"]
    # The repeat click names the same link as the stored answer: an idempotent tail.
    assert set(LinkClick.objects.values_list("outcome", flat=True)) == {"confirmed"}


def test_the_first_confirmed_answer_wins_and_a_later_different_one_is_kept_as_a_change(
        client, nps, clock):
    passive, promoter = band(nps, "passive"), band(nps, "promoter")
    client.get(f"/v1/t/c/{passive.pk}", **HUMAN)
    settle(clock, 60)
    client.get(f"/v1/t/c/{promoter.pk}", **HUMAN)
    settle(clock)
    assert [a["band"] for a in answers("nps.submitted")] == ["passive"]
    assert LinkClick.objects.get(tracked_link=promoter).outcome == "changed"
    promoter.refresh_from_db()
    assert promoter.semantic_emitted_at is None and promoter.click_count == 1
    first = UserEvent.objects.get(event="nps.submitted")
    change = UserEvent.objects.get(event="nps.submitted.changed")
    click = LinkClick.objects.get(tracked_link=promoter)
    assert change.idempotency_key == f"semchange:{click.pk}"
    assert change.contact_id == nps.contact_id and change.source == "tracking"
    assert change.properties == {
        "emailSendId": str(nps.pk), "templateKey": "feedback/nps-survey",
        "journeyId": "nps-survey", "band": "promoter", "linkId": str(promoter.pk),
        "parentEvent": "nps.submitted", "previousLinkId": str(passive.pk),
        "previousBand": "passive", "answerEventId": first.pk,
        "firstAnsweredAt": first.occurred_at.isoformat()}


def test_the_latest_answer_again_is_nothing_new_and_a_change_back_is_a_change(
        client, followup, clock):
    no, yes = answer_link(followup, "no"), answer_link(followup, "yes")
    for link in (no, yes, yes, no):
        client.get(f"/v1/t/c/{link.pk}", **HUMAN)
        settle(clock, 60)
    outcomes = list(LinkClick.objects.order_by("clicked_at").values_list("outcome", flat=True))
    assert outcomes == ["confirmed", "changed", "lost", "changed"]
    assert [a["answer"] for a in answers("support.followup_answered")] == ["no"]
    changes = answers("support.followup_answered.changed")
    assert [(c["answer"], c["previousAnswer"]) for c in changes] == [("yes", "no"), ("no", "yes")]


def test_changed_answers_are_capped_per_email_per_day(client, followup, clock, settings):
    settings.ANSWER_CHANGES_PER_SEND_DAY = 2
    settings.TRACKING_CLICKS_PER_SEND_HOUR = 0
    no, yes = answer_link(followup, "no"), answer_link(followup, "yes")
    for link in (no, yes, no, yes):
        client.get(f"/v1/t/c/{link.pk}", **HUMAN)
        settle(clock, 60)
    assert len(answers("support.followup_answered.changed")) == 2
    assert LinkClick.objects.order_by("clicked_at").last().outcome == "lost"
    clock.move_to(datetime(2026, 6, 18, 9, 0, tzinfo=UTC))  # a new UTC day
    client.get(f"/v1/t/c/{yes.pk}", **HUMAN)  # the latest recorded answer is "no"
    settle(clock, 60)
    assert len(answers("support.followup_answered.changed")) == 3


def test_a_later_answer_inside_a_scanner_burst_records_no_change(client, nps, clock):
    client.get(f"/v1/t/c/{band(nps, 'passive').pk}", **HUMAN)
    settle(clock, 60)
    for value in ("detractor", "promoter"):
        client.get(f"/v1/t/c/{band(nps, value).pk}", **HUMAN)
        clock.shift(timedelta(seconds=2))
    settle(clock)
    assert answers("nps.submitted.changed") == []
    assert list(LinkClick.objects.order_by("clicked_at").values_list("outcome", flat=True)) == [
        "confirmed", "burst", "burst"]


def test_clicks_more_than_30_seconds_apart_are_separate_questions_of_time(client, nps, clock):
    client.get(f"/v1/t/c/{band(nps, 'detractor').pk}", **HUMAN)
    clock.shift(timedelta(seconds=31))
    client.get(f"/v1/t/c/{band(nps, 'passive').pk}", **HUMAN)
    clock.shift(timedelta(seconds=31))
    client.get(f"/v1/t/c/{band(nps, 'promoter').pk}", **HUMAN)
    settle(clock)
    assert [a["band"] for a in answers("nps.submitted")] == ["detractor"]


def test_a_failed_confirmation_is_retried_after_its_lease(client, followup, clock):
    client.get(f"/v1/t/c/{answer_link(followup, 'no').pk}", **HUMAN)
    with mock.patch("tracking.semantic.events_ingest", side_effect=RuntimeError("db blip")):
        settle(clock)
    click = LinkClick.objects.get()
    assert click.outcome == "" and click.attempts == 1
    call_command("run_due")  # still leased: nothing happens
    assert LinkClick.objects.get().attempts == 1
    settle(clock, 91)
    assert LinkClick.objects.get().outcome == "confirmed"
    assert len(answers("support.followup_answered")) == 1


def test_a_click_that_keeps_failing_is_skipped_after_three_attempts(client, followup, clock):
    client.get(f"/v1/t/c/{answer_link(followup, 'no').pk}", **HUMAN)
    with mock.patch("tracking.semantic.events_ingest", side_effect=RuntimeError("broken")):
        settle(clock)
        for _ in range(3):
            settle(clock, 91)
    click = LinkClick.objects.get()
    assert (click.outcome, click.attempts) == ("skipped", 4)
    assert answers("support.followup_answered") == []


def test_a_crashed_confirmation_that_already_claimed_the_slot_finishes(client, followup, clock):
    no = answer_link(followup, "no")
    client.get(f"/v1/t/c/{no.pk}", **HUMAN)
    # The answer was ingested but the worker died before writing the outcome.
    UserEvent.objects.create(contact=followup.contact, user_key="u_ada",
                             event="support.followup_answered", properties={"linkId": str(no.pk)},
                             idempotency_key=f"sem:{followup.pk}:support.followup_answered")
    settle(clock)
    assert LinkClick.objects.get().outcome == "confirmed"
    no.refresh_from_db()
    assert no.semantic_emitted_at is not None
