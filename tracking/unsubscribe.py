"""What an unsubscribe / preference-centre token may change.

Every write goes through `contacts.preferences.preference_update` with source
`link`, so the audit log shows it. The token's own key and address are the
only subject: nothing in the request can point a write at another person.
"""

from __future__ import annotations

from dataclasses import dataclass

from contacts.identity import contact_for_key
from contacts.models import Contact, EmailPreference
from contacts.preferences import preference_update, preferences_of, unsubscribed_from_all
from contacts.tokens import PreferenceToken
from tracking import categories
from tracking.preferences import merged_categories

JOURNEY_TOPIC = ("journey", "Journey & lifecycle emails",
                 "Follow-ups, check-ins and tips about your account.")


@dataclass
class Topic:
    id: str
    name: str
    description: str
    subscribed: bool


def _contact(token: PreferenceToken) -> Contact | None:
    # The token carries the contact's canonical key (and address), not a staff
    # reference: resolved as a key, so it never lands on a contact whose uuid
    # merely equals this one's external id.
    return contact_for_key(key=token.key, email=token.email)


def category_label(category: str | None) -> str:
    if not category:
        return "all emails"
    if category == categories.JOURNEY:
        return JOURNEY_TOPIC[1]
    item = categories.all_lists().get(category)
    return item.name if item else category


def unsubscribe_apply(token: PreferenceToken) -> EmailPreference:
    """The link's action: (re)subscribe to its category, or to everything."""
    fields: dict[str, object] = {}
    if token.action == "resubscribe":
        fields["unsubscribed_all"] = False
        if token.category:
            fields["categories"] = {token.category: True}
    elif token.category:
        fields["categories"] = {token.category: False}
    else:
        fields["unsubscribed_all"] = True
    return preference_update(contact=_contact(token), email=token.email, user_key=token.key,
                             source="link", actor="unsubscribe-link", **fields)


def preference_topics(token: PreferenceToken) -> tuple[bool, list[Topic]]:
    """(unsubscribed from all?, the topics with their current state)."""
    rows = preferences_of(contact=_contact(token), email=token.email)
    merged = merged_categories(rows)
    unsubscribed_all = unsubscribed_from_all(rows)
    topics = [Topic(*JOURNEY_TOPIC, subscribed=categories.is_subscribed(merged, "journey"))]
    for item in categories.enabled_topics():
        topics.append(Topic(item.id, item.name, item.description,
                            subscribed=categories.is_subscribed(merged, item.id)))
    return unsubscribed_all, topics


def preferences_save(token: PreferenceToken, *, unsubscribed_all: bool,
                     topics: dict[str, bool]) -> EmailPreference:
    allowed = {"journey", *(item.id for item in categories.enabled_topics())}
    chosen = {key: value for key, value in topics.items() if key in allowed}
    return preference_update(contact=_contact(token), email=token.email, user_key=token.key,
                             unsubscribed_all=unsubscribed_all, categories=chosen,
                             source="link", actor="preference-centre")
