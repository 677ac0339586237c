"""Clerk: user lifecycle and waitlist webhooks, delivered by Svix.

Signed with the endpoint's signing secret (CLERK_WEBHOOK_SECRET, `whsec_...`,
Clerk dashboard > Webhooks): `svix-id`, `svix-timestamp` and `svix-signature`
(`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`), refused more than
five minutes from now. `svix-id` is the same on every retry of a message,
so it is the idempotency key.

  user.created / user.updated -> contact.created / contact.updated (first and
                                 last name, image, public metadata onto the contact)
  user.deleted                -> contact.deleted (an event only)
  waitlistEntry.created       -> waitlist.joined
The Clerk user id is the user id; the primary email address the email.
"""

from __future__ import annotations

from typing import Any

from sources import Ignore, Malformed, SourceEvent, WebhookRequest, define_source
from sources.auth import SvixSignature

USER_EVENTS = {"user.created": "contact.created", "user.updated": "contact.updated",
               "user.deleted": "contact.deleted"}


def _primary_email(data: dict[str, Any]) -> str | None:
    addresses = [a for a in data.get("email_addresses") or [] if isinstance(a, dict)]
    primary = data.get("primary_email_address_id")
    chosen = next((a for a in addresses if primary and a.get("id") == primary),
                  addresses[0] if addresses else {})
    email = chosen.get("email_address")
    return email if isinstance(email, str) else None


def _profile(data: dict[str, Any], user_id: str) -> dict[str, Any]:
    metadata = data.get("public_metadata") if isinstance(data.get("public_metadata"), dict) else {}
    profile = {**metadata, "clerk_user_id": user_id}
    for key, renamed in (("first_name", "first_name"), ("last_name", "last_name"),
                         ("image_url", "avatar_url")):
        if isinstance(data.get(key), str):
            profile[renamed] = data[key]
    return profile


def clerk(payload: Any, request: WebhookRequest) -> SourceEvent | Ignore:
    """Clerk user and waitlist events."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise Malformed("expected a Clerk event with a data object")
    kind, data = str(payload.get("type") or ""), payload["data"]
    message_id = request.header("svix-id") or request.header("webhook-id") or None
    if kind == "waitlistEntry.created":
        email = data.get("email_address")
        if not isinstance(email, str) or not email:
            raise Malformed("data.email_address is required")
        return SourceEvent(name="waitlist.joined", email=email,
                           properties={"clerk_waitlist_entry_id": str(data.get("id") or "")},
                           event_id=message_id)
    name = USER_EVENTS.get(kind)
    if name is None:
        return Ignore(f"Clerk event {kind or 'missing'!r} is not mapped")
    user_id = data.get("id")
    if not isinstance(user_id, str) or not user_id:
        raise Malformed("data.id (the Clerk user id) is required")
    return SourceEvent(
        name=name, user_id=user_id, email=_primary_email(data),
        properties={"clerk_user_id": user_id},
        contact_properties=None if name == "contact.deleted" else _profile(data, user_id),
        event_id=message_id)


source = define_source(id="clerk", name="Clerk", transform=clerk,
                       auth=SvixSignature(secret_env="CLERK_WEBHOOK_SECRET"))
