"""The answer page's beacon: a person seen on the page has her answer confirmed at
once; a scanner (HEAD, bot, plain fetch, forged or replayed token, or every answer
link of the email opened together) never gets an answer that way."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.management import call_command

from tests.tracking.conftest import answer_link
from tracking.forms import answer_form_token
from tracking.mailer import email_send
from tracking.models import EmailSend, LinkClick, TrackedLink, UserEvent
from tracking.send_types import Origin

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
HUMAN = {"HTTP_USER_AGENT": "Mozilla/5.0 (Macintosh)"}
ANSWERED = "support.followup_answered"


@pytest.fixture
def clock_start() -> datetime:
    return NOON


@pytest.fixture
def nps(ada, mailoutbox) -> EmailSend:
    result = email_send(to=ada.email, template="feedback/nps-survey", contact=ada,
                        origin=Origin(journey_id="nps-survey"))
    return EmailSend.objects.get(pk=result.email_send_id)


def answers(event: str = ANSWERED) -> list[str]:
    return [p.get("answer") or p.get("band")
            for p in UserEvent.objects.filter(event=event).values_list("properties", flat=True)]


def outcomes() -> list[str]:
    return list(LinkClick.objects.order_by("clicked_at", "id").values_list("outcome", flat=True))


def open_page(client, link: TrackedLink) -> tuple[str, str]:
    """A person's click on the email's button: the click, then her answer page;
    returns the beacon's URL and the link's form token as the page carries them."""
    landing = client.get(f"/v1/t/c/{link.pk}", **HUMAN)
    assert landing.status_code == 302
    html = client.get(f"/v1/t/a/{link.pk}", **HUMAN).content.decode()
    url = re.search(r'<form [^>]*data-beacon="([^"]+)"', html).group(1)
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    return url, token


def beacon(client, url: str, token: str, **extra):
    return client.post(url, {"form_token": token}, **HUMAN, **extra)


def test_the_answer_page_carries_the_beacon_script_and_its_own_url(client, followup):
    no = answer_link(followup, "no")
    html = client.get(f"/v1/t/a/{no.pk}").content.decode()
    assert f'data-beacon="/v1/t/a/{no.pk}/seen"' in html
    script = re.search(r'<script id="answer-beacon">(.*?)</script>', html, re.S).group(1)
    # Loading the page is not enough: the script waits for trusted input.
    assert "event.isTrusted" in script and "document.hasFocus()" in script
    assert "sendBeacon" in script and "&quot;" not in script  # included verbatim


def test_a_beacon_from_the_page_confirms_the_answer_at_once(client, followup, clock):
    no = answer_link(followup, "no")
    url, token = open_page(client, no)
    clock.shift(timedelta(seconds=2))
    response = beacon(client, url, token)
    assert response.status_code == 204 and response.content == b""
    assert answers() == ["no"]
    event = UserEvent.objects.get(event=ANSWERED)
    assert event.idempotency_key == f"sem:{followup.pk}:{ANSWERED}"
    assert event.contact_id == followup.contact_id and event.properties["linkId"] == str(no.pk)
    assert outcomes() == ["confirmed"]
    no.refresh_from_db()
    assert no.semantic_emitted_at == NOON + timedelta(seconds=2)
    # The clock finds nothing left to do, and a repeated beacon writes nothing.
    clock.shift(timedelta(seconds=40))
    call_command("run_due")
    assert beacon(client, url, token).status_code == 204
    assert answers() == ["no"] and outcomes() == ["confirmed"]
    assert UserEvent.objects.filter(event__startswith=ANSWERED).count() == 1


def test_another_answer_clicked_within_the_burst_window_leaves_it_to_the_burst_rule(
        client, followup, clock):
    yes, no = answer_link(followup, "yes"), answer_link(followup, "no")
    client.get(f"/v1/t/c/{yes.pk}", **HUMAN)
    clock.shift(timedelta(seconds=20))
    url, token = open_page(client, no)
    assert beacon(client, url, token).status_code == 204
    assert answers() == [] and outcomes() == ["", ""]
    clock.shift(timedelta(seconds=31))
    call_command("run_due")
    assert answers() == [] and outcomes() == ["burst", "burst"]


def test_a_scanners_head_on_another_answer_link_also_holds_the_beacon_back(
        client, followup, clock):
    yes, no = answer_link(followup, "yes"), answer_link(followup, "no")
    url, token = open_page(client, no)
    client.head(f"/v1/t/c/{yes.pk}")
    assert beacon(client, url, token).status_code == 204
    assert answers() == []
    clock.shift(timedelta(seconds=31))
    call_command("run_due")
    assert answers() == []  # two different answers within 30 s: a burst


def test_an_answer_clicked_more_than_30_seconds_after_another_is_confirmed_at_once(
        client, nps, clock):
    detractor = TrackedLink.objects.get(email_send=nps, event_properties__band="detractor")
    promoter = TrackedLink.objects.get(email_send=nps, event_properties__band="promoter")
    client.get(f"/v1/t/c/{detractor.pk}", **HUMAN)
    clock.shift(timedelta(seconds=31))
    call_command("run_due")
    url, token = open_page(client, promoter)
    assert beacon(client, url, token).status_code == 204
    # The first answer stands; the later one is recorded as a change, at once.
    assert answers("nps.submitted") == ["detractor"]
    assert answers("nps.submitted.changed") == ["promoter"]
    assert outcomes() == ["confirmed", "changed"]


def test_head_and_bot_hits_have_nothing_for_a_beacon_to_confirm(client, followup, clock):
    no = answer_link(followup, "no")
    token = answer_form_token(no.pk)
    client.head(f"/v1/t/c/{no.pk}")
    client.get(f"/v1/t/c/{no.pk}", HTTP_USER_AGENT="Slackbot-LinkExpanding 1.0")
    assert beacon(client, f"/v1/t/a/{no.pk}/seen", token).status_code == 204
    clock.shift(timedelta(minutes=5))
    call_command("run_due")
    assert answers() == [] and outcomes() == ["", ""]
    assert not LinkClick.objects.filter(confirm_at__isnull=False).exists()


def test_a_plain_fetch_of_the_page_keeps_the_30_second_rule(client, followup, clock):
    no = answer_link(followup, "no")
    open_page(client, no)  # the click and the page, and no beacon
    clock.shift(timedelta(seconds=29))
    call_command("run_due")
    assert answers() == [] and outcomes() == [""]
    clock.shift(timedelta(seconds=2))
    call_command("run_due")
    assert answers() == ["no"]


@pytest.mark.parametrize("body", [{}, {"form_token": ""}, {"form_token": "forged"},
                                  {"form_token": "not:a:signed:value"}])
def test_a_beacon_without_a_valid_token_is_refused_and_writes_nothing(
        client, followup, clock, body):
    no = answer_link(followup, "no")
    url, _token = open_page(client, no)
    response = client.post(url, body, **HUMAN)
    assert response.status_code == 400
    assert answers() == [] and outcomes() == [""]


def test_a_beacon_replayed_for_another_link_is_refused(client, followup, clock):
    yes, no = answer_link(followup, "yes"), answer_link(followup, "no")
    _url, no_token = open_page(client, no)
    clock.shift(timedelta(seconds=31))
    call_command("run_due")  # "no" is the answer
    client.get(f"/v1/t/c/{yes.pk}", **HUMAN)
    assert beacon(client, f"/v1/t/a/{yes.pk}/seen", no_token).status_code == 400
    assert answers("support.followup_answered.changed") == []
    assert LinkClick.objects.get(tracked_link=yes).outcome == ""


def test_only_a_post_is_a_beacon(client, followup):
    no = answer_link(followup, "no")
    url, token = open_page(client, no)
    assert client.get(url, {"form_token": token}).status_code == 405
    assert client.head(url).status_code == 405
    assert client.put(url).status_code == 405
    assert answers() == [] and outcomes() == [""]


def test_unknown_malformed_plain_and_erased_links_have_no_beacon(client, followup):
    plain = TrackedLink.objects.create(email_send=followup, original_url="https://example.com/")
    erased = answer_link(followup, "yes")
    TrackedLink.objects.filter(pk=erased.pk).update(original_url="")
    for link_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", plain.pk, erased.pk):
        response = client.post(f"/v1/t/a/{link_id}/seen",
                               {"form_token": answer_form_token(link_id)})
        assert response.status_code == 404, link_id


def test_a_body_that_is_not_a_form_is_a_400(client, followup):
    no = answer_link(followup, "no")
    url, _token = open_page(client, no)
    response = client.post(url, b"\x00\xff{not json", content_type="application/json")
    assert response.status_code == 400
    assert outcomes() == [""]


def test_beacons_are_rate_limited_per_address(client, followup, settings, clock):
    settings.HOSTED_PAGE_RATE_LIMIT = "2/min"
    no = answer_link(followup, "no")
    url, token = open_page(client, no)
    assert client.post(url, {"form_token": "forged"}).status_code == 400
    assert client.post(url, {"form_token": "forged"}).status_code == 400
    limited = beacon(client, url, token)
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert answers() == [] and outcomes() == [""]


def test_a_click_the_clock_holds_is_left_to_the_clock(client, followup, clock):
    no = answer_link(followup, "no")
    url, token = open_page(client, no)
    LinkClick.objects.update(claimed_until=NOON + timedelta(seconds=90))
    assert beacon(client, url, token).status_code == 204
    assert answers() == [] and outcomes() == [""]


def test_a_failed_confirmation_is_released_to_the_30_second_rule(client, followup, clock):
    no = answer_link(followup, "no")
    url, token = open_page(client, no)
    with mock.patch("tracking.semantic.events_ingest", side_effect=RuntimeError("db blip")):
        assert beacon(client, url, token).status_code == 204
    click = LinkClick.objects.get()
    assert (click.outcome, click.claimed_until, click.attempts) == ("", None, 1)
    assert click.confirm_at == NOON + timedelta(seconds=30)
    clock.shift(timedelta(seconds=31))
    call_command("run_due")
    assert answers() == ["no"] and outcomes() == ["confirmed"]
