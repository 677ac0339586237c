"""`hogsend.verify_webhook` against deliveries the server really signs and posts: a
receiver on localhost gets them from the `webhook-deliveries` due work."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from hogsend import HogsendError, WebhookVerificationError, verify_webhook

from alerts import delivery
from alerts.models import WebhookEndpoint
from hogsend_site import outbound
from tests.live_http import Hit, LiveServer, live_server

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def localhost_receivers_allowed(settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def receiver() -> Iterator[LiveServer]:
    with live_server() as server:
        yield server


@pytest.fixture
def delivered(receiver: LiveServer, ada) -> tuple[WebhookEndpoint, Hit]:
    """One `contact.created` delivery as the receiver got it, and its endpoint."""
    endpoint = WebhookEndpoint.objects.create(url=receiver.url("/hooks"), event_types=[])
    outbound.emit("contact.created", {"contact": ada}, dedupe_key=f"contact.created:{ada.pk}")
    call_command("run_due", "--inline", stdout=io.StringIO())
    [hit] = receiver.hits_to("/hooks")
    return endpoint, hit


def test_a_delivery_the_server_signed_is_verified_and_its_body_returned(delivered, ada):
    endpoint, hit = delivered
    event = verify_webhook(hit.body, hit.headers, endpoint.secret)
    assert event["type"] == "contact.created"
    assert event["data"]["contactId"] == str(ada.pk)
    # Title-case header names and a str body work too.
    title_case = {name.title(): value for name, value in hit.headers.items()}
    assert verify_webhook(hit.body.decode(), title_case, endpoint.secret) == event


def test_a_changed_body_a_wrong_secret_or_a_missing_header_is_refused(delivered):
    endpoint, hit = delivered
    tampered = hit.body.replace(b"contact.created", b"contact.deleted")
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(tampered, hit.headers, endpoint.secret)
    other = WebhookEndpoint(url="https://elsewhere.test").secret
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(hit.body, hit.headers, other)
    headers = {k: v for k, v in hit.headers.items() if k != "webhook-signature"}
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify_webhook(hit.body, headers, endpoint.secret)
    with pytest.raises(WebhookVerificationError, match="not a whsec_"):
        verify_webhook(hit.body, hit.headers, "whsec_not base64!")


def test_a_signed_delivery_older_or_newer_than_five_minutes_is_refused():
    secret = WebhookEndpoint(url="https://receiver.test").secret
    body = json.dumps({"type": "contact.created", "data": {}})
    for offset, accepted in ((-290, True), (290, True), (-310, False), (310, False)):
        timestamp = int(time.time()) + offset
        headers = {"webhook-id": "msg_1", "webhook-timestamp": str(timestamp),
                   "webhook-signature": delivery.sign(secret, "msg_1", timestamp, body)}
        if accepted:
            assert verify_webhook(body, headers, secret)["type"] == "contact.created"
        else:
            with pytest.raises(WebhookVerificationError, match="tolerance"):
                verify_webhook(body, headers, secret)


def test_any_one_of_several_signatures_may_match_as_during_a_secret_rotation():
    old, new = (WebhookEndpoint(url="https://receiver.test").secret for _ in range(2))
    body, timestamp = '{"type": "email.sent"}', int(time.time())
    signatures = " ".join(delivery.sign(s, "msg_2", timestamp, body) for s in (old, new))
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(timestamp),
               "webhook-signature": signatures}
    assert verify_webhook(body, headers, new) == {"type": "email.sent"}
    assert issubclass(WebhookVerificationError, HogsendError)
