"""How a webhook source knows a request came from its sender.

Each check names the environment variable holding its secret (`secret_env`),
verifies a request against that secret (raising `Unverified` with a short
reason), and can sign a body the way the sender does (`sign`, used by
`manage.py sign_webhook` to try a source locally). Every comparison is
constant-time; a source whose secret is unset is not served at all
(sources/registry.py), so no check ever runs open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from sources.definition import WebhookRequest

# Stripe's and Standard Webhooks' tolerance, used for every timestamped scheme.
DEFAULT_TOLERANCE = timedelta(minutes=5)


class Unverified(Exception):
    """The request did not prove it came from the sender (answered 401)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def secret_value(name: str) -> str:
    """The secret named `name`: a Django setting of that name when one exists
    (tests set them), else the process environment (`.env` is read into it)."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, "")
    return str(value or "").strip()


def _same(a: str | bytes, b: str | bytes) -> bool:
    a = a.encode() if isinstance(a, str) else a
    b = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a, b)


def _digest(secret: str | bytes, message: bytes, algorithm: str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def _within(moment: datetime, now: datetime, tolerance: timedelta) -> None:
    if abs(now - moment) > tolerance:
        raise Unverified("timestamp outside the tolerance (replayed or clock skew)")


class Auth:
    """Base of the checks a source's `auth` may be."""

    # Set by each check (dataclass fields): the variable naming its secret, its scheme.
    secret_env: str
    scheme: str

    def verify(self, request: WebhookRequest, secret: str, now: datetime) -> None:
        raise NotImplementedError

    def sign(self, body: bytes, secret: str, now: datetime) -> dict[str, str]:
        raise NotImplementedError


@dataclass(frozen=True)
class HmacSignature(Auth):
    """An HMAC of the raw body in one header: `prefix + hex|base64(HMAC(secret, body))`.

    Intercom (`X-Hub-Signature: sha1=<hex>`), Help Scout
    (`X-HelpScout-Signature: <base64 sha1>`) and Segment (`X-Signature: <hex sha1>`).
    """

    secret_env: str
    header: str
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    scheme: str = "hmac"

    def _expected(self, body: bytes, secret: str) -> str:
        raw = _digest(secret, body, self.algorithm)
        text = raw.hex() if self.encoding == "hex" else base64.b64encode(raw).decode()
        return self.prefix + text

    def verify(self, request: WebhookRequest, secret: str, now: datetime) -> None:
        provided = request.header(self.header)
        if not provided:
            raise Unverified(f"missing {self.header} header")
        if self.encoding == "hex":
            provided = provided.lower()
        if not _same(provided, self._expected(request.body, secret)):
            raise Unverified(f"{self.header} does not match the body")

    def sign(self, body: bytes, secret: str, now: datetime) -> dict[str, str]:
        return {self.header: self._expected(body, secret)}


@dataclass(frozen=True)
class ZendeskSignature(Auth):
    """Zendesk: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body))
    with the ISO timestamp from `X-Zendesk-Webhook-Signature-Timestamp`."""

    secret_env: str
    tolerance: timedelta = DEFAULT_TOLERANCE
    scheme: str = "zendesk"

    SIGNATURE = "X-Zendesk-Webhook-Signature"
    TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"

    def verify(self, request: WebhookRequest, secret: str, now: datetime) -> None:
        signature, stamp = request.header(self.SIGNATURE), request.header(self.TIMESTAMP)
        if not (signature and stamp):
            raise Unverified(f"missing {self.SIGNATURE} or {self.TIMESTAMP} header")
        expected = base64.b64encode(_digest(secret, stamp.encode() + request.body, "sha256"))
        if not _same(signature, expected):
            raise Unverified(f"{self.SIGNATURE} does not match the body")
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError as exc:
            raise Unverified(f"unreadable {self.TIMESTAMP}") from exc
        _within(moment if moment.tzinfo else moment.replace(tzinfo=UTC), now, self.tolerance)

    def sign(self, body: bytes, secret: str, now: datetime) -> dict[str, str]:
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        signature = base64.b64encode(_digest(secret, stamp.encode() + body, "sha256")).decode()
        return {self.SIGNATURE: signature, self.TIMESTAMP: stamp}


