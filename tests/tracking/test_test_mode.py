"""Test mode: journeys run on real data, and no customer receives anything."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from tests.recipes.helpers import (
    advance,
    advance_to,
    answer_page,
    email_links,
    events,
    identify,
    send_event,
    sent,
)
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

TEST_INBOX = "qa@team.example"
RESOLVED = datetime(2026, 6, 16, 14, 40, tzinfo=UTC)
MORNING = datetime(2026, 6, 17, 7, 0, tzinfo=UTC)  # 09:00 in Berlin


@pytest.fixture
def redirecting(settings):
    settings.HOGSEND_TEST_MODE = True
    settings.HOGSEND_TEST_EMAIL = TEST_INBOX


@pytest.fixture
def blocking(settings):
    settings.HOGSEND_TEST_MODE = True
    settings.HOGSEND_TEST_EMAIL = ""


def send(api, to: str = "ada@example.com", **extra):
    body = {"to": to, "template": "support/followup", "props": {"ticketId": "T-1"}, **extra}
    return api.post("/v1/emails", body, format="json")


def test_every_email_goes_to_the_test_inbox_with_the_real_recipient_in_the_subject(
    api, ada, redirecting, mailoutbox, caplog
):
    with caplog.at_level(logging.WARNING, logger="hogsend.test_mode"):
        response = send(api)

    assert response.status_code == 202 and response.json()["status"] == "sent"
    (message,) = mailoutbox
    assert message.to == [TEST_INBOX] and not message.cc and not message.bcc
    assert message.subject == "[TEST → ada@example.com] Did that fix it?"
    row = EmailSend.objects.get(pk=response.json()["emailSendId"])
    assert row.to_email == "ada@example.com"  # the send is still hers
    assert row.metadata["testMode"] == {"redirectedTo": TEST_INBOX}
    assert any("email.test_mode_redirect" in r.getMessage() and str(row.pk) in r.getMessage()
               for r in caplog.records)


def test_without_a_test_inbox_nothing_is_sent_and_the_send_is_recorded_as_blocked(
    api, ada, blocking, mailoutbox
):
    response = send(api, idempotencyKey="k-1")

    assert response.status_code == 202
    assert (response.json()["status"], response.json()["reason"]) == ("skipped",
                                                                      "test_mode_blocked")
    assert mailoutbox == []
    row = EmailSend.objects.get(pk=response.json()["emailSendId"])
    assert (row.status, row.reason, row.idempotency_key) == ("suppressed", "test_mode_blocked",
                                                             None)


def test_a_send_blocked_in_test_mode_goes_out_once_test_mode_is_off(
    api, ada, settings, mailoutbox
):
    settings.HOGSEND_TEST_MODE, settings.HOGSEND_TEST_EMAIL = True, ""
    send(api, idempotencyKey="k-2")
    settings.HOGSEND_TEST_MODE = False

    response = send(api, idempotencyKey="k-2")

    assert response.json()["status"] == "sent"
    assert [m.to for m in mailoutbox] == [["ada@example.com"]]


def test_preferences_are_still_those_of_the_real_recipient(api, unsubscribed, redirecting,
                                                           mailoutbox):
    response = send(api, to=unsubscribed.email)

    assert response.json()["status"] == "unsubscribed"
    assert mailoutbox == []


def test_a_journey_runs_and_its_answers_work_while_its_email_goes_to_the_test_inbox(
    api, client, redirecting, mailoutbox
):
    with time_machine.travel(RESOLVED, tick=False) as clock:
        identify(api, "u_ada", "ada@example.com", timezone="Europe/Berlin")
        send_event(api, "ticket.resolved", "u_ada", {"ticket_id": "T-9"})
        advance_to(clock, MORNING)

        (message,) = mailoutbox
        assert message.to == [TEST_INBOX]
        (email,) = sent("support/followup")
        answer_page(client, email_links(email)["Yes, all sorted"])
        advance(clock, timedelta(seconds=31))

        (answer,) = events("support.followup_answered")
        assert (answer.user_key, answer.properties["answer"]) == ("u_ada", "yes")


def test_test_mode_is_visible_in_healthz_the_admin_and_the_system_checks(
    client, admin_user, blocking, capsys
):
    body = client.get("/healthz").json()
    assert body["testMode"] == {"enabled": True, "redirectTo": None, "blocking": True}

    client.force_login(admin_user)
    page = client.get("/admin/").content.decode()
    assert "Test mode is on" in page and "no email is sent" in page

    call_command("check")
    assert "hogsend.W102" in capsys.readouterr().err


def test_without_test_mode_nothing_says_so(client, admin_user):
    assert client.get("/healthz").json()["testMode"] == {"enabled": False}
    client.force_login(admin_user)
    assert "Test mode is on" not in client.get("/admin/").content.decode()
