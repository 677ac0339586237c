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

Every send signs two of these, so the signer is built once per key set and
derives its HMAC keys once (Django's own signer re-derives them on every call),
and a new token is not zlib-compressed: for a payload this short compression
rarely saves the two bytes it must, so it was mostly wasted work. A token is
byte for byte what `signing.dumps` writes, and a compressed token already in a
sent email (a leading ".") still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.utils.encoding import force_bytes

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
    return _signer().sign_object(payload)


def token_read(token: str) -> PreferenceToken:
    """Verify signature and shape, then the action's age (if it has one).

    Raises `InvalidToken` for anything not signed by us or malformed, and
    `ExpiredToken` (a subclass) for a genuine token past its action's age.
    """
    signer = _signer()
    try:
        payload = signer.unsign_object(token or "")
    except (signing.BadSignature, ValueError) as exc:
        raise InvalidToken() from exc
    parsed = _parsed(payload)
    max_age = MAX_AGE_BY_ACTION.get(parsed.action)
    if max_age is not None:
        try:
            signer.unsign(token, max_age=max_age)
        except signing.SignatureExpired as exc:
            raise ExpiredToken(parsed) from exc
    return parsed


class _Signer(signing.TimestampSigner):
    """`TimestampSigner` with the salt's HMAC key derived once per secret key.

    `signature` gives what `salted_hmac` gives (SHA-256 of salt + "signer" +
    key as the HMAC key), from a keyed HMAC copied instead of rebuilt.
    """

    def __init__(self, key: str | bytes, fallback_keys: tuple[str | bytes, ...]) -> None:
        super().__init__(key=key, salt=SALT, algorithm="sha256",
                         fallback_keys=list(fallback_keys))
        key_salt = force_bytes(self.salt + "signer")
        self._macs = {
            k: hmac.new(hashlib.sha256(key_salt + force_bytes(k)).digest(),
                        digestmod=hashlib.sha256)
            for k in (key, *fallback_keys)
        }

    def signature(self, value: str, key: str | bytes | None = None) -> str:
        mac = self._macs[key or self.key].copy()
        mac.update(force_bytes(value))
        return signing.b64_encode(mac.digest()).decode()


def _signer() -> _Signer:
    # Keyed on the settings so a changed SECRET_KEY or fallback list (tests, a
    # reload) gets a signer of its own.
    return _signer_for(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))


@lru_cache(maxsize=4)
def _signer_for(key: str | bytes, fallback_keys: tuple[str | bytes, ...]) -> _Signer:
    return _Signer(key, fallback_keys)


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
