"""Help Scout: a conversation's status change to closed or back to active.

Signed with the secret key you type into Help Scout's Webhooks app
(HELPSCOUT_WEBHOOK_SECRET): `X-HelpScout-Signature` = base64(HMAC-SHA1(secret,
body)); the event name comes in `X-HelpScout-Event`. Subscribe to "Status
Updated" (`convo.status`), whose body is the conversation object. Help Scout
sends no previous status: `active` is read as a reopen (a run only exits when
it is waiting on that person), `pending` and `spam` are ignored.
"""

from __future__ import annotations

from typing import Any

from sources import Ignore, Malformed, SourceEvent, WebhookRequest, define_source
from sources.auth import HmacSignature

STATUS_EVENTS = {"closed": "ticket.resolved", "active": "ticket.reopened"}


def helpscout(payload: Any, request: WebhookRequest) -> SourceEvent | Ignore:
    """convo.status closed -> `ticket.resolved`; active -> `ticket.reopened`."""
    kind = request.header("X-HelpScout-Event")
    if kind != "convo.status":
        return Ignore(f"Help Scout event {kind or 'missing'!r} is not mapped")
    if not isinstance(payload, dict) or not payload.get("id"):
        raise Malformed("expected the conversation object, with an id")
    status = str(payload.get("status") or "").lower()
    event = STATUS_EVENTS.get(status)
    if event is None:
        return Ignore(f"status {status or 'missing'!r} is not a close or reopen")
    customer = payload.get("primaryCustomer") or payload.get("customer") or {}
    email = customer.get("email") if isinstance(customer, dict) else None
    if not email:
        raise Malformed("primaryCustomer.email is required")
    conversation = str(payload["id"])
    changed = payload.get("userUpdatedAt") or payload.get("closedAt") or ""
    properties = {"ticket_id": conversation}
    if payload.get("number") is not None:
        properties["ticket_number"] = str(payload["number"])
    return SourceEvent(
        name=event, email=str(email), properties=properties,
        contact_properties={"helpscout_customer_id": str(customer["id"])}
        if customer.get("id") is not None else None,
        event_id=f"{conversation}:{status}:{changed}" if changed else None)


source = define_source(id="helpscout", name="Help Scout", transform=helpscout,
                       auth=HmacSignature(secret_env="HELPSCOUT_WEBHOOK_SECRET",
                                          header="X-HelpScout-Signature", algorithm="sha1",
                                          encoding="base64"))
