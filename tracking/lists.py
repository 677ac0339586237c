"""Lists on the data plane: a person's subscriptions, read and written by API.

Lists are declared in code (`tracking.categories`); a person's membership is a
key of their `EmailPreference.categories`. What `subscribed` says here is what
the mailer decides (`tracking.preferences`): the list's polarity over every
preference row of the person, and nothing while they are unsubscribed from
everything. Suppression (bounces, complaints) is not a subscription and is not
shown. Every write goes through `contacts.preferences.contact_preferences_set`, so
each change leaves a `PreferenceChange` row with source `api`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from contacts.identity import IdentityRequired, contact_find, contact_identify
from contacts.models import Contact, PreferenceChange, normalize_email
from contacts.preferences import contact_preferences_set, preferences_of, unsubscribed_from_all
from hogsend_site.errors import HogsendError, NotFound
from tracking.categories import EmailList, enabled_lists, is_subscribed
from tracking.preferences import merged_categories

# The error for a person who cannot hold list membership, word for word the
# reference engine's, so clients written against it recognise it.
NO_EMAIL = "Contact has no email address"


@dataclass(frozen=True)
class ListState:
    list: EmailList
    subscribed: bool


@dataclass(frozen=True)
class Subscriptions:
    """A person's view of every enabled list."""

    unsubscribed_all: bool
    lists: list[ListState]

    def of(self, list_id: str) -> ListState:
        return next(state for state in self.lists if state.list.id == list_id)


def enabled_list(*, list_id: str) -> EmailList:
    """The enabled list `list_id`, or a 404: a list switched off by ENABLED_LISTS
    takes no new members."""
    found = next((item for item in enabled_lists() if item.id == list_id), None)
    if found is None:
        raise NotFound("List not found")
    return found


def subscriptions_of(*, contact: Contact | None, email: str | None) -> Subscriptions:
    """Every enabled list with the person's state. Nobody (no contact, no
    address) reads each list's default: opt-out lists subscribed, opt-in not."""
    rows = preferences_of(contact=contact, email=email) if (contact or email) else []
    unsubscribed_all = unsubscribed_from_all(rows)
    merged = merged_categories(rows)
    return Subscriptions(
        unsubscribed_all=unsubscribed_all,
        lists=[ListState(item, not unsubscribed_all and is_subscribed(merged, item.id))
               for item in enabled_lists()],
    )


def subscriptions_find(*, email: str | None = None, user_id: str | None = None
                       ) -> Subscriptions:
    """`GET /v1/lists`: the lists as the person named by userId (else email) sees
    them. Never creates anyone: an unknown person reads the defaults, or what
    an earlier write by address alone left."""
    user_id = (user_id or "").strip() or None
    email = normalize_email(email)
    if user_id:
        contact = next(iter(contact_find(user_id=user_id)), None)
        return subscriptions_of(contact=contact, email=contact.email if contact else None)
    if email:
        contact = next(iter(contact_find(email=email)), None)
        return subscriptions_of(contact=contact, email=email)
    return subscriptions_of(contact=None, email=None)


def _recipient(*, email: str | None, user_id: str | None) -> Contact:
    """Resolve or create the contact (as `PUT /v1/contacts` does); it must have an
    address, since preference rows are keyed by one. Call inside a transaction:
    a refusal rolls back the contact it created."""
    if not ((user_id or "").strip() or normalize_email(email)):
        raise IdentityRequired()
    contact = contact_identify(user_id=user_id, email=email).contact
    if not contact.email:
        raise HogsendError(NO_EMAIL)
    return contact


def list_subscription_set(
    *,
    list_id: str,
    subscribed: bool,
    email: str | None = None,
    user_id: str | None = None,
    actor: str = "",
) -> tuple[ListState, Subscriptions]:
    """Subscribe the person to an enabled list, or unsubscribe them.

    Subscribing also clears an explicit opt-out left on another row of theirs (a
    merged-in key, an old address), or the opt-out would still win. It does not
    undo "unsubscribed from everything": that takes the person's own
    `unsubscribedAll: false`, so the list then reads not subscribed.
    Returns the list's state and the person's whole view after the write.
    """
    item = enabled_list(list_id=list_id)
    with transaction.atomic():
        contact = _recipient(email=email, user_id=user_id)
        contact_preferences_set(contact=contact, categories={item.id: subscribed},
                                source=PreferenceChange.Source.API, actor=actor)
        after = subscriptions_of(contact=contact, email=contact.email)
    return after.of(item.id), after


def subscriptions_unsubscribed_all_set(
    *,
    unsubscribed_all: bool,
    email: str | None = None,
    user_id: str | None = None,
    actor: str = "",
) -> Subscriptions:
    """`POST /v1/lists/preferences`: the account-wide switch. Opting back in
    clears the flag on every row of the person, so it takes effect."""
    with transaction.atomic():
        contact = _recipient(email=email, user_id=user_id)
        contact_preferences_set(contact=contact, unsubscribed_all=unsubscribed_all,
                                source=PreferenceChange.Source.API, actor=actor)
        return subscriptions_of(contact=contact, email=contact.email)
