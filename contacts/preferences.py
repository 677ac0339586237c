"""A person's subscription state: preference rows, their one write path, and reads.

A person can hold several `EmailPreference` rows (one per key and address; a
merged contact brings its old rows along). Every verdict reads all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact, EmailPreference, PreferenceChange, normalize_email
from hogsend_site import outbound
from hogsend_site.errors import HogsendError

LIST_ID_RE = re.compile(r"^[a-z0-9_-]+$", re.IGNORECASE)


def lists_validate(lists: Iterable[str]) -> None:
    """Raise a 400-mapped error for the first list id that is not a slug."""
    for list_id in lists:
        if not LIST_ID_RE.match(list_id):
            raise HogsendError(f"lists: invalid list id {list_id!r}")


def contact_lists_apply(*, contact: Contact, lists: dict[str, bool], actor: str = "") -> None:
    """Apply `{list_id: subscribed}` to a contact's preferences (after an event's ingest)."""
    lists_validate(lists)
    if not contact.email:
        raise HogsendError("lists: the contact has no email address")
    preference_update(contact=contact, email=contact.email, categories=lists,
                      source=PreferenceChange.Source.API, actor=actor)


def preference_for(*, contact: Contact | None, user_key: str, email: str) -> EmailPreference:
    """The preference row for (key, address), created on first write."""
    email = normalize_email(email) or ""
    pref, _ = EmailPreference.objects.get_or_create(
        user_key=user_key, email=email, defaults={"contact": contact}
    )
    if contact is not None and pref.contact_id is None:
        pref.contact = contact
        pref.save(update_fields=["contact", "updated_at"])
    return pref


def preference_update(
    *,
    contact: Contact | None,
    email: str,
    user_key: str | None = None,
    unsubscribed_all: bool | None = None,
    suppressed: bool | None = None,
    categories: dict[str, bool] | None = None,
    source: str,
    actor: str = "",
) -> EmailPreference:
    """The one write path for subscription state (staff, API, links, bounces).

    Records a `PreferenceChange` row with the before/after of every field that
    changed, in the same transaction.
    """
    cache = _prefetched.get()
    if cache is not None:
        cache.clear()  # this write must be seen by the rest of the batch
    if not email:
        raise HogsendError("Contact has no email address")
    user_key = user_key or (contact.key if contact else normalize_email(email))
    now = timezone.now()
    with transaction.atomic():
        pref = preference_for(contact=contact, user_key=user_key, email=email)
        pref = EmailPreference.objects.select_for_update().get(pk=pref.pk)
        changes: dict[str, list[Any]] = {}
        if unsubscribed_all is not None and pref.unsubscribed_all != unsubscribed_all:
            changes["unsubscribed_all"] = [pref.unsubscribed_all, unsubscribed_all]
            pref.unsubscribed_all = unsubscribed_all
        if suppressed is not None and pref.suppressed != suppressed:
            changes["suppressed"] = [pref.suppressed, suppressed]
            pref.suppressed = suppressed
            pref.suppressed_at = now if suppressed else None
        if categories:
            merged = {**(pref.categories or {}), **{k: bool(v) for k, v in categories.items()}}
            if merged != pref.categories:
                changes["categories"] = [pref.categories, merged]
                pref.categories = merged
        if changes:
            pref.save()
            PreferenceChange.objects.create(
                preference=pref, contact=pref.contact, source=source, actor=actor,
                changes=changes, created_at=now,
            )
            if "unsubscribed_all" in changes:
                flip = "contact.unsubscribed" if pref.unsubscribed_all else "contact.subscribed"
                outbound.emit(flip, {"preference": pref, "source": source, "at": now})
    return pref


_prefetched: ContextVar[dict[Any, list[EmailPreference]] | None] = ContextVar(
    "hogsend_prefetched_preferences", default=None)


@contextmanager
def preferences_prefetched(contacts: list[Contact]) -> Iterator[None]:
    """Inside the block, `preferences_of` answers for these contacts from one query.

    The journey runner wraps a batch of runs in it (a guard and a send read
    preferences for each run). A preference write inside the block drops the
    cache; a write by another process shows from the next batch on (a batch
    lasts well under a second).
    """
    contacts = [c for c in contacts if c is not None]
    keys = {c.key: c.pk for c in contacts}
    emails = {c.email: c.pk for c in contacts if c.email}
    cache: dict[Any, list[EmailPreference]] = {c.pk: [] for c in contacts}
    if contacts:
        rows = EmailPreference.objects.filter(
            Q(contact_id__in=list(cache)) | Q(user_key__in=list(keys)) | Q(email__in=list(emails)))
        for row in rows:
            owners = {row.contact_id, keys.get(row.user_key), emails.get(row.email)} - {None}
            for owner in owners:
                if owner in cache:
                    cache[owner].append(row)
    token = _prefetched.set(cache)
    try:
        yield
    finally:
        _prefetched.reset(token)


def preferences_of(*, contact: Contact | None, email: str | None) -> list[EmailPreference]:
    """Every preference row for this contact or (without one) this address."""
    cache = _prefetched.get()
    if (cache is not None and contact is not None and contact.pk in cache
            and (not email or normalize_email(email) == (contact.email or "").lower())):
        return list(cache[contact.pk])
    query = Q()
    if contact is not None:
        query |= Q(contact=contact) | Q(user_key=contact.key)
        if contact.email:
            query |= Q(email=contact.email)
    if email:
        query |= Q(email=normalize_email(email))
    if not query:
        return []
    return list(EmailPreference.objects.filter(query))


def contact_preferences_set(
    *,
    contact: Contact,
    unsubscribed_all: bool | None = None,
    categories: dict[str, bool] | None = None,
    source: str,
    actor: str = "",
) -> list[EmailPreference]:
    """A person's subscription as staff see it: one switch for everything, one per list.

    Opting out (everything, or a list) writes the contact's own row (its key and
    address): one blocking row is enough, since every row of the person counts at send.
    Opting back in also clears every other row of the person that still blocks
    (a merged-in key, an old address), or the switch would not take effect.
    Each row goes through `preference_update` (audited). Returns the rows written.
    """
    if not contact.email:
        raise HogsendError("Contact has no email address")
    categories = {key: bool(value) for key, value in (categories or {}).items()}
    with transaction.atomic():
        own = preference_update(contact=contact, email=contact.email,
                                unsubscribed_all=unsubscribed_all, categories=categories,
                                source=source, actor=actor)
        written = [own]
        opted_in = [key for key, value in categories.items() if value]
        for row in preferences_of(contact=contact, email=contact.email):
            fields: dict[str, Any] = {}
            if unsubscribed_all is False and row.unsubscribed_all:
                fields["unsubscribed_all"] = False
            blocked = {key: True for key in opted_in if (row.categories or {}).get(key) is False}
            if blocked:
                fields["categories"] = blocked
            if row.pk != own.pk and fields:
                written.append(preference_update(contact=contact, email=row.email,
                                                 user_key=row.user_key, source=source,
                                                 actor=actor, **fields))
    return written


# --- "Is this person unsubscribed from everything?" -----------------------------
# Sends, journey guards, the enrollment check, the hosted pages and the admin all
# ask it; any one row of the person opting out of everything is a yes.


def unsubscribed_from_all(rows: Iterable[EmailPreference]) -> bool:
    """Whether these preference rows (all of one person's) opt out of everything."""
    return any(row.unsubscribed_all for row in rows)


def contact_unsubscribed(*, contact: Contact | None, email: str | None) -> bool:
    """Whether the person (this contact, or without one this address) opted out of
    everything. Answers from `preferences_prefetched` inside its block."""
    return unsubscribed_from_all(preferences_of(contact=contact, email=email))


def contacts_unsubscribed(*, contacts: list[Contact]) -> set[Any]:
    """The ids of those contacts that opted out of everything, in one query: the
    batch form of `contact_unsubscribed` (rows by contact, key or address)."""
    by_key = {c.key: c.pk for c in contacts}
    by_email = {c.email: c.pk for c in contacts if c.email}
    rows = EmailPreference.objects.filter(
        Q(contact_id__in=[c.pk for c in contacts]) | Q(user_key__in=by_key)
        | Q(email__in=by_email), unsubscribed_all=True,
    ).values_list("contact_id", "user_key", "email")
    found = set()
    for contact_id, user_key, email in rows:
        found.update(pk for pk in (contact_id, by_key.get(user_key), by_email.get(email)) if pk)
    return found
