"""Signed tokens for unsubscribe and preference-centre links.

A token carries `{k: person key, e: address, c: category or absent, a: action}`
signed with SECRET_KEY (django.core.signing, a salt of its own, timestamped).
The views act on the token's own key and address, never on anything the
request names, so a token cannot be pointed at another contact; any change to
it breaks the signature.

Unsubscribe and preference-centre (`manage`) tokens never expire. CAN-SPAM asks
for an opt-out that works for at least 30 days after the send, and mailbox
providers and every common ESP honour the link for good: people open old
emails, and a person whose unsubscribe link answers "expired" presses "report
spam" next, which hurts every later send's delivery. The preference centre
reached from the same emails never expires either. A `resubscribe` token (one
click that turns mail back on) expires after `RESUBSCRIBE_MAX_AGE`, so an old
forwarded or leaked email cannot quietly start mail again; an expired one
raises `ExpiredToken`, which still names its verified person, so the page can
offer that person a fresh way to unsubscribe or to choose topics.

Because the links live for ever, rotating SECRET_KEY breaks every link already
sent unless the old key stays in Django's `SECRET_KEY_FALLBACKS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing

from hogsend_site.errors import HogsendError

SALT = "hogsend.email.unsubscribe"
RESUBSCRIBE_MAX_AGE = timedelta(days=30)
ACTIONS = ("unsubscribe", "resubscribe", "manage")
# Actions whose links stop working after a while; every other action never expires.
MAX_AGE_BY_ACTION = {"resubscribe": RESUBSCRIBE_MAX_AGE}
CATEGORY_RE = re.compile(r"^[a-z0-9_-]+$", re.IGNORECASE)


class InvalidToken(HogsendError):
    status = 400

    def __init__(self, message: str = "This link is invalid.") -> None:
        super().__init__(message)


class ExpiredToken(InvalidToken):
    """A genuine token past its action's age: `token` is its verified content."""

    def __init__(self, token: PreferenceToken) -> None:
        super().__init__("This link has expired.")
        self.token = token


@dataclass(frozen=True)
class PreferenceToken:
    key: str
    email: str
    action: str = "unsubscribe"
    category: str | None = None


def token_make(*, key: str, email: str, action: str = "unsubscribe",
               category: str | None = None) -> str:
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}")
    payload = {"k": key, "e": email, "a": action}
    if category:
        payload["c"] = category
    return signing.dumps(payload, salt=SALT, compress=True)


def token_read(token: str) -> PreferenceToken:
    """Verify signature and shape, then the action's age (if it has one).

    Raises `InvalidToken` for anything not signed by us or malformed, and
    `ExpiredToken` (a subclass) for a genuine token past its action's age.
    """
    try:
        payload = signing.loads(token or "", salt=SALT)
    except (signing.BadSignature, ValueError) as exc:
        raise InvalidToken() from exc
    parsed = _parsed(payload)
    max_age = MAX_AGE_BY_ACTION.get(parsed.action)
    if max_age is not None:
        try:
            signing.loads(token, salt=SALT, max_age=max_age)
        except signing.SignatureExpired as exc:
            raise ExpiredToken(parsed) from exc
    return parsed


def _parsed(payload: object) -> PreferenceToken:
    if not isinstance(payload, dict):
        raise InvalidToken()
    key, email, action = payload.get("k"), payload.get("e"), payload.get("a")
    category = payload.get("c")
    if not (isinstance(key, str) and key and isinstance(email, str) and email):
        raise InvalidToken()
    if action not in ACTIONS:
        raise InvalidToken()
    if category is not None and not (isinstance(category, str) and CATEGORY_RE.match(category)):
        raise InvalidToken()
    return PreferenceToken(key=key, email=email, action=action, category=category)
