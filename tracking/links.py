"""Send-time link rewriting: semantic links become tracked links.

`rewrite_links()` takes a rendered email (after CSS inlining, so attributes are
double-quoted) and, for every `<a>` tag and every text-body marker:

1. validates the semantic attributes (`data-hs-event`, `data-hs-props`) and
   raises `SemanticLinkError` on any broken rule, before anything is written;
2. plans one `TrackedLink` per distinct (url, event, raw props) — identical
   plain URLs share a row, the same URL with different answers does not; the
   hosted-answer sentinel gets a link whose destination is its own answer page;
3. inserts the rows, rewrites each tracked href to `<base>/v1/t/c/<id>` and
   strips the `data-hs-*` attributes, so the answer never travels in the email.

Unsubscribe and preference-centre links are never rewritten, and neither is
anything that is not an absolute http(s) URL, nor a plain link marked
`data-hs-track="off"` (the support inbox's links into the console).
`inject_open_pixel()` adds the open pixel before the last `</body>`.
"""

from __future__ import annotations

import base64
import binascii
import html as html_lib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from tracking.exceptions import SemanticLinkError
from tracking.models import EmailSend, TrackedLink
from tracking.rows import LinkRow, rows_insert
from tracking.templatetags.hogsend import HOSTED_ANSWER_HREF

