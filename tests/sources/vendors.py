"""Each sender's signing, written from its documentation with plain hmac calls.

Deliberately independent of sources/auth.py: a test signs the way the vendor
does, and the server has to agree.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from django.test import Client

from tracking.models import UserEvent

SVIX_KEY = b"clerk-and-supabase-test-key-32b!"
SECRETS = {
    "ZENDESK_WEBHOOK_SECRET": "dGhpcyBpcyBhIHplbmRlc2sgc2lnbmluZyBzZWNyZXQ",
    "INTERCOM_CLIENT_SECRET": "intercom-client-secret-7f3a",
    "HELPSCOUT_WEBHOOK_SECRET": "helpscout-secret-key-40-chars-or-less",
    "FRESHDESK_WEBHOOK_SECRET": "freshdesk-shared-secret",
    "STRIPE_WEBHOOK_SECRET": "whsec_test_stripe_endpoint_secret",
    "SEGMENT_WEBHOOK_SECRET": "segment-shared-secret",
    "POSTHOG_WEBHOOK_SECRET": "posthog-shared-secret",
    "CLERK_WEBHOOK_SECRET": "whsec_" + base64.b64encode(SVIX_KEY).decode(),
    "SUPABASE_WEBHOOK_SECRET": "whsec_" + base64.b64encode(SVIX_KEY).decode(),
}


def raw(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def post(client: Client, source: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.post(f"/v1/webhooks/{source}", data=body, content_type="application/json",
                       headers=headers)


def now() -> datetime:
    return datetime.now(UTC)


def zendesk(body: bytes, *, secret: str | None = None, at: datetime | None = None) -> dict:
    stamp = (at or now()).strftime("%Y-%m-%dT%H:%M:%SZ")
    key = (secret or SECRETS["ZENDESK_WEBHOOK_SECRET"]).encode()
    digest = hmac.new(key, stamp.encode() + body, hashlib.sha256).digest()
    return {"X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Id": "01GK8E6BKWMJZD2T8Y5AXJQMG5",
            "X-Zendesk-Webhook-Invocation-Id": "8350205582"}


def intercom(body: bytes, *, secret: str | None = None) -> dict:
    key = (secret or SECRETS["INTERCOM_CLIENT_SECRET"]).encode()
    return {"X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()}


def helpscout(body: bytes, event: str = "convo.status", *, secret: str | None = None) -> dict:
    key = (secret or SECRETS["HELPSCOUT_WEBHOOK_SECRET"]).encode()
    digest = hmac.new(key, body, hashlib.sha1).digest()
    return {"X-HelpScout-Signature": base64.b64encode(digest).decode(), "X-HelpScout-Event": event}


def stripe(body: bytes, *, secret: str | None = None, at: datetime | None = None) -> dict:
    stamp = int((at or now()).timestamp())
    key = (secret or SECRETS["STRIPE_WEBHOOK_SECRET"]).encode()
    signature = hmac.new(key, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={signature},v0=6ffbb59b2300aae63f272406069a9788"}


def segment(body: bytes, *, secret: str | None = None) -> dict:
    key = (secret or SECRETS["SEGMENT_WEBHOOK_SECRET"]).encode()
    return {"X-Signature": hmac.new(key, body, hashlib.sha1).hexdigest()}


def svix(body: bytes, message_id: str, *, key: bytes = SVIX_KEY,
         at: datetime | None = None) -> dict:
    stamp = str(int((at or now()).timestamp()))
    digest = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"svix-id": message_id, "svix-timestamp": stamp,
            "svix-signature": "v1," + base64.b64encode(digest).decode()}


def stored() -> list[UserEvent]:
    return list(UserEvent.objects.order_by("id"))
