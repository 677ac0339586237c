"""PostHog as the first timezone of `ctx.when` (before the contact's own), against a local
server that speaks the shape of PostHog's persons API."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from contacts.models import Contact
from journeys import posthog
from journeys.models import JourneyRun
from tests.journeys.conftest import ingest, run_due
from tests.live_http import Hit, LiveServer, Reply, live_server
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

# The clock fixture: Tue 2026-06-16 14:40 UTC.
TOKYO_MORNING = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)  # Wed 09:00 JST
NEW_YORK_MORNING = datetime(2026, 6, 17, 13, 0, tzinfo=UTC)  # Wed 09:00 EDT
KOLKATA_MORNING = datetime(2026, 6, 17, 3, 30, tzinfo=UTC)  # Wed 09:00 IST
PERSONS = "/api/projects/42/persons/"


def person(properties: dict) -> Reply:
    return Reply(200, json.dumps({"next": None, "results": [
        {"id": 1, "distinct_ids": ["u_kai"], "properties": properties}]}).encode())


@pytest.fixture
def posthog_api(settings) -> Iterator[LiveServer]:
    with live_server() as server:
        settings.POSTHOG_HOST = server.base_url
        settings.POSTHOG_PROJECT_ID = "42"
        settings.POSTHOG_PERSONAL_API_KEY = "phx_personal"
        yield server


def answers(server: LiveServer, reply: Reply) -> None:
    def route(hit: Hit) -> Reply:
        if hit.headers.get("authorization") != "Bearer phx_personal":
            return Reply(401, b'{"detail": "bad key"}')
        return reply

    server.routes[("GET", PERSONS)] = route


def kai(timezone: str = "") -> Contact:
    return Contact.objects.create(external_id="u_kai", email="kai@example.com",
                                  timezone=timezone)


def resolve_ticket() -> JourneyRun:
    ingest("ticket.resolved", user_id="u_kai", properties={"ticket_id": "T-1"})
    run_due()
    return JourneyRun.objects.get(journey_id="support-followup")


def test_the_followup_asks_at_nine_in_the_posthog_zone_and_caches_it(
        clock, posthog_api, mailoutbox):
    answers(posthog_api, person({"$timezone": "Asia/Tokyo", "$geoip_time_zone": "Europe/Paris"}))
    contact = kai()
    run = resolve_ticket()
    assert (run.status, run.wake_at) == ("waiting", TOKYO_MORNING)
    [hit] = posthog_api.hits
    assert parse_qs(urlsplit(hit.path).query) == {"distinct_id": ["u_kai"]}
    contact.refresh_from_db()
    assert contact.timezone == "Asia/Tokyo"  # the column caches PostHog's answer
    clock.move_to(TOKYO_MORNING)
    run_due()
    [send] = EmailSend.objects.filter(template_key="support/followup")
    assert send.sent_at == TOKYO_MORNING and mailoutbox[0].to == ["kai@example.com"]
    assert len(posthog_api.hits) == 1  # the zone is journaled: a replay does not ask again


def test_posthog_wins_over_the_contact_column_which_it_does_not_overwrite(clock, posthog_api):
    answers(posthog_api, person({"$timezone": "Asia/Tokyo"}))
    contact = kai("America/New_York")
    assert resolve_ticket().wake_at == TOKYO_MORNING
    contact.refresh_from_db()
    assert contact.timezone == "America/New_York"


def test_an_invalid_timezone_falls_through_to_the_geoip_zone(clock, posthog_api, caplog):
    answers(posthog_api, person({"$timezone": "Mars/Olympus_Mons",
                                 "$geoip_time_zone": "Asia/Kolkata"}))
    kai()
    assert resolve_ticket().wake_at == KOLKATA_MORNING
    assert "Mars/Olympus_Mons" in caplog.text


def test_a_posthog_error_falls_back_to_the_contact_timezone_silently(
        clock, posthog_api, caplog):
    answers(posthog_api, Reply(500, b'{"detail": "oops"}'))
    contact = kai("America/New_York")
    with caplog.at_level(logging.WARNING, logger="journeys.posthog"):
        run = resolve_ticket()
    assert (run.status, run.wake_at) == ("waiting", NEW_YORK_MORNING)
    assert "PostHog person lookup for u_kai failed" in caplog.text
    contact.refresh_from_db()
    assert contact.timezone == "America/New_York"


def test_a_posthog_timeout_falls_back_to_the_contact_timezone(clock, posthog_api, monkeypatch):
    monkeypatch.setattr(posthog, "TIMEOUT", 0.2)
    answers(posthog_api, Reply(200, b'{"results": []}', delay=1.0))
    kai("America/New_York")
    run = resolve_ticket()
    assert (run.status, run.wake_at) == ("waiting", NEW_YORK_MORNING)
    assert len(posthog_api.hits) == 1


def test_an_unknown_person_falls_back_to_the_contact_timezone(clock, posthog_api):
    answers(posthog_api, Reply(200, b'{"next": null, "results": []}'))
    kai("America/New_York")
    assert resolve_ticket().wake_at == NEW_YORK_MORNING


def test_without_credentials_posthog_is_never_asked(clock, posthog_api, settings):
    settings.POSTHOG_PERSONAL_API_KEY = ""
    answers(posthog_api, person({"$timezone": "Asia/Tokyo"}))
    kai("America/New_York")
    assert resolve_ticket().wake_at == NEW_YORK_MORNING
    assert posthog_api.hits == []


def test_person_timezone_reads_the_persons_api(posthog_api):
    answers(posthog_api, person({"$geoip_time_zone": "Europe/Lisbon"}))
    assert posthog.person_timezone("u_kai") == "Europe/Lisbon"
    answers(posthog_api, Reply(200, b"not json"))
    assert posthog.person_timezone("u_kai") is None
