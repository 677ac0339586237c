"""Reads the source transforms share."""

from __future__ import annotations

from contacts.models import Contact


def contact_by_property(*, name: str, value: str) -> Contact | None:
    """The live contact whose property `name` is `value` (a string), if exactly one is.

    For senders whose payload names the person only by the sender's own id (a
    Zendesk requester id, a Stripe customer id): an earlier delivery that did
    carry the email recorded that id as a contact property. Not indexed: these
    are low-volume helpdesk and billing events, not the ingest hot path.
    """
    found = list(Contact.objects.filter(deleted_at__isnull=True,
                                        **{f"properties__{name}": value})[:2])
    return found[0] if len(found) == 1 else None


def identity_of(contact: Contact) -> dict[str, str | None]:
    """The identity keys an event needs to land on `contact`."""
    return {"user_id": contact.external_id or None, "email": contact.email or None,
            "anonymous_id": None if (contact.external_id or contact.email)
            else contact.anonymous_id}
