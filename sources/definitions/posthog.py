"""PostHog: events forwarded by an HTTP Webhook destination (or a workflow's webhook step).

PostHog does not sign these requests. Add a header to the destination with
the shared secret POSTHOG_WEBHOOK_SECRET, as `X-PostHog-Webhook-Secret:
<secret>` or `Authorization: Bearer <secret>`. Two bodies are read: the
destination's default `{"event": {uuid, event, distinct_id, properties,
timestamp, ...}, "person": {id, properties, ...}}` and a flat `{"event":
"<name>", "distinct_id", "properties", "uuid", "person"?}`. The event's `uuid`
is the idempotency key; the event's properties go on the event, the person's
onto the contact; `distinct_id` is the user id, the person's `email` property
the email.
"""

from __future__ import annotations

from typing import Any

from sources import Malformed, SourceEvent, WebhookRequest, define_source
from sources.auth import SharedSecret


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def posthog(payload: Any, request: WebhookRequest) -> SourceEvent:
    """A PostHog event, under its own name."""
    if not isinstance(payload, dict):
        raise Malformed("expected a JSON object")
    event = payload["event"] if isinstance(payload.get("event"), dict) else payload
    name, distinct_id = event.get("event"), event.get("distinct_id")
    if not isinstance(name, str) or not name.strip():
        raise Malformed("the event name (event.event) is required")
    if not isinstance(distinct_id, str | int) or not str(distinct_id).strip():
        raise Malformed("distinct_id is required")
    person = _object(payload.get("person") or event.get("person"))
    person_properties = _object(person.get("properties"))
    email = person_properties.get("email")
    return SourceEvent(
        name=name, user_id=str(distinct_id), email=email if isinstance(email, str) else None,
        properties=dict(_object(event.get("properties"))),
        contact_properties=dict(person_properties) or None,
        event_id=str(event.get("uuid") or "") or None)


source = define_source(id="posthog", name="PostHog", transform=posthog,
                       auth=SharedSecret(secret_env="POSTHOG_WEBHOOK_SECRET",
                                         header="X-PostHog-Webhook-Secret"))
