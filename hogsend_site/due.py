"""Deferred work: one mechanism for everything that happens later.

Every kind of deferred work is a table with a due-time column and a
`claimed_until` lease (run wake-ups, semantic-click confirmations, handler
jobs, ...). A *source* knows how to claim a batch of due rows and how to
process a claimed batch. `run_due` (the clock) claims batches from every
source and hands each batch to a django-q2 task; with `Q_CLUSTER["sync"]` the
task runs inline. A claim whose worker died simply expires and is claimed
again: the database, not the broker, is the source of truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction

logger = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class DueSource:
    name: str
    # claim(now, limit) -> ids claimed (lease set) that are due at `now`.
    claim: Callable[[datetime, int], list[Any]]
    # process(ids) -> None; runs in a worker (or inline in tests).
    process: Callable[[list[Any]], None]
    batch_size: int = 200
    # next_due() -> the earliest due time of unclaimed pending work, or None
    # (lets the test harness jump virtual time straight to it).
    next_due: Callable[[], datetime | None] | None = None


_sources: dict[str, DueSource] = {}


def register_source(source: DueSource) -> None:
    _sources[source.name] = source


def sources() -> Sequence[DueSource]:
    return list(_sources.values())


def get_source(name: str) -> DueSource:
    return _sources[name]


def claim_due(
    queryset: models.QuerySet,
    *,
    due_field: str,
    now: datetime,
    limit: int,
    lease: timedelta = DEFAULT_LEASE,
    extra_update: dict[str, Any] | None = None,
) -> list[Any]:
    """Claim up to `limit` rows of `queryset` due at `now` whose lease is free.

    Safe with many concurrent claimers: PostgreSQL skips rows another claimer
    holds (SKIP LOCKED); SQLite serialises writers (IMMEDIATE transactions).
    """
    free = models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lt=now)
    due = queryset.filter(free, **{f"{due_field}__lte": now}).order_by(due_field)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if ids:
            queryset.model.objects.filter(pk__in=ids).update(
                claimed_until=now + lease, **(extra_update or {})
            )
    return ids


def process_batch(source_name: str, ids: list[Any]) -> None:
    """django-q2 task entry point: process one claimed batch of one source."""
    get_source(source_name).process(ids)


def run_due_once(now: datetime, *, dispatch: Callable[[str, list[Any]], None]) -> int:
    """Claim one batch from every source and dispatch it; returns items claimed."""
    claimed = 0
    for source in sources():
        ids = source.claim(now, source.batch_size)
        if ids:
            claimed += len(ids)
            dispatch(source.name, ids)
    return claimed


def next_due() -> datetime | None:
    """The earliest due time across every source (None when nothing is pending)."""
    times = [t for source in sources() if source.next_due and (t := source.next_due())]
    return min(times, default=None)
