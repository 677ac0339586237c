from __future__ import annotations

from unittest import mock

import pytest
from anymail.message import AnymailMessage

from tracking.models import EmailSend


def send(client, body: dict, **headers):
    return client.post("/v1/emails", body, format="json", **headers)


def test_it_sends_and_answers_202(api, ada, mailoutbox):
    response = send(api, {"to": "ada@example.com", "template": "feedback/referral-ask",
                          "props": {"firstName": "Ada"}, "subject": "Hello",
                          "from": "Team <team@example.com>", "replyTo": "help@example.com"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body == {"emailSendId": body["emailSendId"], "status": "sent"}
    row = EmailSend.objects.get(pk=body["emailSendId"])
    assert row.status == "sent" and row.journey_id == ""
    message = mailoutbox[0]
    assert (message.subject, message.from_email, message.reply_to) == (
        "Hello", "Team <team@example.com>", ["help@example.com"])
    assert "Hi Ada," in message.body


def test_it_sends_to_a_user_id_by_the_contacts_address(api, ada, mailoutbox):
    response = send(api, {"userId": "u_ada", "template": "feedback/referral-ask"})
    assert response.status_code == 202
    assert mailoutbox[0].to == ["ada@example.com"]
    assert EmailSend.objects.get().contact_id == ada.pk


def test_a_user_id_without_an_address_is_404(api, anon, db):
    response = send(api, {"userId": "nobody", "template": "feedback/referral-ask"})
    assert response.status_code == 404
    assert response.json() == {"error": "No email address for this userId"}


def test_an_unknown_template_is_400(api, db):
    response = send(api, {"to": "a@example.com", "template": "nope/nothing"})
    assert response.status_code == 400
    assert response.json() == {"error": "Unknown template: nope/nothing"}


def test_to_or_user_id_is_required(api, db):
    response = send(api, {"template": "feedback/referral-ask"})
    assert response.status_code == 400 and "to or userId is required" in response.json()["error"]


def test_an_unknown_category_is_400(api, db):
    response = send(api, {"to": "a@example.com", "template": "feedback/referral-ask",
                          "category": "nonsense"})
    assert response.status_code == 400 and "unknown category" in response.json()["error"]


def test_skip_preference_check_needs_the_admin_scope(api, admin_api, unsubscribed, mailoutbox):
    body = {"to": "gone@example.com", "template": "transactional/support-alert",
            "skipPreferenceCheck": True}
    refused = send(api, body)
    assert refused.status_code == 403
    assert refused.json() == {"error": "skipPreferenceCheck requires an admin key"}
    assert send(admin_api, body).json()["status"] == "sent"
    assert len(mailoutbox) == 1


def test_an_unsubscribed_recipient_is_reported_with_a_reason(api, unsubscribed, mailoutbox):
    response = send(api, {"to": "gone@example.com", "template": "feedback/referral-ask"})
    assert response.status_code == 202
    assert response.json()["status"] == "unsubscribed"
    assert response.json()["reason"] == "unsubscribed"
    assert mailoutbox == []


def test_the_idempotency_header_wins_and_a_retry_sends_nothing(api, ada, mailoutbox):
    body = {"to": "ada@example.com", "template": "feedback/referral-ask",
            "idempotencyKey": "body-key"}
    first = send(api, body, HTTP_IDEMPOTENCY_KEY="header-key").json()
    assert EmailSend.objects.get().idempotency_key == "header-key"
    second = send(api, body, HTTP_IDEMPOTENCY_KEY="header-key").json()
    assert second == {"emailSendId": first["emailSendId"], "status": "sent",
                      "reason": "duplicate"}
    assert len(mailoutbox) == 1


def test_a_provider_failure_is_502_and_releases_the_key(api, ada, mailoutbox):
    body = {"to": "ada@example.com", "template": "feedback/referral-ask", "idempotencyKey": "k"}
    with mock.patch.object(AnymailMessage, "send", side_effect=ConnectionError("ESP down")):
        response = send(api, body)
    assert response.status_code == 502
    assert response.json() == {"error": "Email provider error"}
    assert send(api, body).json()["status"] == "sent"


@pytest.mark.usefixtures("start_of_a_minute")
def test_the_rate_limit_is_30_a_minute_per_key(api, admin_api, ada, mailoutbox):
    body = {"to": "ada@example.com", "template": "feedback/referral-ask"}
    statuses = [send(api, body).status_code for _ in range(31)]
    assert statuses[:30] == [202] * 30
    limited = send(api, body)
    assert limited.status_code == 429
    assert limited.json() == {"error": "Rate limit exceeded"}
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert send(admin_api, body).status_code == 202  # another key has its own budget


@pytest.mark.usefixtures("start_of_a_minute")
def test_the_rate_limit_is_a_setting(api, ada, mailoutbox, settings):
    settings.EMAILS_RATE_LIMIT = "1/min"
    body = {"to": "ada@example.com", "template": "feedback/referral-ask"}
    assert [send(api, body).status_code for _ in range(2)] == [202, 429]


def test_a_missing_key_is_401(client, db):
    response = client.post("/v1/emails", {}, content_type="application/json")
    assert response.status_code == 401
