"""Dormant for 30 days: people who were active once but not in the last 30 days.

Nobody announces dormancy with an event, so joins come from the reconcile sweep
when the 30-day window closes on a person's last `app.active`; a new `app.active`
takes them out in real time, inside its own ingest. The unbounded "has been
active" anchor keeps brand-new signups (never active) out: a bare "not active
lately" would match every one of them.

Feeds the win-back and sunset journey (journeys/definitions/winback_and_sunset.py).
"""

from __future__ import annotations

from buckets import all_, days, define_bucket, event

ACTIVITY_EVENT = "app.active"
DORMANT_AFTER = days(30)

dormant_30d = define_bucket(
    id="dormant-30d",
    name="Dormant for 30 days",
    description="Was active at some point, but not in the last 30 days.",
    criteria=all_(
        event(ACTIVITY_EVENT).exists(),
        event(ACTIVITY_EVENT).within(DORMANT_AFTER).not_exists(),
    ),
    time_based=True,
)
