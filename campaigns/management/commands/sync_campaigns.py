"""`manage.py sync_campaigns`: line the database up with the campaign definitions
in code and say what happened to each (scheduled, sending now, expired, ...).

The clock (`run_due`, `qcluster` workers) does the same before its first claim,
so a deploy needs no extra step; run this in a deploy script to see the outcome
(and the warnings of any definition that expired) before the clock starts.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from campaigns.services import campaigns_sync


class Command(BaseCommand):
    help = "Sync code-defined campaigns with the database (schedule, send within grace, expire)."

    def handle(self, *args, **options) -> None:
        report = campaigns_sync()
        lines = [("scheduled", report.scheduled), ("sending now", report.queued),
                 ("updated", report.updated), ("expired (not sent)", report.expired),
                 ("canceled (definition gone)", report.canceled),
                 ("invalid (not synced)", report.invalid), ("unchanged", report.unchanged)]
        for label, ids in lines:
            if ids:
                self.stdout.write(f"{label}: {', '.join(sorted(ids))}")
        if not any(ids for _, ids in lines):
            self.stdout.write("no campaigns defined")
