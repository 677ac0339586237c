"""Recurring jobs, declared in code and upserted into django-q2 by
`manage.py sync_schedules` (run at deploy; `make demo` runs it too).

Each entry: `name` (unique, stable: it is the upsert key), `func` (the dotted
path of a task function: a stable public API, since the row stores it as a
string), `cron` (five fields, UTC: `Q_CLUSTER["time_zone"]`), and optional
`kwargs` (JSON-able keyword arguments). Rows are named `hogsend:<name>`; an
entry removed from this list has its row deleted on the next sync, while rows
staff created by hand in the admin are never touched.

Example: {"name": "weekly-digest", "func": "alerts.tasks.weekly_digest", "cron": "0 9 * * 1"}
"""

from __future__ import annotations

from typing import Any

SCHEDULES: list[dict[str, Any]] = [
    # Mondays 09:00 UTC: last week's report activity, one email per active contact.
    {"name": "weekly-digest", "func": "alerts.cron.weekly_digest", "cron": "0 9 * * 1"},
    # Every 5 minutes: one alert an hour while runs are stranded, so none waits unseen.
    {"name": "stranded-runs", "func": "alerts.cron.stranded_runs_check", "cron": "*/5 * * * *"},
    # Daily 03:15 UTC: retention (PRUNE_*_DAYS); a no-op while PRUNE_SCHEDULE_ENABLED is off.
    {"name": "prune", "func": "hogsend_site.prune.prune_scheduled", "cron": "15 3 * * *"},
]
