"""django-q2 task entry points (stable dotted paths: Task.func stores them)."""

from __future__ import annotations

from journeys.engine.runner import run_execute


def runs_execute(run_ids: list[str]) -> dict[str, int]:
    """Execute runs that ingest just started or woke (each claims its own lease)."""
    outcomes: dict[str, int] = {}
    for run_id in run_ids:
        outcome = run_execute(run_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
