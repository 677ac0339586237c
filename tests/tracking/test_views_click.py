from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.tracking.conftest import answer_link
from tracking.bots import is_prefetch
from tracking.models import EmailSend, LinkClick, TrackedLink, UserEvent

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)


def test_it_redirects_at_once_and_records_the_click(client, followup,
                                                    django_capture_on_commit_callbacks):
    link = answer_link(followup, "no")
    with time_machine.travel(NOON, tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/v1/t/c/{link.pk}", HTTP_USER_AGENT="Mozilla/5.0",
                              REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302
    assert response["Location"] == f"http://testserver/v1/t/a/{link.pk}"
    click = LinkClick.objects.get()
    assert (click.ip_address, click.user_agent, click.method, click.is_bot) == (
        "203.0.113.7", "Mozilla/5.0", "GET", False)
    assert click.confirm_at == NOON + timedelta(seconds=30)
    link.refresh_from_db()
    followup.refresh_from_db()
    assert link.click_count == 1
    assert followup.clicked_at == NOON and followup.status == "clicked"
    event = UserEvent.objects.get(event="email.link_clicked")
    assert event.contact_id == followup.contact_id and event.source == "tracking"
    assert event.properties == {"emailSendId": str(followup.pk), "templateKey": "support/followup",
                                "journeyId": "support-followup", "linkUrl": link.original_url,
                                "linkId": str(link.pk)}


def test_the_ip_is_the_socket_unless_a_trusted_proxy_forwarded_the_click(client, followup,
                                                                         settings):
    link = answer_link(followup, "yes")
    client.get(f"/v1/t/c/{link.pk}", HTTP_X_REAL_IP="198.51.100.2",
               HTTP_X_FORWARDED_FOR="198.51.100.3", REMOTE_ADDR="192.0.2.9")
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    client.get(f"/v1/t/c/{link.pk}", HTTP_X_FORWARDED_FOR="198.51.100.3",
               REMOTE_ADDR="10.0.0.1")
    assert list(LinkClick.objects.order_by("id").values_list("ip_address", flat=True)) == [
        "192.0.2.9", "198.51.100.3"]


def test_repeat_clicks_count_with_one_first_click_time(client, followup):
    link = answer_link(followup, "yes")
    with time_machine.travel(NOON, tick=False) as clock:
        client.get(f"/v1/t/c/{link.pk}")
        clock.shift(timedelta(minutes=5))
        client.get(f"/v1/t/c/{link.pk}")
    link.refresh_from_db()
    followup.refresh_from_db()
    assert link.click_count == 2 and LinkClick.objects.count() == 2
    assert followup.clicked_at == NOON


@pytest.mark.parametrize("headers", [
    {"HTTP_USER_AGENT": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
    {"HTTP_USER_AGENT": "Mozilla/5.0 (compatible; Googlebot/2.1)"},
    {"HTTP_PURPOSE": "prefetch"},
    {"HTTP_X_PURPOSE": "preview"},
    {"HTTP_X_MOZ": "prefetch"},
    {"HTTP_SEC_PURPOSE": "prefetch;prerender"},
])
def test_bot_and_prefetch_hits_record_the_click_but_never_an_answer(
    client, followup, headers, django_capture_on_commit_callbacks,
):
    link = answer_link(followup, "no")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/v1/t/c/{link.pk}", **headers)
    assert response.status_code == 302
    click = LinkClick.objects.get()
    assert click.is_bot is True and click.confirm_at is None
    assert not UserEvent.objects.filter(event="email.link_clicked").exists()


def test_a_head_request_is_a_prefetch(client, followup, django_capture_on_commit_callbacks):
    link = answer_link(followup, "no")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.head(f"/v1/t/c/{link.pk}", HTTP_USER_AGENT="Mozilla/5.0")
    assert response.status_code == 302
    click = LinkClick.objects.get()
    assert click.method == "HEAD" and click.confirm_at is None
    assert TrackedLink.objects.get(pk=link.pk).click_count == 1
    assert not UserEvent.objects.filter(event="email.link_clicked").exists()


def test_a_plain_link_click_is_tracked_without_confirmation(client, ada, mailoutbox):
    from tracking.mailer import email_send

    email_send(to=ada.email, template="feedback/referral-ask", contact=ada)
    link = TrackedLink.objects.get()
    assert link.original_url == "https://example.com/refer"
    response = client.get(f"/v1/t/c/{link.pk}")
    assert response["Location"] == "https://example.com/refer"
    assert LinkClick.objects.get().confirm_at is None


@pytest.mark.parametrize("link_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "1"])
def test_an_unknown_or_malformed_id_goes_home(client, db, link_id):
    response = client.get(f"/v1/t/c/{link_id}")
    assert response.status_code == 302 and response["Location"] == "http://testserver"
    assert not LinkClick.objects.exists()


def test_the_open_pixel_is_a_gif_that_records_the_first_open(
    client, followup, django_capture_on_commit_callbacks,
):
    with time_machine.travel(NOON, tick=False) as clock, \
            django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/v1/t/o/{followup.pk}")
        clock.shift(timedelta(hours=1))
        client.get(f"/v1/t/o/{followup.pk}")
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert len(response.content) == 42
    assert response["Cache-Control"] == "no-store, no-cache, must-revalidate"
    assert response["Pragma"] == "no-cache" and response["Expires"] == "0"
    followup.refresh_from_db()
    assert followup.opened_at == NOON and followup.status == "opened"
    assert UserEvent.objects.filter(event="email.opened", contact=followup.contact).count() == 2


@pytest.mark.parametrize("send_id", ["00000000-0000-4000-8000-000000000000", "junk"])
def test_the_pixel_answers_even_for_unknown_ids(client, db, send_id):
    response = client.get(f"/v1/t/o/{send_id}")
    assert response.status_code == 200 and len(response.content) == 42
    assert not EmailSend.objects.exists()


def test_prefetch_detection_is_a_pure_function():
    assert is_prefetch({"User-Agent": "WhatsApp/2.23"})
    assert not is_prefetch({"User-Agent": "Mozilla/5.0 (iPhone)"})
    assert not is_prefetch({"Purpose": "navigate"})
