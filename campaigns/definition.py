"""`define_campaign(...)`: a broadcast declared in code, deployed like a journey.

One module per campaign under `campaigns/definitions/` (or a package listed in
CAMPAIGN_PACKAGES), found at start-up and filtered by ENABLED_CAMPAIGNS. The
clock lines the definitions up with the database before it sends anything
(`campaigns.services.campaigns_sync`, also `manage.py sync_campaigns`):

- a new definition whose `send_at` is in the future is scheduled;
- one whose `send_at` passed less than CAMPAIGN_GRACE ago (1 hour) sends now;
- one older than that is recorded `expired`, with a warning, and never sends:
  a definition deployed late, or to a fresh database, must not blast people
  with last month's announcement;
- a campaign that was sent, canceled or expired stays so: a redeploy of the
  same id never sends it again (give a new id to send again).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
AUDIENCE_KINDS = ("list", "bucket")


class DefinitionError(TypeError):
    """A campaign definition is invalid; the message names the campaign and the field."""


@dataclass(frozen=True)
class CampaignDefinition:
    id: str
    name: str
    audience_kind: str
    audience_id: str
    template: str
    send_at: datetime
    props: Mapping[str, Any] = field(default_factory=dict)
    subject: str = ""
    from_email: str = ""
    source: str = ""

    @property
    def definition_hash(self) -> str:
        """What the campaign sends and when: a change updates one not yet started."""
        meta = {"name": self.name, "audience": [self.audience_kind, self.audience_id],
                "template": self.template, "props": dict(self.props), "subject": self.subject,
                "from": self.from_email, "send_at": self.send_at.isoformat()}
        return hashlib.sha256(("campaign-v1\n" + json.dumps(meta, sort_keys=True, default=str))
                              .encode()).hexdigest()[:12]


def audience_of(audience: Any, where: str) -> tuple[str, str]:
    """`{"list": id}` or `{"bucket": id}` as (kind, id); exactly one of them."""
    if not isinstance(audience, Mapping):
        raise DefinitionError(f'{where}: audience must be {{"list": id}} or {{"bucket": id}}')
    given = {kind: audience.get(kind) for kind in AUDIENCE_KINDS if audience.get(kind)}
    unknown = set(audience) - set(AUDIENCE_KINDS)
    if unknown or len(given) != 1:
        raise DefinitionError(f'{where}: audience needs exactly one of "list" or "bucket"'
                              + (f" (unknown key {sorted(unknown)[0]!r})" if unknown else ""))
    [(kind, value)] = given.items()
    if not isinstance(value, str):
        raise DefinitionError(f"{where}: audience {kind} must be an id (a string)")
    return kind, value


def define_campaign(
    *,
    id: str,
    audience: Mapping[str, str],
    template: str,
    send_at: datetime,
    props: Mapping[str, Any] | None = None,
    subject: str | None = None,
    name: str | None = None,
    from_email: str | None = None,
) -> CampaignDefinition:
    """Declare a broadcast (assign it to a module-level name so discovery finds it).

    `audience`: `{"list": "<list id>"}` (its subscribed members, by the list's
    polarity) or `{"bucket": "<bucket id>"}` (its active members), resolved
    when it sends. `send_at` is an aware datetime and is required: a definition
    without one would send on every fresh deploy. The template and the audience
    are checked at start-up (system check hogsend.E601).
    """
    where = f"campaign {id!r}"
    if not isinstance(id, str) or not ID_RE.match(id):
        raise DefinitionError(f"{where}: id must be a lower-case slug "
                              f"(letters, digits, - and _; at most 80)")
    kind, audience_id = audience_of(audience, where)
    if not isinstance(template, str) or not template.strip():
        raise DefinitionError(f"{where}: template must be a template key")
    if not isinstance(send_at, datetime) or send_at.tzinfo is None:
        raise DefinitionError(f"{where}: send_at must be an aware datetime "
                              f"(e.g. datetime(2026, 6, 1, 9, tzinfo=UTC)), got {send_at!r}")
    if props is not None and not isinstance(props, Mapping):
        raise DefinitionError(f"{where}: props must be a dict")
    try:
        json.dumps(dict(props or {}))
    except (TypeError, ValueError) as exc:
        raise DefinitionError(f"{where}: props must be JSON values ({exc})") from exc
    for label, value in (("subject", subject), ("name", name), ("from_email", from_email)):
        if value is not None and not isinstance(value, str):
            raise DefinitionError(f"{where}: {label} must be a string")
    return CampaignDefinition(
        id=id, name=(name or id).strip()[:200], audience_kind=kind, audience_id=audience_id,
        template=template.strip(), send_at=send_at, props=dict(props or {}),
        subject=(subject or "").strip(), from_email=(from_email or "").strip(),
        source=_caller_module(),
    )


def _caller_module() -> str:
    import inspect

    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame and frame.f_back else None
    return str(caller.f_globals.get("__name__", "")) if caller else ""
