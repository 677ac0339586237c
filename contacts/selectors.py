"""Reusable reads of contacts and their preferences (the admin plane's lists)."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower

from contacts.identity import contacts_by_id_or_external_id
from contacts.models import Contact, EmailPreference, normalize_email
from contacts.preferences import preferences_of


def contact_list(*, search: str = "") -> QuerySet[Contact]:
    """Live contacts, most recently seen first (never-seen last).

    `search` matches a part of the email or the external id, case-insensitively.
    """
    contacts = Contact.objects.filter(deleted_at__isnull=True)
    search = search.strip()
    if search:
        contacts = contacts.filter(Q(email__icontains=search) | Q(external_id__icontains=search))
    return contacts.order_by(F("last_seen_at").desc(nulls_last=True), "-created_at", "pk")


def contact_preference(*, contact: Contact) -> EmailPreference | None:
    """The contact's preference row: the one for its key and address (the row the
    admin plane writes), else the most recently changed row naming it; None if none."""
    rows = preferences_of(contact=contact, email=contact.email or None)
    own = [r for r in rows if r.user_key == contact.key and r.email == (contact.email or "")]
    if own:
        return own[0]
    return max(rows, key=lambda r: (r.updated_at, r.pk), default=None)


def contacts_by_refs(*, refs: list[str]) -> dict[str, Contact]:
    """Live contacts named by staff: each ref an email, a contact uuid or an
    external id (a uuid wins over an equal external id, see
    `contacts_by_id_or_external_id`). Returns ref -> contact for the refs found
    (three queries at most)."""
    emails = {normalize_email(ref): ref for ref in refs if "@" in ref}
    found = contacts_by_id_or_external_id(refs=[ref for ref in refs if "@" not in ref])
    if emails:
        live = Contact.objects.filter(deleted_at__isnull=True)
        for contact in live.annotate(lower=Lower("email")).filter(lower__in=list(emails)):
            found[emails[contact.lower]] = contact
    return found
