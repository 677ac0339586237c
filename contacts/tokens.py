"""Signed, expiring tokens for unsubscribe and preference-centre links.

A token carries `{k: person key, e: address, c: category or absent, a: action}`
signed with SECRET_KEY (django.core.signing, a salt of its own, timestamped)
and expires after 30 days. The views act on the token's own key and address,
never on anything the request names, so a token cannot be pointed at another
contact; any change to it breaks the signature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing

from hogsend_site.errors import HogsendError

SALT = "hogsend.email.unsubscribe"
MAX_AGE = timedelta(days=30)
ACTIONS = ("unsubscribe", "resubscribe", "manage")
CATEGORY_RE = re.compile(r"^[a-z0-9_-]+$", re.IGNORECASE)


class InvalidToken(HogsendError):
    status = 400

    def __init__(self, message: str = "This link is invalid or has expired.") -> None:
        super().__init__(message)


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
    """Verify signature, shape and age; raise `InvalidToken` on any problem."""
    try:
        payload = signing.loads(token or "", salt=SALT, max_age=MAX_AGE)
    except (signing.BadSignature, ValueError) as exc:  # SignatureExpired is a BadSignature
        raise InvalidToken() from exc
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
