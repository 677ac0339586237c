"""Erasing a contact's personal data (a GDPR "right to erasure" request).

`contact_erase(contact_id=..., actor=...)` keeps the rows that history and
counts depend on, and removes what identifies or describes the person:

- the contact: email, external id, anonymous id, properties and timezone are
  cleared, the row is soft-deleted, its merge aliases deleted; its key becomes
  its bare id, which every history row's `user_key` is rewritten to;
- everything the higher apps hold about the person, by their own erasers
  (`<app>/erasure.py`, discovered like admin modules): event properties
  (comments included), sends (address, subject, bodies), click IPs and user
  agents, provider events, runs (address, trigger context, journal values;
  live runs are exited first), alerts' payloads;
- preference rows: address and key pseudonymised (per row, so the unique
  (key, address) pair still holds).

It runs in one transaction and writes an `ErasureRecord` (who, when, how many
rows of each kind it touched). Idempotent: erasing again finds nothing personal
left to remove and records a second erasure.

An eraser is `fn(erasure: Erasure) -> dict[str, int]`, registered with
`@eraser("name")`. The seam keeps imports pointing one way: contacts never
imports tracking, journeys or alerts.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from contacts.models import Contact, ContactAlias, EmailPreference, ErasureRecord
from hogsend_site.errors import NotFound

Eraser = Callable[["Erasure"], dict[str, int]]
_erasers: dict[str, Eraser] = {}


@dataclass
class Erasure:
    """What an eraser needs: the contact, every key and address it was known by,
    the key history rows are rewritten to, and the operation's one `now`."""

    contact: Contact
    keys: set[str]
    emails: set[str]
    new_key: str
    now: datetime
    actor: str
    counts: dict[str, int] = field(default_factory=dict)

    def owned(self, *, contact_field: str = "contact", key_field: str = "user_key") -> Q:
        """Rows of this person: linked to the contact, or stored under one of its keys."""
        query = Q(**{contact_field: self.contact.pk})
        if self.keys:
            query |= Q(**{f"{key_field}__in": sorted(self.keys)})
        return query


def eraser(name: str) -> Callable[[Eraser], Eraser]:
    def register(fn: Eraser) -> Eraser:
        _erasers[name] = fn
        return fn

    return register


def contact_resolve_any(ref: str) -> Contact:
    """A contact by id, email or external id — live first, then soft-deleted ones."""
    ref = (ref or "").strip()
    query = Q(external_id=ref) | Q(email__iexact=ref)
    try:
        query |= Q(pk=uuid.UUID(ref))
    except ValueError:
        pass
    contact = Contact.objects.filter(query).order_by("deleted_at", "-created_at").first()
    if contact is None:
        raise NotFound("Contact not found")
    return contact


def contact_erase(*, contact_id: Any, actor: str) -> ErasureRecord:
    """Erase one contact's personal data everywhere; returns the audit record."""
    autodiscover_modules("erasure")
    now = timezone.now()
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
        if contact is None:
            raise NotFound("Contact not found")
        erasure = _erasure_for(contact, now=now, actor=actor)
        for name, fn in _erasers.items():
            if name != "contacts":
                erasure.counts.update(fn(erasure))
        erasure.counts.update(_erasers["contacts"](erasure))
        return ErasureRecord.objects.create(contact_id=contact.pk, actor=actor or "unknown",
                                            counts=erasure.counts, created_at=now)


def _erasure_for(contact: Contact, *, now: datetime, actor: str) -> Erasure:
    aliases = list(ContactAlias.objects.filter(contact=contact).values_list("kind", "value"))
    keys = {value for value in (contact.external_id, contact.anonymous_id) if value}
    keys |= {value for kind, value in aliases if kind != ContactAlias.Kind.EMAIL}
    emails = {value.lower() for value in [contact.email] if value}
    emails |= {value.lower() for kind, value in aliases if kind == ContactAlias.Kind.EMAIL}
    # An address used as a key (events ingested by email only) is a key too.
    keys |= emails
    return Erasure(contact=contact, keys=keys, emails=emails, new_key=str(contact.pk), now=now,
                   actor=actor)


@eraser("contacts")
def _erase_contact(erasure: Erasure) -> dict[str, int]:
    contact = erasure.contact
    preferences = EmailPreference.objects.filter(
        erasure.owned() | Q(email__in=sorted(erasure.emails)))
    count = 0
    for preference in preferences:
        EmailPreference.objects.filter(pk=preference.pk).update(
            email=f"erased-{preference.pk}", user_key=erasure.new_key, updated_at=erasure.now)
        count += 1
    aliases = ContactAlias.objects.filter(contact=contact).delete()[0]
    Contact.objects.filter(pk=contact.pk).update(
        email=None, external_id=None, anonymous_id=None, properties={}, timezone="",
        deleted_at=contact.deleted_at or erasure.now, updated_at=erasure.now)
    return {"preferences": count, "aliases": aliases, "contact": 1}
