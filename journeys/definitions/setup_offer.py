"""Trial — setup-call offer (the lead-alerts recipe).

A day after a trial starts, offer a setup call with two one-click answers on
`offer.answered` ("interested" / "not_now"). "Interested" fires a scalars-only
`lead.flagged`, even when the lead has unsubscribed since (subscription is a
property of the flag, not a gate: someone asking for a call is still a lead).
The `notify-lead` handler (alerts/operator.py) waits a short grace window for
a comment from the hosted answer page, resolves the lead's address server-side
and pages sales. Converting (`subscription.created`) withdraws the pitch.
"""

from __future__ import annotations

from journeys import RunContext, User, days, define_journey, hours, minutes


@define_journey(
    id="setup-offer",
    name="Trial — setup-call offer",
    trigger="trial.started",
    entry_limit="once",
    suppress=hours(12),
    # The awaited offer.answered must never be an exit event.
    exit_on=["subscription.created"],
)
def setup_offer(user: User, ctx: RunContext) -> None:
    ctx.sleep(days(1), label="pre-offer")
    if not ctx.guard.is_subscribed():
        return
    ctx.send("offer/setup-call", subject="Want a hand getting set up?")
    answer = ctx.wait_for_event(
        "offer.answered", timeout=days(4), label="await-answer", lookback=minutes(30)
    )
    if answer.timed_out or answer.properties.get("answer") != "interested":
        return
    ctx.trigger("lead.flagged", {
        "reason": "setup-offer",
        "answer": "interested",
        "sourceEvent": "offer.answered",
        "sourceTemplate": "offer/setup-call",
        # The confirmed answer's time: recorded with the wait, so a replay
        # mints the same value (it is part of the alert's idempotency key).
        "answeredAt": (answer.occurred_at or ctx.now()).isoformat(),
        "subscribed": ctx.guard.is_subscribed(),
    })
    ctx.checkpoint("lead-flagged")
