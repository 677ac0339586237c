"""What a send is as its steps hand it on: who from, what for, the normalised
request, the prepared send and the result (tracking/mailer.py runs the steps)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contacts.models import Contact
from tracking import templates_registry
from tracking.models import EmailSend
from tracking.rows import LinkRow, SendRow

# A send's row: written and read back, or built by this send and written with it.
Row = EmailSend | SendRow


@dataclass(frozen=True)
class Sender:
    """Who a message is from (default `DEFAULT_FROM_EMAIL`) and where replies go."""

    from_email: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class Origin:
    """What a send belongs to, kept on its row and in the provider's metadata."""

    journey_run_id: uuid.UUID | None = None
    journey_id: str = ""
    journey_name: str = ""  # also the `journeyName` templates are given
    campaign_id: str = ""


@dataclass(frozen=True)
class SendCheck:
    """What a blocker is shown of a send that passed the mailer's own checks."""

    to: str
    category: str
    key: str | None
    now: datetime
    origin: Origin
    orphan_id: Any  # a crashed earlier attempt's row with this key, not to count


# A blocker returns the reason to skip the send ("journey_suppressed"), or None to
# let it go; it may raise instead, to have the caller decide later (nothing is written).
Blocker = Callable[[SendCheck], str | None]


@dataclass
class SendResult:
    email_send_id: str  # "" when no row was written
    status: str  # "sent" | "suppressed" | "unsubscribed" | "skipped" | "failed"
    reason: str = ""
    sent_at: datetime | None = None

    @classmethod
    def duplicate(cls, row: Row) -> SendResult:
        """Any post-dispatch prior row (sent, delivered, opened, ...) is a duplicate of a
        sent message, whatever status the provider's webhooks have moved it to since."""
        return cls(email_send_id=str(row.pk), status="sent", reason="duplicate",
                   sent_at=row.sent_at)


@dataclass
class SendRequest:
    """One send, normalised: what every step reads."""

    to: str
    template: templates_registry.EmailTemplate
    subject: str
    category: str
    contact: Contact | None
    user_key: str
    props: dict[str, Any]
    skip_preference_check: bool
    idempotency_key: str | None
    origin: Origin
    from_email: str
    reply_to: str | None
    now: datetime
    # The key's prior row was not looked up (see `mailer.email_prepare`).
    prior_unknown: bool = False
    blockers: Sequence[Blocker] = ()
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class PreparedSend:
    """A send that passed its checks, rendered with its links; nothing written yet."""

    request: SendRequest
    row: SendRow
    links: list[LinkRow]

    @property
    def key(self) -> str | None:
        return self.request.idempotency_key


# Asked before each message of a batch: is it still wanted? (`upcoming`: it and the
# messages after it, for a caller that answers for several at once.)
StillWanted = Callable[[PreparedSend, list[PreparedSend]], bool]
