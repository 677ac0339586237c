"""Onboarding — enterprise concierge.

Only enterprise signups get a human. On entry the journey pages customer
success (`csm.assignment_requested`, turned into an email and a console alert
by `csm-alert` in alerts/concierge.py) and waits a day for the CSM to report
contact, which is one data-plane call:
`POST /v1/events {name: "csm.contacted", userId: <customer>, eventProperties:
{csm_name, channel}}`.

- A silent day pages again, marked as a reminder (a new `requestedAt`, so a
  new page rather than a duplicate of the first).
- A second silent day sends the customer the automated enterprise welcome, so
  nobody is left waiting on an absent human.
- When the CSM reports contact, the customer gets an intro naming them.
- A booked meeting (`meeting.booked`) ends the run wherever it is; a page that
  already went out stays out.
"""

from __future__ import annotations

from typing import Any

from journeys import RunContext, User, days, define_journey, hours

JOURNEY_ID = "concierge-onboarding"
PAGE_EVENT = "csm.assignment_requested"
CONTACTED = "csm.contacted"


def seats_of(value: Any) -> int:
    """A seat count from an event property; anything but a whole number >= 0 is 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value) if value >= 0 and float(value).is_integer() else 0


def csm_name_of(properties: dict) -> str:
    """The CSM's name from their event, on one line; a fallback when missing."""
    name = " ".join(str(properties.get("csm_name") or "").split())[:80]
    return name or "your account team"


@define_journey(
    id=JOURNEY_ID,
    name="Onboarding — enterprise concierge",
    trigger={"event": "user.signed_up", "where": lambda b: b.prop("plan").eq("enterprise")},
    entry_limit="once",
    suppress=hours(12),
    # The awaited csm.contacted must never be an exit event.
    exit_on=["meeting.booked"],
)
def concierge_onboarding(user: User, ctx: RunContext) -> None:
    seats = seats_of(user.properties.get("seats"))
    # requestedAt is the run's replay-stable clock: part of the page's key.
    ctx.trigger(PAGE_EVENT, {"plan": "enterprise", "seats": seats, "reminder": False,
                             "requestedAt": ctx.now().isoformat()})
    ctx.checkpoint("csm-paged")
    contacted = ctx.wait_for_event(CONTACTED, timeout=days(1), label="await-csm")
    if contacted.timed_out:
        ctx.trigger(PAGE_EVENT, {"plan": "enterprise", "seats": seats, "reminder": True,
                                 "requestedAt": ctx.now().isoformat()})
        # lookback: a report that landed after the first wait ended and before
        # this one began (a late clock) still counts.
        contacted = ctx.wait_for_event(CONTACTED, timeout=days(1), label="await-csm-2",
                                       lookback=hours(1))
    if not ctx.guard.is_subscribed():
        return
    if contacted.timed_out:
        ctx.send("onboarding/enterprise-welcome", subject="Welcome aboard: your enterprise setup")
        return
    csm_name = csm_name_of(contacted.properties)
    ctx.send("onboarding/concierge-intro", subject="Meet your onboarding contact",
             props={"csmName": csm_name})
