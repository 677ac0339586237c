"""Authentic (right secret) but malformed provider webhook posts never answer 5xx.

An ESP retries anything that is not 2xx, and a 500 also pages the operator: a
body anymail cannot parse answers 400 (logged once), and stores nothing.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from anymail import urls as anymail_urls

from contacts.models import EmailPreference, PreferenceChange
from tracking.models import ProviderEvent

pytestmark = [pytest.mark.django_db,
              pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")]

SECRET = "hook:" + "s" * 24
AUTH = "Basic " + base64.b64encode(SECRET.encode()).decode()
# Every tracking route anymail mounts (tracking/public_urls.py mounts them all).
ESPS = [pattern.name.removesuffix("_tracking_webhook") for pattern in anymail_urls.urlpatterns
        if (pattern.name or "").endswith("_tracking_webhook")]
# Signing keys, so the providers that verify a signature get as far as their
# validators (which read the body too); without one the route answers 404.
SIGNING = {"MAILGUN_WEBHOOK_SIGNING_KEY": "k", "MANDRILL_WEBHOOK_KEY": "k",
           "MAILERSEND_SIGNING_SECRET": "k", "POSTAL_WEBHOOK_KEY": "aGVsbG8=",
           "UNISENDER_GO_API_KEY": "k", "MAILTRAP_API_TOKEN": "k"}
JSON = "application/json"
GARBAGE = {
    "not-json": (b"this is not json {", JSON),
    "empty": (b"", JSON),
    "empty-list": (b"[]", JSON),
    "empty-object": (b"{}", JSON),
    "null": (b"null", JSON),
    "number": (b"42", JSON),
    "string": (b'"bounce"', JSON),
    "list-of-junk": (b'[1, "x", null, [], true]', JSON),
    "list-of-empty-objects": (b"[{}, {}]", JSON),
    "wrong-types": (json.dumps({
        "event": 5, "type": [], "data": "x", "RecordType": 7, "Email": {}, "ID": [],
        "event-data": 2, "signature": 1, "msys": "x", "events": 3, "Records": 3,
        "Message": 3, "MessageID": {"a": 1}, "email": ["a"], "timestamp": "yesterday",
    }).encode(), JSON),
    "list-of-wrong-types": (json.dumps([{"event": 5, "email": [], "timestamp": "x",
                                         "msys": 1}]).encode(), JSON),
    "form": (b"event=bounce&email=ada%40example.com", "application/x-www-form-urlencoded"),
    "text": (b"bounce ada@example.com", "text/plain"),
    "binary": (bytes(range(256)), "application/octet-stream"),
    "big": (json.dumps([{"x": i} for i in range(100_000)]).encode(), JSON),
}


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET, **SIGNING}


def post(client, esp: str, body: bytes, content_type: str = JSON):
    return client.post(f"/v1/webhooks/email/{esp}/tracking/", body, content_type=content_type,
                       HTTP_AUTHORIZATION=AUTH)


def nothing_stored() -> bool:
    return not (ProviderEvent.objects.exists() or EmailPreference.objects.exists()
                or PreferenceChange.objects.exists())


@pytest.mark.parametrize("garbage", list(GARBAGE))
@pytest.mark.parametrize("esp", ESPS)
def test_no_provider_route_answers_5xx_to_garbage(client, esp, garbage):
    body, content_type = GARBAGE[garbage]
    response = post(client, esp, body, content_type)
    assert response.status_code < 500, (esp, garbage, response.status_code)
    assert nothing_stored()


@pytest.mark.parametrize("esp", ["mailjet", "resend", "postmark", "sendgrid"])
@pytest.mark.parametrize("garbage", ["not-json", "null", "string", "list-of-junk",
                                     "list-of-empty-objects", "form", "binary"])
def test_an_unparseable_post_is_a_400_logged_once(client, caplog, esp, garbage):
    body, content_type = GARBAGE[garbage]
    with caplog.at_level(logging.INFO):
        response = post(client, esp, body, content_type)
    assert response.status_code == 400
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert "malformed" in records[0].getMessage()
    assert "ada@example.com" not in caplog.text  # the body is never logged
    assert nothing_stored()


def test_a_body_over_the_upload_limit_is_a_400(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert post(client, "mailjet", b"[" + b"{}," * 1000 + b"{}]").status_code == 400
    assert nothing_stored()


def test_a_batch_with_one_bad_event_stores_none_of_it(client):
    good = {"email": "ada@example.com", "event": "bounce", "sg_event_id": "e1",
            "sg_message_id": "m1", "timestamp": 1718641000, "reason": "550 no such user",
            "type": "bounce"}
    response = post(client, "sendgrid", json.dumps([good, 5]).encode())
    assert response.status_code == 400
    assert nothing_stored()
    # The same event alone is accepted (the guard rejects only what cannot be parsed).
    assert post(client, "sendgrid", json.dumps([good]).encode()).status_code == 200
    assert ProviderEvent.objects.get().recipient == "ada@example.com"


def test_mailjet_and_resend_still_accept_their_real_payloads(client):
    mailjet = {"event": "bounce", "time": 1718641000, "MessageID": 19421777835146490,
               "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j", "email": "ada@example.com",
               "mj_campaign_id": 0, "mj_contact_id": 1, "customcampaign": "", "hard_bounce": True,
               "blocked": False, "error_related_to": "recipient", "error": "user unknown"}
    assert post(client, "mailjet", json.dumps([mailjet]).encode()).status_code == 200
    resend = {"type": "email.bounced", "created_at": "2026-06-17T16:33:54.000Z",
              "data": {"email_id": "re-1", "to": ["bob@example.com"], "from": "f@example.com",
                       "created_at": "2026-06-17T16:33:50.000Z", "subject": "Hi",
                       "bounce": {"message": "no such user", "type": "Permanent",
                                  "subType": "General"}}}
    assert post(client, "resend", json.dumps(resend).encode()).status_code == 200
    assert set(ProviderEvent.objects.values_list("recipient", flat=True)) == {
        "ada@example.com", "bob@example.com"}
