"""No secret or token reaches the logs: API keys, unsubscribe tokens, webhook secrets."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from rest_framework.test import APIClient

from contacts.tokens import token_make
from hogsend_site.logging import JsonFormatter, PlainFormatter, RunContextFilter

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "hook:" + "w" * 28


@pytest.fixture
def everything_logged(caplog):
    """Capture every record at DEBUG from every logger, formatted as deployed."""
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.request", "django.server", "tracking", "contacts", "journeys",
                 "alerts", "hogsend_site", "anymail", "rest_framework"):
        logging.getLogger(name).setLevel(logging.DEBUG)

    formatters = [JsonFormatter(), PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")]

    def text() -> str:
        """Every record as the production console handlers would write it."""
        lines = [caplog.text]
        for record in caplog.records:
            RunContextFilter().filter(record)
            lines.extend(formatter.format(record) for formatter in formatters)
        return "\n".join(lines)

    return text


def test_api_key_requests_never_log_the_key(everything_logged, ingest_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ingest_key}")
    client.post("/v1/events", {"name": "page.viewed", "userId": "u1"}, format="json")
    client.post("/v1/events", {"bad": "body"}, format="json")
    client.post("/v1/emails", {"to": "x@example.com", "template": "nope"}, format="json")
    wrong = "hsk_" + "n" * 43
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {wrong}")
    assert client.post("/v1/events", {"name": "a", "userId": "u"}, format="json"
                       ).status_code == 401
    logged = everything_logged()
    assert ingest_key not in logged and ingest_key[4:] not in logged
    assert wrong not in logged


def test_unsubscribing_never_logs_the_token(everything_logged, client, ada):
    token = token_make(key=ada.key, email=ada.email)
    client.get(f"/v1/email/unsubscribe?token={token}")
    client.post(f"/v1/email/unsubscribe?token={token}", "List-Unsubscribe=One-Click",
                content_type="application/x-www-form-urlencoded")
    client.get(f"/v1/email/unsubscribe?token={token}x")  # an invalid one is logged neither
    logged = everything_logged()
    assert token not in logged and token.split(":")[0] not in logged


def test_provider_webhooks_never_log_the_secret(everything_logged, client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": WEBHOOK_SECRET}
    payload = {"RecordType": "Bounce", "ID": 1, "Type": "HardBounce", "TypeCode": 1,
               "MessageID": "m", "Email": "a@example.com", "BouncedAt": "2026-06-17T16:33:54Z",
               "Description": "x", "Details": "x", "Metadata": {}, "Tag": "t"}
    for secret in (WEBHOOK_SECRET, "hook:" + "v" * 28):
        auth = "Basic " + base64.b64encode(secret.encode()).decode()
        client.post("/v1/webhooks/email/postmark/tracking/", json.dumps(payload),
                    content_type="application/json", HTTP_AUTHORIZATION=auth)
    logged = everything_logged()
    assert "w" * 28 not in logged and "v" * 28 not in logged
    assert base64.b64encode(WEBHOOK_SECRET.encode()).decode() not in logged


def test_the_metrics_token_is_never_logged(everything_logged, client, settings):
    settings.METRICS_TOKEN = "m" * 40
    client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "m" * 40)
    client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "q" * 40)
    logged = everything_logged()
    assert "m" * 40 not in logged and "q" * 40 not in logged
