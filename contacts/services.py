"""Contact identity (resolve, create, link, merge) and preference writes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact, ContactAlias, EmailPreference, PreferenceChange
from hogsend_site.errors import HogsendError, NotFound

logger = logging.getLogger(__name__)

# last_seen_at is coarse on purpose: refreshing it on every event would turn
# each ingest into a contact write.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class IdentityRequired(HogsendError):
    status = 400

    def __init__(self) -> None:
        super().__init__("email or userId is required")


@dataclass
class IdentifyResult:
    contact: Contact
    created: bool = False
    linked: bool = False


def normalize_email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip().lower()
    return email or None


def merge_properties(existing: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    """Shallow merge where the patch wins and a `None` value clears the key."""
    merged = {**(existing or {}), **(patch or {})}
    return {key: value for key, value in merged.items() if value is not None}


def _live() -> Any:
    return Contact.objects.filter(deleted_at__isnull=True)


def _find(kind: str, value: str | None) -> Contact | None:
    if not value:
        return None
    lookup = {"email": "email__iexact"}.get(kind, kind)
    contact = _live().filter(**{lookup: value}).first()
    if contact is not None:
        return contact
    alias = ContactAlias.objects.filter(kind=kind, value=value).select_related("contact").first()
    if alias is not None and alias.contact.deleted_at is None:
        return alias.contact
    return None


def contact_identify(
    *,
    user_id: str | None = None,
    email: str | None = None,
    anonymous_id: str | None = None,
    properties: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> IdentifyResult:
    """Find or create the contact these keys name; link missing keys; merge two.

    Must run inside a transaction (ingest and the contacts API own one).
    """
    now = now or timezone.now()
    email = normalize_email(email)
    user_id = (user_id or "").strip() or None
    anonymous_id = (anonymous_id or "").strip() or None
    if not (user_id or email or anonymous_id):
        raise IdentityRequired()

    found: list[Contact] = []
    for kind, value in (("external_id", user_id), ("email", email), ("anonymous_id", anonymous_id)):
        contact = _find(kind, value)
        if contact is not None and all(c.pk != contact.pk for c in found):
            found.append(contact)

    if not found:
        return _create(user_id=user_id, email=email, anonymous_id=anonymous_id,
                       properties=properties, now=now)
    contact = found[0] if len(found) == 1 else _merge(found, now=now)
    linked = len(found) > 1
    update_fields: list[str] = []
    for field, value in (("external_id", user_id), ("email", email), ("anonymous_id", anonymous_id)):
        if value and not getattr(contact, field):
            setattr(contact, field, value)
            update_fields.append(field)
            linked = True
    if properties:
        merged = merge_properties(contact.properties, properties)
        if merged != contact.properties:
            contact.properties = merged
            update_fields.append("properties")
    if contact.last_seen_at is None or now - contact.last_seen_at >= LAST_SEEN_RESOLUTION:
        contact.last_seen_at = now
        update_fields.append("last_seen_at")
    if update_fields:
        contact.save(update_fields=[*update_fields, "updated_at"])
    return IdentifyResult(contact=contact, created=False, linked=linked)


def _create(*, user_id, email, anonymous_id, properties, now) -> IdentifyResult:  # noqa: ANN001
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                external_id=user_id,
                email=email,
                anonymous_id=anonymous_id,
                properties=merge_properties({}, properties),
                first_seen_at=now,
                last_seen_at=now,
                created_at=now,
            )
    except IntegrityError:
        # A concurrent request created the same person first: resolve to it.
        return contact_identify(user_id=user_id, email=email, anonymous_id=anonymous_id,
                                properties=properties, now=now)
    return IdentifyResult(contact=contact, created=True)


def _survivor_order(contact: Contact) -> tuple:
    return (contact.external_id is None, contact.first_seen_at or contact.created_at, str(contact.pk))


def _merge(contacts: list[Contact], *, now: datetime) -> Contact:
    """Fold several contacts into one (reference 5.4) and return the survivor."""
    from contacts import merge  # the history re-pointing spans apps; kept apart

    ordered = sorted(contacts, key=_survivor_order)
    survivor, losers = ordered[0], ordered[1:]
    props: dict[str, Any] = {}
    for loser in reversed(losers):
        props.update(loser.properties or {})
    props.update(survivor.properties or {})
    for loser in losers:
        for kind in ("external_id", "email", "anonymous_id"):
            value = getattr(loser, kind)
            if value:
                ContactAlias.objects.update_or_create(
                    kind=kind, value=value,
                    defaults={"contact": survivor, "from_contact_id": loser.pk, "reason": "merge"},
                )
        Contact.objects.filter(pk=loser.pk).update(deleted_at=now, updated_at=now)
        merge.repoint_history(from_contact=loser, to_contact=survivor)
    for loser in losers:
        for kind in ("external_id", "email", "anonymous_id"):
            if getattr(loser, kind) and not getattr(survivor, kind):
                setattr(survivor, kind, getattr(loser, kind))
    survivor.properties = props
    if survivor.first_seen_at is None or any(
        lo.first_seen_at and lo.first_seen_at < survivor.first_seen_at for lo in losers
    ):
        survivor.first_seen_at = min(c.first_seen_at or now for c in contacts)
    survivor.save()
    logger.info("merged contacts %s into %s", [str(lo.pk) for lo in losers], survivor.pk)
    return survivor


def contact_upsert(
    *,
    user_id: str | None = None,
    email: str | None = None,
    anonymous_id: str | None = None,
    properties: dict[str, Any] | None = None,
) -> IdentifyResult:
    """`PUT /v1/contacts`: resolve/merge and merge properties; never ingests an event."""
    with transaction.atomic():
        return contact_identify(user_id=user_id, email=email, anonymous_id=anonymous_id,
                                properties=properties)


def contact_find(*, email: str | None = None, user_id: str | None = None) -> list[Contact]:
    if email:
        contact = _find("email", normalize_email(email))
    elif user_id:
        contact = _find("external_id", user_id)
    else:
        raise IdentityRequired()
    return [contact] if contact else []


def contact_get(*, ref: str) -> Contact:
    """A live contact by uuid or external id (the admin plane accepts either)."""
    query = Q(external_id=ref)
    try:
        import uuid

        query |= Q(pk=uuid.UUID(ref))
    except ValueError:
        pass
    contact = _live().filter(query).first()
    if contact is None:
        raise NotFound("Contact not found")
    return contact


def contact_delete(*, email: str | None = None, user_id: str | None = None) -> Contact:
    """Soft delete: history and preferences stay, the keys become free."""
    if not (email or user_id):
        raise IdentityRequired()
    with transaction.atomic():
        contacts = contact_find(email=email, user_id=None) if email else contact_find(user_id=user_id)
        if not contacts:
            raise NotFound("Contact not found")
        contact = contacts[0]
        now = timezone.now()
        Contact.objects.filter(pk=contact.pk).update(deleted_at=now, updated_at=now)
        contact.deleted_at = now
        return contact


# --- Preferences ----------------------------------------------------------------

PREFERENCE_FIELDS = ("unsubscribed_all", "suppressed", "categories")


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
    return pref


def preferences_of(*, contact: Contact | None, email: str | None) -> list[EmailPreference]:
    """Every preference row for this contact or (without one) this address."""
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
