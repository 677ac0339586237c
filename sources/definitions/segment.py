"""Segment: track calls become events, identify calls contact updates.

Segment's Webhooks destination signs each request with the destination's
shared secret (SEGMENT_WEBHOOK_SECRET): `X-Signature` = hex(HMAC-SHA1(secret,
body)). A body is one message, or a list of them when the destination
batches. `messageId` is the idempotency key.

  track    -> the event's own name, `properties` on the event
  identify -> contact.updated, `traits` merged onto the contact
  page, screen, group, alias -> acknowledged and ignored
The person: `userId`, `anonymousId` and the email in `traits` or
`context.traits`.
"""

from __future__ import annotations

from typing import Any

from sources import Ignore, Malformed, SourceEvent, WebhookRequest, define_source
from sources.auth import HmacSignature

MAX_BATCH = 500


def _message(message: Any) -> SourceEvent | None:
    if not isinstance(message, dict):
        raise Malformed("each Segment message must be a JSON object")
    kind = message.get("type")
    if kind not in ("track", "identify"):
        return None
    traits = message.get("traits") if isinstance(message.get("traits"), dict) else {}
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    context_traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
    email = traits.get("email") or context_traits.get("email")
    identity = {"user_id": message.get("userId"), "anonymous_id": message.get("anonymousId"),
                "email": email if isinstance(email, str) else None}
    if kind == "identify":
        return SourceEvent(name="contact.updated", **identity,
                           properties={"segment_type": "identify"},
                           contact_properties=dict(traits) or None,
                           event_id=message.get("messageId"))
    name = message.get("event")
    if not isinstance(name, str) or not name.strip():
        raise Malformed("a track call needs an event name")
    properties = message.get("properties")
    return SourceEvent(name=name, **identity,
                       properties=dict(properties) if isinstance(properties, dict) else {},
                       event_id=message.get("messageId"))


def segment(payload: Any, request: WebhookRequest) -> list[SourceEvent] | Ignore:
    """Segment track and identify calls."""
    messages = payload if isinstance(payload, list) else [payload]
    if len(messages) > MAX_BATCH:
        raise Malformed(f"more than {MAX_BATCH} messages in one request")
    events = [event for event in map(_message, messages) if event is not None]
    return events or Ignore("no track or identify call in the delivery")


source = define_source(id="segment", name="Segment", transform=segment,
                       auth=HmacSignature(secret_env="SEGMENT_WEBHOOK_SECRET",
                                          header="X-Signature", algorithm="sha1"))
