"""Retention — win-back offer behind a human approval (the human approval gate).

A 30 % win-back discount for an at-risk account (MRR >= 500) is not sent until
a person approves it. The journey fires `approval.requested`; the
`request-approval` handler (alerts/approvals.py) emails the approver with
approve / reject buttons and opens a console alert. The run then waits up to
two days for the customer's `approval.granted`, from those buttons or from any
tool: `POST /v1/events {name: "approval.granted", userId: <customer>,
eventProperties: {approvedBy, discountPct}}`.

- Approved: the discount offer, with the approver's `discountPct` if it is a
  whole number (capped at 50; anything else means the requested 30).
- No approval in two days (or a rejection): the pre-approved standard email.
  A late approval is stored and changes nothing.
- The customer reactivating on their own exits the run; the approver's email
  has gone out already and stays out.
"""

from __future__ import annotations

from typing import Any

from journeys import RunContext, User, days, define_journey, hours

JOURNEY_ID = "human-approval-gate"
REQUESTED_PCT = 30
MAX_PCT = 50


def discount_of(value: Any) -> int:
    """The approved discount: a whole number clamped to 0-50, else the requested 30."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return REQUESTED_PCT
    if not float(value).is_integer():
        return REQUESTED_PCT
    return max(0, min(int(value), MAX_PCT))


@define_journey(
    id=JOURNEY_ID,
    name="Retention — win-back offer behind an approval",
    trigger={"event": "account.at_risk", "where": lambda b: b.prop("mrr").gte(500)},
    entry_limit="once_per_period",
    entry_period=days(90),
    suppress=hours(24),
    # The awaited approval.granted must never be an exit event.
    exit_on=["subscription.reactivated"],
)
def approval_gate(user: User, ctx: RunContext) -> None:
    ctx.trigger("approval.requested", {
        "action": "winback-discount", "discountPct": REQUESTED_PCT,
        "mrr": user.properties.get("mrr"),
        # The run's replay-stable clock: part of the approver email's key.
        "requestedAt": ctx.now().isoformat(),
    })
    ctx.checkpoint("approval-requested")
    approval = ctx.wait_for_event("approval.granted", timeout=days(2), label="await-approval")
    if not ctx.guard.is_subscribed():
        return
    if approval.timed_out:
        ctx.send("winback/standard", subject="We'd love to have you back")
        return
    pct = discount_of(approval.properties.get("discountPct", REQUESTED_PCT))
    ctx.send("winback/discount-offer", subject=f"{pct}% off to welcome you back",
             props={"discountPct": pct})
