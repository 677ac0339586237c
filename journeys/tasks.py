"""django-q2 task entry points (stable dotted paths: Task.func stores them)."""

from __future__ import annotations

from collections import Counter

from journeys.engine.runner import runs_execute


def runs_execute_now(run_ids: list[str]) -> dict[str, int]:
    """Execute runs that ingest just started or woke (each claims its own lease)."""
    return dict(Counter(runs_execute(run_ids, claimed=False).values()))
