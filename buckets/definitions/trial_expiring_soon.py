"""Trial expiring soon: trial accounts with three days or fewer left that have not
converted.

Membership follows the contact's properties (`plan`, `trial_days_left`,
`converted`), written by a contact upsert or an event's `contactProperties`, so
joins and leaves happen in real time. A person joins once (`entry_limit`
"once": a later join writes the row but emits no `entered`), and nobody stays
longer than 14 days: a trial whose days-left property is never updated again
would otherwise sit here for good.

Feeds the trial reminder journey (journeys/definitions/trial_expiring.py).
"""

from __future__ import annotations

from buckets import all_, days, define_bucket, prop

trial_expiring_soon = define_bucket(
    id="trial-expiring-soon",
    name="Trial expiring soon",
    description="On a trial with 3 days or fewer left, not converted.",
    criteria=all_(
        prop("plan").eq("trial"),
        prop("trial_days_left").lte(3),
        prop("converted").neq(True),
    ),
    entry_limit="once",
    max_dwell=days(14),
)
