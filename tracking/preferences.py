"""Send-time preference verdicts, aggregated over every row.

A person can hold several `EmailPreference` rows (one per key and address, and
a merged contact brings its old rows along). The verdict reads all of them:
any `suppressed` wins, then any `unsubscribed_all`, then the category under
the list's polarity, with an explicit `False` in any row winning.
"""

from __future__ import annotations

from typing import Any

from contacts.models import Contact, EmailPreference
from contacts.preferences import preferences_of, unsubscribed_from_all
from tracking.categories import is_subscribed


def merged_categories(rows: list[EmailPreference]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for row in rows:
        for key, value in (row.categories or {}).items():
            if merged.get(key) is False:
                continue
            merged[key] = value
    return merged


def block_reason(*, contact: Contact | None, email: str, category: str) -> str | None:
    """"suppressed", "unsubscribed", "category_unsubscribed", or None to send."""
    rows = preferences_of(contact=contact, email=email)
    if any(row.suppressed for row in rows):
        return "suppressed"
    if unsubscribed_from_all(rows):
        return "unsubscribed"
    if not is_subscribed(merged_categories(rows), category):
        return "category_unsubscribed"
    return None
