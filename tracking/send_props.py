"""What the engine adds to every message: the unsubscribe headers and links, and
the props every template can rely on (name, journeyName, eventName, body, subject).

The body's unsubscribe and preference links are always the engine's (a caller's
copy is dropped: `hrefs.caller_props`), so the body and the List-Unsubscribe
header carry the very same link.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from contacts.tokens import token_make
from tracking.send_types import SendRequest

# Where a greeting's name comes from: the send's props first, then the contact's
# stored properties (so journey and API sends greet "Hi Ada" without passing it).
NAME_PROPS = ("firstName", "first_name", "name")
NAME_MAX_CHARS = 100


def add_unsubscribe(request: SendRequest) -> None:
    """Journey sends carry a global unsubscribe token (one click stops everything, as the
    reference engine's do); other sends one scoped to their category."""
    key = request.user_key or request.to
    scoped = None if request.origin.journey_id else request.category
    base = settings.PUBLIC_BASE_URL
    unsubscribe = token_make(key=key, email=request.to, action="unsubscribe", category=scoped)
    manage = token_make(key=key, email=request.to, action="manage")
    url = f"{base}/v1/email/unsubscribe?token={unsubscribe}"
    request.headers = {"List-Unsubscribe": f"<{url}>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    request.props["unsubscribeUrl"] = url
    request.props["preferencesUrl"] = f"{base}/v1/email/preferences?token={manage}"


def _first_of(properties: dict[str, Any] | None, keys: tuple[str, ...]) -> str:
    for key in keys:
        value = (properties or {}).get(key) if isinstance(properties, dict) else None
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:NAME_MAX_CHARS]
    return ""


def inject_props(request: SendRequest) -> None:
    """Props every template can rely on; they overwrite author props of the same name."""
    props = request.props
    local_part = request.to.split("@", 1)[0]
    props.update(
        name=_first_of(props, NAME_PROPS) or _first_of(
            request.contact.properties if request.contact else None, NAME_PROPS)
        or local_part or "there",
        journeyName=request.origin.journey_name or request.template.key,
        eventName=request.template.key,
        body=request.subject,
        subject=request.subject,
    )
