"""Erasing a contact's personal data (a GDPR "right to erasure" request).

`contact_erase(contact_id=..., actor=...)` keeps the rows that history and
counts depend on, and removes what identifies or describes the person:

- the contact: email, external id, anonymous id, properties and timezone are
  cleared, the row is soft-deleted, its merge aliases deleted (and the
  soft-deleted contacts merged into it cleared the same way); its key becomes
  its bare id, which every history row's `user_key` is rewritten to;
- everything the higher apps hold about the person, by their own erasers
  (`<app>/erasure.py`, discovered like admin modules): event properties
  (comments included), sends (address, subject, bodies, link URLs), click IPs
  and user agents, provider events, runs (address, trigger context, journal
  values, timeline details; live runs are exited first), alerts (the
  operator pages about the person included), handler jobs and outbound webhook
  deliveries;
- preference rows: address and key pseudonymised (per row, so the unique
  (key, address) pair still holds); their audit rows keep the fact (source,
  time, what changed) but no mention of the person; so do the admin API's
  audit log and Django's admin history (`_erase_site`).

Text that must stay (an error message, a timeline detail, an idempotency key)
is scrubbed rather than cleared: every mention of one of the person's
*needles* (addresses, keys, and the values of their properties) becomes
`[erased]` (`Erasure.scrub`); a unique key that mentions one is replaced by a
keyed hash (`Erasure.pseudonym`), so the constraint still holds and the key
cannot be guessed back from the address. Rows that no foreign key ties to the
person (alerts, audit rows, deliveries) are found by their identifiers
(`Erasure.search_terms`) and checked word by word, so `u_ada` never matches
`u_adam`.

It runs in one transaction and writes an `ErasureRecord` (who, when, how many
rows of each kind it touched: no address, no key). Idempotent: erasing again
finds nothing personal left to remove and records a second erasure.

An eraser is `fn(erasure: Erasure) -> dict[str, int]`, registered with
`@eraser("name")`. The seam keeps imports pointing one way: contacts never
imports tracking, journeys or alerts.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.module_loading import autodiscover_modules

from contacts.models import Contact, ContactAlias, EmailPreference, ErasureRecord, PreferenceChange
from hogsend_site.errors import NotFound
from hogsend_site.models import AuditLog

Eraser = Callable[["Erasure"], dict[str, int]]
_erasers: dict[str, Eraser] = {}


ERASED = "[erased]"
# A property value shorter than this is no needle ("pro", "de", True): it
# identifies nobody and would scrub ordinary words from the person's rows.
VALUE_NEEDLE_MIN = 5
# Identifiers shorter than this are not searched for in rows that no foreign
# key ties to the person (a key "42" would match everybody's rows).
SEARCH_TERM_MIN = 5
# Characters that continue an address or key: a needle preceded or followed by
# one is part of another word (`u_ada` in `u_adam`, `ada@x.io` in `bada@x.io`).
_WORD = r"[\w.+\-]"


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
    # The contact and the soft-deleted contacts merged into it.
    contact_ids: list[Any] = field(default_factory=list)
    # The string values of their properties (see `needles`).
    values: set[str] = field(default_factory=set)

    def owned(self, *, contact_field: str = "contact", key_field: str = "user_key") -> Q:
        """Rows of this person: linked to the contact (or one merged into it), or
        stored under one of its keys (the bare id included: an erased row's key)."""
        query = Q(**{f"{contact_field}__in": self.contact_ids or [self.contact.pk]})
        return query | Q(**{f"{key_field}__in": sorted(self.keys | {self.new_key})})

    @cached_property
    def identifiers(self) -> list[str]:
        """The person's addresses (also as a URL's query writes them) and keys,
        longest first."""
        quoted = {quote(email, safe="") for email in self.emails}
        return sorted(self.emails | quoted | self.keys, key=lambda v: (-len(v), v))

    @cached_property
    def needles(self) -> list[str]:
        """What must not survive in any text of the person's rows: the identifiers
        and the values of the person's properties, longest first."""
        return sorted(set(self.identifiers) | self.values, key=lambda v: (-len(v), v))

    @cached_property
    def search_terms(self) -> list[str]:
        """Identifiers long enough to look for in rows of anybody (see SEARCH_TERM_MIN)."""
        return [term for term in self.identifiers if len(term) >= SEARCH_TERM_MIN]

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.needles:
            return None
        alternatives = "|".join(re.escape(needle) for needle in self.needles)
        return re.compile(rf"(?<!{_WORD})(?:{alternatives})(?!\w|[@+\-]|\.\w)", re.IGNORECASE)

    def mentions(self, value: Any) -> bool:
        """Does this text (or any string inside this JSON) name one of the needles?"""
        if self._pattern is None or value is None:
            return False
        if not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, default=str)
        return bool(self._pattern.search(value))

    def scrub(self, value: Any) -> Any:
        """`value` with every mention of a needle replaced by `[erased]` (strings,
        and recursively the keys and values of JSON)."""
        if isinstance(value, str):
            return self._pattern.sub(ERASED, value) if self._pattern is not None else value
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value

    def pseudonym(self, value: str) -> str:
        """A unique key that named the person, replaced: distinct keys stay distinct
        (the unique constraints hold), and without SECRET_KEY the hash cannot be
        matched against a guessed address. Salted per erasure, so a key reused
        after an erasure and erased again never collides with the first."""
        salt = f"hogsend.erasure:{self.contact.pk}:{self.now.isoformat()}"
        return "erased:" + salted_hmac(salt, value, algorithm="sha256").hexdigest()

    def rows_mentioning(self, queryset: models.QuerySet, *fields: str,
                        terms: Iterable[str] | None = None) -> models.QuerySet:
        """Rows whose text (a JSON column read as its text) contains a search term:
        candidates only, to be confirmed with `mentions`. Empty without terms."""
        terms = list(self.search_terms if terms is None else terms)
        query = Q()
        annotations = {}
        for name in fields:
            alias = f"_erasure_{name}_text"
            annotations[alias] = Cast(name, models.TextField())
            for term in terms:
                # SQLite stores JSON ASCII-escaped; PostgreSQL's jsonb text does not.
                for form in {term, json.dumps(term)[1:-1]}:
                    query |= Q(**{f"{alias}__icontains": form})
        if not query:
            return queryset.none()
        return queryset.alias(**annotations).filter(query)


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
    aliases = list(ContactAlias.objects.filter(contact=contact).values_list(
        "kind", "value", "from_contact_id"))
    merged = list(Contact.objects.filter(
        pk__in=[pk for _, _, pk in aliases if pk], deleted_at__isnull=False).exclude(pk=contact.pk))
    people = [contact, *merged]
    keys = {value for person in people for value in (person.external_id, person.anonymous_id)
            if value}
    keys |= {value for kind, value, _ in aliases if kind != ContactAlias.Kind.EMAIL}
    emails = {person.email.lower() for person in people if person.email}
    emails |= {value.lower() for kind, value, _ in aliases if kind == ContactAlias.Kind.EMAIL}
    # An address used as a key (events ingested by email only) is a key too.
    keys |= emails
    values = {value for person in people for value in _strings(person.properties)
              if len(value) >= VALUE_NEEDLE_MIN}
    return Erasure(contact=contact, keys=keys, emails=emails, new_key=str(contact.pk), now=now,
                   actor=actor, contact_ids=[person.pk for person in people], values=values)


