"""Zendesk: a solved ticket starts the support follow-up, a reopened one ends it.

Signed with the webhook's signing secret (ZENDESK_WEBHOOK_SECRET, "Reveal
secret" on the webhook in Admin Center). Two payload shapes are read:

* A webhook connected to triggers, with the body template the README gives
  (one trigger per event, "Ticket status changed to Solved" and "changed from
  Solved"; Zendesk sends whatever JSON the trigger's body defines)::

      {"event": "ticket.resolved",
       "ticket": {"id": "{{ticket.id}}", "status": "{{ticket.status}}",
                  "updated_at": "{{ticket.updated_at_with_timestamp}}"},
       "requester": {"id": "{{ticket.requester.id}}",
                     "email": "{{ticket.requester.email}}",
                     "external_id": "{{ticket.requester.external_id}}"}}

* A webhook subscribed to the `zen:event-type:ticket.status_changed` event:
  Zendesk's own envelope, whose `detail` names the requester only by Zendesk
  user id. It is matched to the contact an earlier trigger delivery recorded
  that id on (`zendesk_user_id`); an unknown requester is acknowledged and
  skipped.
"""

from __future__ import annotations

from typing import Any

from sources import Ignore, Malformed, SourceEvent, WebhookRequest, define_source
from sources.auth import ZendeskSignature
from sources.selectors import contact_by_property, identity_of

EVENTS = ("ticket.resolved", "ticket.reopened")
SOLVED = {"solved", "closed"}
STATUS_CHANGED = "zen:event-type:ticket.status_changed"


def _text(value: Any) -> str:
    # An unset placeholder renders as "" in Zendesk; ids may arrive as numbers.
    return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) \
        else ""


def zendesk(payload: Any, request: WebhookRequest) -> SourceEvent | Ignore:
    """Zendesk ticket solved -> `ticket.resolved`, reopened -> `ticket.reopened`."""
    if not isinstance(payload, dict):
        raise Malformed("expected a JSON object")
    kind = _text(payload.get("type"))
    if kind.startswith("zen:event-type:"):
        return _status_changed(payload) if kind == STATUS_CHANGED else Ignore(
            f"Zendesk event {kind} is not mapped")
    return _trigger(payload, request)


def _trigger(payload: dict[str, Any], request: WebhookRequest) -> SourceEvent | Ignore:
    ticket, requester = payload.get("ticket") or {}, payload.get("requester") or {}
    if not isinstance(ticket, dict) or not isinstance(requester, dict):
        raise Malformed("ticket and requester must be JSON objects")
    status = _text(ticket.get("status")).lower()
    event = _text(payload.get("event")) or ("ticket.resolved" if status in SOLVED else "")
    if event not in EVENTS:
        return Ignore(f"no event to record (event {event or 'missing'!r}, status {status!r})")
    ticket_id = _text(ticket.get("id"))
    if not ticket_id:
        raise Malformed("ticket.id is missing")
    email, external_id = _text(requester.get("email")), _text(requester.get("external_id"))
    if not (email or external_id):
        raise Malformed("requester.email or requester.external_id is required")
    zendesk_user = _text(requester.get("id"))
    updated = _text(ticket.get("updated_at"))
    # updated_at changes whenever the ticket does, so a retry of this delivery
    # repeats the key and the next solve of the same ticket does not.
    event_id = (f"{ticket_id}:{event}:{updated}" if updated
                else request.header("X-Zendesk-Webhook-Invocation-Id") or None)
    return SourceEvent(
        name=event, user_id=external_id or None, email=email or None,
        properties={"ticket_id": ticket_id, "status": status},
        contact_properties={"zendesk_user_id": zendesk_user} if zendesk_user else None,
        event_id=event_id)


def _status(value: Any) -> str:
    if isinstance(value, dict):  # some event versions nest it: {"status": "SOLVED"}
        value = value.get("status")
    return _text(value).lower()


def _status_changed(payload: dict[str, Any]) -> SourceEvent | Ignore:
    detail, change = payload.get("detail") or {}, payload.get("event") or {}
    if not isinstance(detail, dict) or not isinstance(change, dict):
        raise Malformed("detail and event must be JSON objects")
    current, previous = _status(change.get("current")), _status(change.get("previous"))
    if current in SOLVED and previous not in SOLVED:
        event = "ticket.resolved"
    elif previous in SOLVED and current and current not in SOLVED:
        event = "ticket.reopened"
    else:
        return Ignore(f"status {previous or '?'} -> {current or '?'} is not a solve or reopen")
    ticket_id = _text(detail.get("id")) or _text(payload.get("subject")).rpartition(":")[2]
    requester = _text(detail.get("requester_id"))
    if not ticket_id or not requester:
        raise Malformed("detail.id and detail.requester_id are required")
    contact = contact_by_property(name="zendesk_user_id", value=requester)
    if contact is None:
        return Ignore(f"no contact has zendesk_user_id {requester}: Zendesk's event "
                      "payload has no email (see the README's trigger payload)")
    return SourceEvent(name=event, **identity_of(contact),
                       properties={"ticket_id": ticket_id, "status": current},
                       event_id=_text(payload.get("id")) or None)


source = define_source(id="zendesk", name="Zendesk", transform=zendesk,
                       auth=ZendeskSignature(secret_env="ZENDESK_WEBHOOK_SECRET"))
