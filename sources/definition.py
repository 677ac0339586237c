"""`define_source(...)`: an inbound webhook source is an id, an auth check and a transform.

A source turns another system's webhook into canonical events. Its `auth`
(sources/auth.py) verifies the sender with the secret named by
`auth.secret_env`; its `transform(payload, request)` receives the parsed JSON
body and returns one `SourceEvent`, several, or `Ignore(...)` for deliveries
that carry nothing to record (acknowledged with 200 so the sender stops
retrying). A transform raises `Malformed` when a verified sender's payload
lacks what the event needs (answered 400, nothing stored).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sources.auth import Auth

# Lower-case and URL-safe: the id is the `<source>` segment of /v1/webhooks/<source>.
ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
# /v1/webhooks/email/<esp>/tracking/ belongs to the email provider's webhooks.
RESERVED_IDS = frozenset({"email"})


class DefinitionError(TypeError):
    """A source definition is invalid; the message says what and where."""


class Malformed(Exception):
    """A verified sender's payload cannot become an event (answered 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Ignore:
    """The delivery is acknowledged (200) and nothing is stored, for this reason."""

    reason: str


@dataclass(frozen=True)
class SourceEvent:
    """One canonical event a webhook becomes.

    `properties` land on the event row (journey triggers and exits read them);
    `contact_properties` merge onto the contact. `event_id` is the sender's own
    id for this delivery: it becomes the idempotency key `src:<source>:<event_id>`,
    so a retried delivery stores nothing twice.
    """

    name: str
    user_id: str | None = None
    email: str | None = None
    anonymous_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    contact_properties: dict[str, Any] | None = None
    event_id: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class WebhookRequest:
    """What a transform may read besides the payload: the raw body and the headers."""

    source_id: str
    body: bytes
    headers: Mapping[str, str]

    def header(self, name: str) -> str:
        """The header's value, stripped ("" when absent); names are case-insensitive."""
        value = self.headers.get(name)
        if value is None:
            lowered = name.lower()
            value = next((v for k, v in self.headers.items() if k.lower() == lowered), "")
        return str(value).strip()


TransformResult = SourceEvent | Iterable[SourceEvent] | Ignore | None
Transform = Callable[[Any, WebhookRequest], TransformResult]


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    auth: Auth
    transform: Transform
    description: str = ""
    module: str = ""

    @property
    def event_source(self) -> str:
        """The `UserEvent.source` of the events this source stores."""
        return f"webhook:{self.id}"[:40]


def define_source(
    *,
    id: str,
    auth: Auth,
    transform: Transform | None = None,
    name: str | None = None,
    description: str = "",
) -> Any:
    """Define an inbound webhook source, as `define_source(id=..., auth=..., transform=...)`
    or as a decorator on the transform (`@define_source(id=..., auth=...)`).

    The module that holds it goes in a definitions package (`sources/definitions/`
    or one listed in `SOURCE_PACKAGES`); it is served at `POST /v1/webhooks/<id>`
    once its secret is configured.
    """
    from sources.auth import Auth

    if not isinstance(id, str) or not ID_RE.match(id) or id in RESERVED_IDS:
        raise DefinitionError(
            f"source id {id!r} must be lower-case letters, digits, '-' or '_' "
            f"(at most 40) and not one of {sorted(RESERVED_IDS)}")
    if not isinstance(auth, Auth):
        raise DefinitionError(f"source {id!r}: auth must be one of sources.auth's checks")

    def build(function: Transform) -> Source:
        if not callable(function):
            raise DefinitionError(f"source {id!r}: transform must be callable")
        return Source(id=id, name=name or id, auth=auth, transform=function,
                      description=description or inspect.getdoc(function) or "",
                      module=getattr(function, "__module__", ""))

    return build(transform) if transform is not None else build
