"""Lifecycle — trial expiring.

Starts when a person joins the `trial-expiring-soon` bucket (a trial with 3 days
or fewer left, not converted) and ends when they leave it (they converted, the
trial changed, or the bucket's 14-day time box ran out), subscribe, or are
deleted. A reminder first; if no `subscription.created` comes within 2 days, a
last email with 20 % off.
"""

from __future__ import annotations

from journeys import RunContext, User, days, define_journey, hours

DISCOUNT_PERCENT = 20
DEFAULT_DAYS_LEFT = 3


def days_left(properties: dict[str, object]) -> int:
    """The trial's days left from the bucket's snapshot on the entered event."""
    value = properties.get("trial_days_left")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return DEFAULT_DAYS_LEFT


@define_journey(
    id="trial-expiring",
    name="Lifecycle — trial expiring",
    trigger="bucket:entered:trial-expiring-soon",
    entry_limit="once",
    suppress=hours(12),
    exit_on=["bucket:left:trial-expiring-soon", "subscription.created", "user.deleted"],
)
def trial_expiring(user: User, ctx: RunContext) -> None:
    if not ctx.guard.is_subscribed():
        return
    left = days_left(user.properties)
    ctx.send(
        "lifecycle/trial-expiring",
        subject=f"Your trial ends in {left} day{'' if left == 1 else 's'}",
        props={"daysLeft": left},
    )
    upgrade = ctx.wait_for_event("subscription.created", timeout=days(2), label="await-upgrade")
    if not upgrade.timed_out or not ctx.guard.is_subscribed():
        return
    ctx.send(
        "lifecycle/trial-expiring",
        subject=f"Your trial has ended: {DISCOUNT_PERCENT}% off if you upgrade now",
        props={"daysLeft": 0, "discountPercent": DISCOUNT_PERCENT},
    )