def _strings(value: Any) -> Iterable[str]:
    """Every string (and number) inside a JSON value, as text, stripped."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


@eraser("contacts")
def _erase_contact(erasure: Erasure) -> dict[str, int]:
    """Runs last: the preference rows (pseudonymised), their audit rows (scrubbed),
    the aliases, then the contact and the contacts merged into it."""
    contact = erasure.contact
    preferences = EmailPreference.objects.filter(
        erasure.owned() | Q(email__in=sorted(erasure.emails)))
    preference_ids = list(preferences.values_list("pk", flat=True))
    count = 0
    for pk in preference_ids:
        EmailPreference.objects.filter(pk=pk).update(
            email=f"erased-{pk}", user_key=erasure.new_key, updated_at=erasure.now)
        count += 1
    changes = 0
    for change in PreferenceChange.objects.filter(
            Q(preference_id__in=preference_ids) | Q(contact_id__in=erasure.contact_ids)):
        # The audit fact stays (source, when, what flipped); a mention of the person goes.
        if erasure.mentions(change.actor) or erasure.mentions(change.changes):
            PreferenceChange.objects.filter(pk=change.pk).update(
                actor=erasure.scrub(change.actor), changes=erasure.scrub(change.changes))
            changes += 1
    aliases = ContactAlias.objects.filter(contact=contact).delete()[0]
    merged = [pk for pk in erasure.contact_ids if pk != contact.pk]
    Contact.objects.filter(pk__in=merged).update(
        email=None, external_id=None, anonymous_id=None, properties={}, timezone="",
        updated_at=erasure.now)
    Contact.objects.filter(pk=contact.pk).update(
        email=None, external_id=None, anonymous_id=None, properties={}, timezone="",
        deleted_at=contact.deleted_at or erasure.now, updated_at=erasure.now)
    return {"preferences": count, "preference_changes": changes, "aliases": aliases,
            "contact": 1, "merged_contacts": len(merged)}


@eraser("site")
def _erase_site(erasure: Erasure) -> dict[str, int]:
    """The admin API's audit log and Django's admin history: the rows stay (who
    acted, when, on what kind of thing), what they quote of the person goes.

    Both are append-only by design; an erasure is the one write they take.
    """
    ids = [str(pk) for pk in erasure.contact_ids]
    audit = 0
    rows = AuditLog.objects.filter(
        Q(pk__in=erasure.rows_mentioning(AuditLog.objects.all(), "resource_id", "detail"))
        | Q(resource_id__in=ids + erasure.identifiers))
    for row in rows.only("pk", "resource_id", "detail"):
        if erasure.mentions(row.resource_id) or erasure.mentions(row.detail):
            AuditLog.objects.filter(pk=row.pk).update(
                resource_id=erasure.scrub(row.resource_id)[:255], detail=erasure.scrub(row.detail))
            audit += 1
    history = 0
    contact_type = ContentType.objects.get_for_model(Contact)
    entries = LogEntry.objects.filter(
        Q(pk__in=erasure.rows_mentioning(LogEntry.objects.all(), "object_repr", "change_message"))
        | Q(content_type=contact_type, object_id__in=ids))
    for entry in entries.only("pk", "content_type", "object_id", "object_repr", "change_message"):
        if entry.content_type_id == contact_type.pk and entry.object_id in ids:
            repr_ = entry.object_id  # what str() of an erased contact says
        else:
            repr_ = erasure.scrub(entry.object_repr)
        message = erasure.scrub(entry.change_message)
        if (repr_, message) != (entry.object_repr, entry.change_message):
            LogEntry.objects.filter(pk=entry.pk).update(object_repr=repr_[:200],
                                                        change_message=message)
            history += 1
    return {"audit_logs": audit, "admin_history": history}