# Quoted attribute values may hold a raw `>` (css-inline escapes only `&`, `"` and
# no-break spaces in them: a prop `T-<1>` in an answer's properties), so a tag
# ends at the first `>` outside quotes.
ANCHOR_RE = re.compile(r"""<a\b(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
ATTR_RE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
MARKER_RE = re.compile(r"\[\[hs:([A-Za-z0-9_\-=]+)\]\]")
RESERVED_EVENT_RE = re.compile(r"^(email|journey|bucket|contact|deal|funnel)[.:]")
UNTRACKED_PATHS = ("/v1/email/unsubscribe", "/v1/email/preferences")
MAX_PROPS_CHARS = 2048
SCALARS = (str, int, float, bool, type(None))


@dataclass
class _Attr:
    name: str
    raw: str | None  # the attribute text between the quotes, still entity-encoded


@dataclass
class _Planned:
    id: uuid.UUID
    destination: str
    event: str
    props: dict[str, Any]


@dataclass
class LinkPlan:
    """The tracked links of one email, keyed by (url, event, raw props)."""

    base_url: str
    links: dict[tuple[str, str, str], _Planned] = field(default_factory=dict)

    def tracked_url(self, *, url: str, event: str, props_raw: str) -> str:
        key = (url, event, props_raw)
        planned = self.links.get(key)
        if planned is None:
            link_id = uuid.uuid4()
            destination = f"{self.base_url}/v1/t/a/{link_id}" if url == HOSTED_ANSWER_HREF else url
            props = validate_semantic(event, props_raw) if event else {}
            planned = _Planned(id=link_id, destination=destination, event=event, props=props)
            self.links[key] = planned
        return f"{self.base_url}/v1/t/c/{planned.id}"


def validate_semantic(event: str, props_raw: str) -> dict[str, Any]:
    """An answer's rules; returns the parsed props.

    The event is non-empty and outside the engine's own namespaces (an answer must not
    pass for an `email.*` or `journey.*` event); the props are a JSON object of scalars
    of at most MAX_PROPS_CHARS, so they fit a flat event payload.
    """
    if not event:
        raise SemanticLinkError("Semantic link has an empty data-hs-event")
    if RESERVED_EVENT_RE.match(event):
        raise SemanticLinkError(f"Semantic link event {event!r} uses a reserved namespace "
                                "(email, journey, bucket, contact, deal, funnel)")
    if not props_raw:
        return {}
    if len(props_raw) > MAX_PROPS_CHARS:
        raise SemanticLinkError(f"Semantic link props of {event!r} exceed {MAX_PROPS_CHARS} chars")
    try:
        props = json.loads(props_raw)
    except ValueError as exc:
        raise SemanticLinkError(f"Semantic link props of {event!r} are not JSON") from exc
    if not isinstance(props, dict):
        raise SemanticLinkError(f"Semantic link props of {event!r} must be a JSON object")
    bad = [key for key, value in props.items() if not isinstance(value, SCALARS)]
    if bad:
        raise SemanticLinkError(f"Semantic link props of {event!r} must be scalars: {bad}")
    return props


def _parse_attrs(tag: str) -> list[_Attr]:
    inner = tag[2:-1].strip().rstrip("/")
    attrs = []
    for match in ATTR_RE.finditer(inner):
        raw = next((g for g in match.groups()[1:] if g is not None), None)
        attrs.append(_Attr(name=match.group(1).lower(), raw=raw))
    return attrs


def _value(attrs: list[_Attr], name: str) -> str | None:
    for attr in attrs:
        if attr.name == name:
            return html_lib.unescape(attr.raw or "")
    return None


def _is_trackable(href: str) -> bool:
    return bool(re.match(r"^https?://", href, re.IGNORECASE)) and not any(
        path in href for path in UNTRACKED_PATHS
    )


def _rewrite_anchor(tag: str, plan: LinkPlan) -> str:
    attrs = _parse_attrs(tag)
    raw_event = _value(attrs, "data-hs-event")
    event = raw_event.strip() if raw_event is not None else ""
    props_raw = (_value(attrs, "data-hs-props") or "").strip()
    href = (_value(attrs, "href") or "").strip()
    semantic = raw_event is not None
    if semantic and not event:
        raise SemanticLinkError("Semantic link has an empty data-hs-event")
    if href == HOSTED_ANSWER_HREF and not semantic:
        raise SemanticLinkError("The hosted-answer href needs data-hs-event on the same link")
    if href != HOSTED_ANSWER_HREF and not _is_trackable(href):
        if semantic:
            raise SemanticLinkError(f"Semantic link {event!r} needs an absolute http(s) href "
                                    f"that is not an unsubscribe link, got {href!r}")
        return tag
    if not semantic and (_value(attrs, "data-hs-track") or "").strip().lower() == "off":
        # An operator email's link into the console: staff clicks are not engagement.
        kept = [a for a in attrs if a.name != "data-hs-track"]
        return "<a " + " ".join(a.name if a.raw is None else f'{a.name}="{a.raw}"'
                                for a in kept) + ">"
    url = plan.tracked_url(url=href, event=event, props_raw=props_raw)
    kept = [a for a in attrs if a.name not in ("href", "data-hs-event", "data-hs-props")]
    parts = [f'href="{url}"'] + [a.name if a.raw is None else f'{a.name}="{a.raw}"' for a in kept]
    return "<a " + " ".join(parts) + ">"


def _rewrite_marker(match: re.Match[str], plan: LinkPlan) -> str:
    try:
        event, props_raw, href = json.loads(base64.urlsafe_b64decode(match.group(1)))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise SemanticLinkError("Malformed semantic link marker in the text body") from exc
    if href != HOSTED_ANSWER_HREF and not _is_trackable(href):
        raise SemanticLinkError(f"Semantic link {event!r} needs an absolute http(s) href, "
                                f"got {href!r}")
    return plan.tracked_url(url=href, event=str(event).strip(), props_raw=props_raw)


def plan_links(*, send_id: Any, html: str, text: str,
               base_url: str) -> tuple[str, str, list[LinkRow]]:
    """Rewrite both bodies; return them with the (unsaved) tracked links."""
    plan = LinkPlan(base_url=base_url)
    html = ANCHOR_RE.sub(lambda m: _rewrite_anchor(m.group(0), plan), html)
    text = MARKER_RE.sub(lambda m: _rewrite_marker(m, plan), text)
    links = [LinkRow(id=p.id, email_send_id=send_id, original_url=p.destination,
                     event=p.event, event_properties=p.props)
             for p in plan.links.values()]
    return html, text, links


def rewrite_links(*, send: EmailSend, html: str, text: str, base_url: str) -> tuple[str, str]:
    """Rewrite both bodies and insert the send's tracked links (see module doc)."""
    html, text, links = plan_links(send_id=send.pk, html=html, text=text, base_url=base_url)
    rows_insert(TrackedLink, links)
    return html, text


def inject_open_pixel(html: str, *, send_id: Any, base_url: str) -> str:
    pixel = (f'<img src="{base_url}/v1/t/o/{send_id}" width="1" height="1" alt="" '
             'style="display:none" />')
    index = html.lower().rfind("</body>")
    if index == -1:
        return html + pixel
    return html[:index] + pixel + html[index:]
