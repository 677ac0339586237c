"""Support — resolution follow-up.

The morning after a ticket is resolved (09:00 in the customer's timezone), ask
"Did that fix it?" with two one-click answers. A "no" fires
`support.reopen_requested`, which the `support-alert` handler (alerts/operator.py)
turns into a page to the support inbox. A reopened ticket ends the run.
"""

from __future__ import annotations

from journeys.engine import days, define_journey, hours, minutes, send_email


@define_journey(
    id="support-followup",
    name="Support — resolution follow-up",
    enabled=True,
    trigger={"event": "ticket.resolved"},
    # A heavy support week is one follow-up, not three.
    entry_limit="once_per_period",
    entry_period=days(7),
    suppress=hours(12),
    # The awaited support.followup_answered must never be an exit event.
    exit_on=[{"event": "ticket.reopened"}],
)
def support_followup(user, ctx):
    ticket_id = str(user.properties.get("ticket_id") or "")
    ctx.sleep_until(ctx.when.tomorrow().at("09:00"), label="next-morning")
    if not user.email or not ctx.guard.is_subscribed():
        return
    send_email(
        to=user.email,
        user_id=user.id,
        journey_state_id=user.state_id,
        template="support/followup",
        subject="Did that fix it?",
        journey_name=user.journey_name,
        props={"ticketId": ticket_id},
    )
    # lookback covers an answer confirmed before the wait is established.
    answer = ctx.wait_for_event(
        event="support.followup_answered",
        timeout=days(4),
        label="await-answer",
        lookback=minutes(30),
    )
    if not answer.timed_out and answer.properties.get("answer") == "no":
        answered_at = (answer.occurred_at or ctx.now()).isoformat()
        ctx.trigger(
            event="support.reopen_requested",
            user_id=user.id,
            properties={
                "ticket_id": ticket_id,
                "source": "followup-email",
                "answeredAt": answered_at,
            },
        )
