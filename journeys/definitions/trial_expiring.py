"""Lifecycle — trial expiring.

Starts when a person joins the `trial-expiring-soon` bucket (a trial with 3 days
or fewer left, not converted) and ends when they leave it (they converted, the
trial changed, or the bucket's 14-day time box ran out), subscribe, or are
deleted. A reminder first; if no `subscription.created` comes within 2 days, a
last email with 20 % off.
"""

from __future__ import annotations

from journeys.engine import days, define_journey, hours, send_email

DISCOUNT_PERCENT = 20
DEFAULT_DAYS_LEFT = 3


def days_left(properties: dict) -> int:
    """The trial's days left from the bucket's snapshot on the entered event."""
    value = properties.get("trial_days_left")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return DEFAULT_DAYS_LEFT


@define_journey(
    id="trial-expiring",
    name="Lifecycle — trial expiring",
    enabled=True,
    trigger={"event": "bucket:entered:trial-expiring-soon"},
    entry_limit="once",
    suppress=hours(12),
    exit_on=[
        {"event": "bucket:left:trial-expiring-soon"},
        {"event": "subscription.created"},
        {"event": "user.deleted"},
    ],
)
def trial_expiring(user, ctx):
    if not user.email or not ctx.guard.is_subscribed():
        return
    left = days_left(user.properties)
    send_email(
        to=user.email,
        user_id=user.id,
        journey_state_id=user.state_id,
        template="lifecycle/trial-expiring",
        subject=f"Your trial ends in {left} day{'' if left == 1 else 's'}",
        journey_name=user.journey_name,
        props={"daysLeft": left},
    )
    upgrade = ctx.wait_for_event(event="subscription.created", timeout=days(2),
                                 label="await-upgrade")
    if not upgrade.timed_out or not ctx.guard.is_subscribed():
        return
    send_email(
        to=user.email,
        user_id=user.id,
        journey_state_id=user.state_id,
        template="lifecycle/trial-expiring",
        subject=f"Your trial has ended: {DISCOUNT_PERCENT}% off if you upgrade now",
        journey_name=user.journey_name,
        props={"daysLeft": 0, "discountPercent": DISCOUNT_PERCENT},
    )
