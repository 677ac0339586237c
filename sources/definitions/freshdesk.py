"""Freshdesk: "Trigger webhook" actions of automation rules on ticket updates.

Freshdesk does not sign webhooks. The rule's webhook proves itself with the
shared secret FRESHDESK_WEBHOOK_SECRET, sent either as the custom header
`X-Hogsend-Secret: <secret>` or through the action's "Requires
authentication" option (HTTP Basic auth with the secret as the password, or
as the API key Freshdesk sends as the user name). Use HTTPS: the secret
travels with every request.

Content (JSON, "Advanced"), one rule per event ("Status is changed to
Resolved" and "Status is changed from Resolved/Closed")::

    {"event": "ticket.resolved", "ticket_id": "{{ticket.id}}",
     "status": "{{ticket.status}}", "email": "{{ticket.requester.email}}"}

An `external_id` key (your own user id for the requester) is used when sent.
The "Simple" content mode (`{"freshdesk_webhook": {"ticket_id": ...,
"ticket_status": ..., "ticket_contact_email": ...}}`) is read too; it carries
no event name, so a Resolved or Closed status becomes `ticket.resolved` and
reopens need the JSON body.
"""

from __future__ import annotations

from typing import Any

from sources import Ignore, Malformed, SourceEvent, WebhookRequest, define_source
from sources.auth import SharedSecret

EVENTS = ("ticket.resolved", "ticket.reopened")
SOLVED = {"resolved", "closed"}


def _field(body: dict[str, Any], *names: str) -> str:
    for name in names:
        value = body.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""


def freshdesk(payload: Any, request: WebhookRequest) -> SourceEvent | Ignore:
    """Resolved/Closed -> `ticket.resolved`; an explicit reopen -> `ticket.reopened`."""
    if not isinstance(payload, dict):
        raise Malformed("expected a JSON object")
    body = payload.get("freshdesk_webhook", payload)
    if not isinstance(body, dict):
        raise Malformed("freshdesk_webhook must be a JSON object")
    status = _field(body, "status", "ticket_status").lower()
    event = _field(body, "event") or ("ticket.resolved" if status in SOLVED else "")
    if event not in EVENTS:
        return Ignore(f"no event to record (event {event or 'missing'!r}, status {status!r})")
    ticket_id = _field(body, "ticket_id", "id")
    if not ticket_id:
        raise Malformed("ticket_id is missing")
    email = _field(body, "email", "ticket_contact_email", "ticket_requester_email")
    external_id = _field(body, "external_id")
    if not (email or external_id):
        raise Malformed("email or external_id is required")
    updated = _field(body, "updated_at", "ticket_updated_at")
    return SourceEvent(name=event, user_id=external_id or None, email=email or None,
                       properties={"ticket_id": ticket_id, "status": status},
                       event_id=f"{ticket_id}:{event}:{updated}" if updated else None)


source = define_source(id="freshdesk", name="Freshdesk", transform=freshdesk,
                       auth=SharedSecret(secret_env="FRESHDESK_WEBHOOK_SECRET",
                                         header="X-Hogsend-Secret"))
