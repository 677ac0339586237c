"""The human approval gate's two handlers: ask the approver, relay the answer.

`human-approval-gate` fires `approval.requested {action, discountPct, mrr,
requestedAt}` and waits two days for the customer's `approval.granted`.

1. `request-approval` emails APPROVER_EMAIL (the operator-alert pattern: a
   console alert, no preference check, key `approval-request:<user>:<requestedAt>`)
   with two one-click answers on `approval.answered` (approve / reject).
2. A confirmed click is stored as the approver's answer; `approval-decision`
   turns it into the customer's `approval.granted {approvedBy, discountPct}` or
   `approval.rejected {rejectedBy}`, which is what the journey waits for (waits
   are scoped to the enrolled person), and resolves the alert. The customer is
   the alert's, found by the email the click came from, never a property of the
   answer. Only a confirmed click of that email counts (its answer key is the
   engine's own); any other tool approves by posting `approval.granted` itself.

A rejection only records the decision: the journey, waiting for an approval,
sends the pre-approved standard email when its wait ends.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from alerts.handlers import HandlerCall, on_event
from alerts.models import Alert
from alerts.operator import RETRY
from alerts.operator import _page as page
from alerts.services import alert_set_status
from tracking.ingest import EventInput, events_ingest
from tracking.models import EmailSend
from tracking.semantic import answer_key

logger = logging.getLogger("alerts")

KIND = "approval_request"
ANSWER_EVENT = "approval.answered"
DECISIONS = {"approve": ("approval.granted", "approvedBy"),
             "reject": ("approval.rejected", "rejectedBy")}


@on_event("approval.requested", name="request-approval", **RETRY)
def request_approval(call: HandlerCall) -> dict[str, Any]:
    if not call.user_id:
        return {"status": "skipped", "reason": "missing_user_id"}
    customer = call.user_email or call.user_id
    requested_at = str(call.properties.get("requestedAt") or call.event.occurred_at.isoformat())
    action = str(call.properties.get("action") or "approval")
    props = {"action": action, "customerEmail": customer, "customerId": call.user_id,
             "discountPct": call.properties.get("discountPct"),
             "mrr": call.properties.get("mrr"), "requestedAt": requested_at}
    result = page(call, kind=KIND, title=f"Approval needed: {action} for {customer}",
                  key=f"approval-request:{call.user_id}:{requested_at}",
                  template="transactional/approval-request", to=settings.APPROVER_EMAIL,
                  subject=f"[Approval needed] {action} for {customer}", props=props)
    if result["status"] != "sent":
        logger.warning("approval request for %s not sent: %s", call.user_id, result)
    return result


@on_event(ANSWER_EVENT, name="approval-decision", **RETRY)
def approval_decision(call: HandlerCall) -> dict[str, Any]:
    send_id = str(call.properties.get("emailSendId") or "")
    if not send_id or call.event.idempotency_key != answer_key(send_id, ANSWER_EVENT):
        return {"status": "skipped", "reason": "not_a_confirmed_click"}
    decision = DECISIONS.get(str(call.properties.get("decision")))
    alert = Alert.objects.filter(email_send_id=send_id, kind=KIND).first()
    if decision is None or alert is None or alert.contact_id is None:
        return {"status": "skipped", "reason": "no_approval_request"}
    event, actor_field = decision
    approver = call.user_email or EmailSend.objects.get(pk=send_id).to_email
    properties = {actor_field: approver, "source": "approval-email",
                  "requestedAt": alert.payload.get("requestedAt")}
    if event == "approval.granted":
        properties["discountPct"] = alert.payload.get("discountPct")
    # One decision per request email: a retry finds its event stored.
    stored = events_ingest([EventInput(name=event, contact_id=alert.contact_id,
                                       properties=properties, source="alerts",
                                       idempotency_key=f"approval-decision:{send_id}")])[0]
    if stored.error:
        raise RuntimeError(f"{event} for alert {alert.pk} not ingested: {stored.error}")
    if alert.status != Alert.Status.RESOLVED:
        alert_set_status(alert_id=alert.pk, status=Alert.Status.RESOLVED, actor=approver)
    return {"status": "relayed", "event": event, "stored": stored.stored}


__all__ = ["approval_decision", "request_approval"]
