"""Stripe: customers, subscriptions and invoices as contact and billing events.

Signed with the endpoint's signing secret (STRIPE_WEBHOOK_SECRET, `whsec_...`):
`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, refused
more than five minutes from now. The event id (`evt_...`) is the idempotency
key, so Stripe's retries store nothing twice.

Mapping (as the reference engine's preset):
  customer.created / .updated     -> contact.created / contact.updated (name,
                                      phone, metadata onto the contact)
  customer.deleted                -> contact.deleted (an event only)
  customer.subscription.<action>  -> subscription.<action>
  invoice.<action>                -> invoice.<action>
The person is the customer: its email when the object carries one
(`email`, an invoice's `customer_email`), else the contact an earlier
customer event recorded `stripe_customer_id` on, else the Stripe customer id
as the user id.
"""

from __future__ import annotations

from typing import Any

from sources import Ignore, Malformed, SourceEvent, WebhookRequest, define_source
from sources.auth import StripeSignature
from sources.selectors import contact_by_property, identity_of

CUSTOMER_EVENTS = {"customer.created": "contact.created", "customer.updated": "contact.updated",
                   "customer.deleted": "contact.deleted"}
KEPT = ("status", "amount_due", "amount_paid", "currency", "billing_reason", "cancel_at_period_end")


def _event_name(kind: str) -> str | None:
    if kind in CUSTOMER_EVENTS:
        return CUSTOMER_EVENTS[kind]
    for prefix, renamed in (("customer.subscription.", "subscription."), ("invoice.", "invoice.")):
        if kind.startswith(prefix) and len(kind) > len(prefix):
            return renamed + kind[len(prefix):]
    return None


def _identity(customer_id: str, email: str | None) -> dict[str, str | None]:
    if email:
        return {"email": email}
    known = contact_by_property(name="stripe_customer_id", value=customer_id)
    return identity_of(known) if known is not None else {"user_id": customer_id}


def stripe(payload: Any, request: WebhookRequest) -> SourceEvent | Ignore:
    """Stripe customer, subscription and invoice events."""
    if not isinstance(payload, dict) or not payload.get("id") or not payload.get("type"):
        raise Malformed("expected a Stripe event with an id and a type")
    kind = str(payload["type"])
    name = _event_name(kind)
    if name is None:
        return Ignore(f"Stripe event {kind} is not mapped")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise Malformed("data.object is required")
    is_customer = kind in CUSTOMER_EVENTS
    customer_id = obj.get("id") if is_customer else obj.get("customer")
    if isinstance(customer_id, dict):  # an expanded customer object
        customer_id = customer_id.get("id")
    if not isinstance(customer_id, str) or not customer_id:
        return Ignore(f"{kind} names no customer")
    email = obj.get("email") if is_customer else obj.get("customer_email")
    properties = {"stripe_customer_id": customer_id, "stripe_event_type": kind,
                  "stripe_object_id": str(obj.get("id") or "")}
    properties.update({key: obj[key] for key in KEPT if key in obj and obj[key] is not None})
    contact: dict[str, Any] | None = None
    if name in ("contact.created", "contact.updated"):
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        contact = {**metadata, "stripe_customer_id": customer_id}
        contact.update({key: obj[key] for key in ("name", "phone")
                        if isinstance(obj.get(key), str)})
    identity = _identity(customer_id, email if isinstance(email, str) else None)
    return SourceEvent(name=name, **identity, properties=properties,
                       contact_properties=contact, event_id=str(payload["id"]))


source = define_source(id="stripe", name="Stripe", transform=stripe,
                       auth=StripeSignature(secret_env="STRIPE_WEBHOOK_SECRET"))
