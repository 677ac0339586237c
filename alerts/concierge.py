"""The concierge onboarding's page: an enterprise signup needs a human.

`concierge-onboarding` fires `csm.assignment_requested {plan, seats,
requestedAt, reminder}` on entry and again after a silent day (with
`reminder: true`). Each becomes one email to the customer-success inbox and one
alert in the support console. The key carries the journey's `requestedAt`, so
the reminder is a new page while a retry of either one pages nobody twice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from alerts.handlers import HandlerCall, on_event
from alerts.operator import RETRY
from alerts.operator import _page as page
from journeys.definitions.concierge_onboarding import seats_of

KIND = "csm_assignment"


@on_event("csm.assignment_requested", name="csm-alert", **RETRY)
def csm_alert(call: HandlerCall) -> dict[str, Any]:
    if not call.user_id:
        return {"status": "skipped", "reason": "missing_user_id"}
    customer = call.user_email or call.user_id
    requested_at = str(call.properties.get("requestedAt") or call.event.occurred_at.isoformat())
    reminder = call.properties.get("reminder") is True
    seats = seats_of(call.properties.get("seats"))
    who = f"{customer} ({seats} seat{'' if seats == 1 else 's'})"
    return page(
        call, kind=KIND,
        title=f"{'Still unassigned' if reminder else 'Enterprise signup'}: {who}",
        key=f"csm-alert:{call.user_id}:{requested_at}",
        template="transactional/csm-alert", to=settings.CSM_ALERT_EMAIL,
        subject=f"[{'Reminder: ' if reminder else ''}Enterprise signup] {who}",
        props={"customerEmail": customer, "customerId": call.user_id, "seats": seats,
               "reminder": reminder, "requestedAt": requested_at},
    )


__all__ = ["csm_alert"]