@dataclass(frozen=True)
class StripeSignature(Auth):
    """Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`, each v1 an
    HMAC-SHA256 of "<t>.<body>" keyed with the whole `whsec_...` secret."""

    secret_env: str
    tolerance: timedelta = DEFAULT_TOLERANCE
    scheme: str = "stripe"

    HEADER = "Stripe-Signature"

    def verify(self, request: WebhookRequest, secret: str, now: datetime) -> None:
        header = request.header(self.HEADER)
        if not header:
            raise Unverified(f"missing {self.HEADER} header")
        stamp, candidates = "", []
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key == "t":
                stamp = value
            elif key == "v1":
                candidates.append(value.lower())
        if not stamp.isdigit() or not candidates:
            raise Unverified(f"{self.HEADER} has no t= timestamp or v1= signature")
        expected = _digest(secret, stamp.encode() + b"." + request.body, "sha256").hex()
        # Every v1 is compared: during a secret roll Stripe sends one per secret.
        matches = [_same(candidate, expected) for candidate in candidates]
        if not any(matches):
            raise Unverified(f"{self.HEADER} does not match the body")
        try:
            moment = datetime.fromtimestamp(int(stamp), tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise Unverified(f"unreadable {self.HEADER} timestamp") from exc
        _within(moment, now, self.tolerance)

    def sign(self, body: bytes, secret: str, now: datetime) -> dict[str, str]:
        stamp = str(int(now.timestamp()))
        signature = _digest(secret, stamp.encode() + b"." + body, "sha256").hex()
        return {self.HEADER: f"t={stamp},v1={signature}"}


@dataclass(frozen=True)
class SvixSignature(Auth):
    """Svix / Standard Webhooks (Clerk, Supabase auth hooks): `svix-id`,
    `svix-timestamp`, `svix-signature` (or their `webhook-*` names), each
    signature `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with
    the base64 part of the `whsec_...` secret, within five minutes.

    `fallback_header`: a sender that cannot sign (Supabase database webhooks)
    may instead send the secret itself in that header or as a Bearer token.
    """

    secret_env: str
    fallback_header: str = ""
    scheme: str = "svix"

    def verify(self, request: WebhookRequest, secret: str, now: datetime) -> None:
        headers = {name: request.header(f"svix-{name}") or request.header(f"webhook-{name}")
                   for name in ("id", "timestamp", "signature")}
        if not any(headers.values()) and self.fallback_header:
            _check_shared(request, secret, self.fallback_header)
            return
        if not all(headers.values()):
            raise Unverified("missing svix-id, svix-timestamp or svix-signature header")
        try:
            Webhook(_svix_key(secret)).verify(
                request.body, {f"webhook-{k}": v for k, v in headers.items()}, json_parse=False)
        except (WebhookVerificationError, ValueError, binascii.Error) as exc:
            raise Unverified(f"svix signature: {exc}") from exc

    def sign(self, body: bytes, secret: str, now: datetime) -> dict[str, str]:
        message_id = f"msg_{secrets.token_hex(12)}"
        signature = Webhook(_svix_key(secret)).sign(message_id, now, body.decode())
        return {"svix-id": message_id, "svix-timestamp": str(int(now.timestamp())),
                "svix-signature": signature}


def _svix_key(secret: str) -> str:
    # Supabase shows its hook secrets as "v1,whsec_<base64>"; Svix as "whsec_<base64>".
    return secret.removeprefix("v1,")


@dataclass(frozen=True)
class SharedSecret(Auth):
    """A sender that cannot sign proves itself by sending the secret: in `header`,
    as `Authorization: Bearer <secret>`, or as HTTP Basic auth whose user name or
    password is the secret (Freshdesk's webhook authentication, PostHog
    destination headers, Supabase database webhooks)."""

    secret_env: str
    header: str
    scheme: str = "shared-secret"

    def verify(self, request: WebhookRequest, secret: str, now: datetime) -> None:
        _check_shared(request, secret, self.header)

    def sign(self, body: bytes, secret: str, now: datetime) -> dict[str, str]:
        return {self.header: secret}


def _check_shared(request: WebhookRequest, secret: str, header: str) -> None:
    offered = [request.header(header)]
    scheme, _, credentials = request.header("Authorization").partition(" ")
    if scheme.lower() == "bearer":
        offered.append(credentials.strip())
    elif scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(credentials.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        offered += [user, password]
    offered = [value for value in offered if value]
    if not offered:
        raise Unverified(f"missing {header} header or Authorization")
    # Compare every offer (no early exit): the time taken says nothing about which.
    matches = [_same(value, secret) for value in offered]
    if not any(matches):
        raise Unverified("the shared secret does not match")


__all__ = [
    "Auth",
    "HmacSignature",
    "SharedSecret",
    "StripeSignature",
    "SvixSignature",
    "Unverified",
    "ZendeskSignature",
    "secret_value",
]
