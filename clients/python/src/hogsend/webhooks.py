"""Verifying the signed webhooks a Hogsend server sends (Standard Webhooks).

Each delivery carries `webhook-id` (stable across its retries: dedupe on it),
`webhook-timestamp` (unix seconds) and `webhook-signature`: space-separated
`v1,<base64 HMAC-SHA256>` values over `"<id>.<timestamp>.<raw body>"`, keyed with
the base64-decoded part of the endpoint's `whsec_...` secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from hogsend._errors import WebhookVerificationError

# How far a delivery's timestamp may be from now, either way (replay protection).
DEFAULT_TOLERANCE = 5 * 60


def verify_webhook(payload: bytes | str, headers: Mapping[str, str], secret: str, *,
                   tolerance: int = DEFAULT_TOLERANCE) -> Any:
    """Check a delivery's signature and age; answer its parsed JSON body.

    `payload` must be the raw request body exactly as received (not re-encoded
    JSON); `headers` any mapping of the request's headers (names in any case;
    `svix-*` names are accepted too); `secret` the endpoint's `whsec_...` secret.
    Raises `WebhookVerificationError` when a header is missing, the timestamp is
    more than `tolerance` seconds from now, no signature matches, or the body is
    not JSON.
    """
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id") or lowered.get("svix-id")
    timestamp = lowered.get("webhook-timestamp") or lowered.get("svix-timestamp")
    signatures = lowered.get("webhook-signature") or lowered.get("svix-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    if abs(time.time() - sent_at) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance window")
    expected = base64.b64encode(
        hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body,
                 hashlib.sha256).digest())
    # Every candidate is compared (no early exit) in constant time.
    matched = False
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            matched = True
    if not matched:
        raise WebhookVerificationError("no signature matches")
    try:
        return json.loads(body)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the secret is not a whsec_ base64 secret") from None
