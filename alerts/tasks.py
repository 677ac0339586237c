"""django-q2 task entry points (stable dotted paths)."""

from __future__ import annotations

from django.utils import timezone

from alerts.due import claim_due_jobs, process_jobs


def jobs_run_due() -> int:
    """Run handler jobs due now (queued by ingest so a page goes out at once)."""
    total = 0
    while ids := claim_due_jobs(timezone.now(), 100):
        process_jobs(ids)
        total += len(ids)
    return total
