"""Support — resolution follow-up.

The morning after a ticket is resolved (09:00 in the customer's timezone), ask
"Did that fix it?" with two one-click answers. A "no" fires
`support.reopen_requested`, which the `support-alert` handler (alerts/operator.py)
turns into a page to the support inbox. A reopened ticket ends the run.
"""

from __future__ import annotations

from journeys import RunContext, User, days, define_journey, hours, minutes


# A heavy support week is one follow-up, not three. The awaited
# support.followup_answered must never be an exit event.
@define_journey(
    id="support-followup", name="Support — resolution follow-up", trigger="ticket.resolved",
    entry_limit="once_per_period", entry_period=days(7), suppress=hours(12),
    exit_on=["ticket.reopened"],
)
def support_followup(user: User, ctx: RunContext) -> None:
    ticket_id = str(user.properties.get("ticket_id") or "")
    ctx.sleep_until(ctx.when.tomorrow().at("09:00"), label="next-morning")
    if not ctx.guard.is_subscribed():
        return
    ctx.send("support/followup", subject="Did that fix it?", props={"ticketId": ticket_id})
    # lookback covers an answer confirmed before the wait is established.
    answer = ctx.wait_for_event("support.followup_answered", timeout=days(4),
                                lookback=minutes(30), label="await-answer")
    if answer.properties.get("answer") == "no":
        ctx.trigger("support.reopen_requested", {
            "ticket_id": ticket_id, "source": "followup-email",
            "answeredAt": (answer.occurred_at or ctx.now()).isoformat(),
        })
