"""Intercom: a closed conversation is a resolved ticket, a reopened one a reopened ticket.

Signed with the app's client secret (INTERCOM_CLIENT_SECRET, Developer Hub >
your app > Basic information): `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>`.
Subscribe the app's webhook to `conversation.admin.closed` and
`conversation.admin.opened`. Every notification is the same envelope
(`type: notification_event`, `id`, `topic`, `data.item` = the conversation);
its `id` is the idempotency key. The person is the conversation's author when
a user or lead wrote it, else its first contact: their `external_id` (your
own user id) and email identify the contact; Intercom's internal id is kept
as the contact property `intercom_contact_id`, never used as identity.
"""

from __future__ import annotations

from typing import Any

from sources import Ignore, Malformed, SourceEvent, WebhookRequest, define_source
from sources.auth import HmacSignature

TOPICS = {
    "conversation.admin.closed": "ticket.resolved",
    "conversation.admin.opened": "ticket.reopened",
}
PEOPLE = {"user", "lead", "contact"}


def _people(item: dict[str, Any]) -> list[dict[str, Any]]:
    source = item.get("source") if isinstance(item.get("source"), dict) else {}
    author = source.get("author") if isinstance(source.get("author"), dict) else None
    found = [author] if author and author.get("type") in PEOPLE else []
    contacts = item.get("contacts")
    listed = contacts.get("contacts") if isinstance(contacts, dict) else contacts
    return found + [c for c in listed or [] if isinstance(c, dict)]


def _first(people: list[dict[str, Any]], key: str) -> str | None:
    return next((str(p[key]).strip() for p in people
                 if isinstance(p.get(key), str | int) and str(p[key]).strip()), None)


def intercom(payload: Any, request: WebhookRequest) -> SourceEvent | Ignore:
    """conversation.admin.closed -> `ticket.resolved`; .opened -> `ticket.reopened`."""
    if not isinstance(payload, dict):
        raise Malformed("expected a JSON object")
    topic = str(payload.get("topic") or "")
    event = TOPICS.get(topic)
    if event is None:
        return Ignore(f"Intercom topic {topic or 'missing'!r} is not mapped")
    data = payload.get("data")
    item = data.get("item") if isinstance(data, dict) else None
    if not isinstance(item, dict) or not item.get("id"):
        raise Malformed("data.item (the conversation) with an id is required")
    people = _people(item)
    external_id, email = _first(people, "external_id"), _first(people, "email")
    if not (external_id or email):
        return Ignore("the conversation names no contact with an external_id or email")
    intercom_id = _first(people, "id")
    return SourceEvent(
        name=event, user_id=external_id, email=email,
        properties={"ticket_id": str(item["id"]), "conversation_id": str(item["id"])},
        contact_properties={"intercom_contact_id": intercom_id} if intercom_id else None,
        event_id=str(payload.get("id") or "") or None)


source = define_source(id="intercom", name="Intercom", transform=intercom,
                       auth=HmacSignature(secret_env="INTERCOM_CLIENT_SECRET",
                                          header="X-Hub-Signature", algorithm="sha1",
                                          prefix="sha1="))
