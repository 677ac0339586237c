"""The clock's view of buckets: two due-work sources on the shared claim/lease
machinery (hogsend_site/due.py).

- `bucket-checks`, the reconcile sweep: `BucketCheck` rows whose `due_at` has
  come (an event window closed, a max_dwell box ended), claimed a page at a time
  and evaluated with source `reconcile`. A late sweep only delays a transition:
  each evaluation reads the person's state at that moment.
- `bucket-backfill`: a bucket deployed for the first time or with changed
  criteria (`BucketState.due_at` set by `bucket_states_sync`) evaluates every
  contact, one page per claim, until done.

Both cost no statement while no bucket is registered; the state rows are lined
up with the registry once per process (and again whenever the registry changes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Min

from buckets.models import BucketCheck, BucketState
from buckets.registry import registry
from buckets.services import bucket_backfill_page, bucket_checks_process, bucket_states_sync
from hogsend_site.due import DueSource, claim_due

CHECKS_PAGE = 500

_synced_version: int | None = None
_backfill_pending = False
# The instant of the last claim of checks that came back short. Checks are
# always scheduled after the instant that schedules them, so until the clock
# moves (or this process schedules one) no claim at that instant can find more:
# a drain at a frozen instant (tests, one `run_due`) asks once, not every pass.
_checks_exhausted_at: datetime | None = None


def reset() -> None:
    """Forget the sync and the sweep's last claim (tests whose rows were rolled back)."""
    global _synced_version, _backfill_pending, _checks_exhausted_at
    _synced_version, _backfill_pending, _checks_exhausted_at = None, False, None


def checks_scheduled() -> None:
    """This process wrote checks: the next claim asks the database again."""
    global _checks_exhausted_at
    _checks_exhausted_at = None


def _sync(now: datetime) -> None:
    global _synced_version, _backfill_pending
    if _synced_version != registry.version:
        _backfill_pending = bucket_states_sync(now=now)
        _synced_version = registry.version


def claim_backfill(now: datetime, limit: int) -> list[Any]:
    global _backfill_pending
    if not len(registry):
        return []
    _sync(now)
    if not _backfill_pending:
        return []
    pending = BucketState.objects.filter(due_at__isnull=False)
    ids = claim_due(pending, due_field="due_at", now=now, limit=limit)
    if not ids and not pending.exists():
        _backfill_pending = False
    return ids


def process_backfill(bucket_ids: list[Any]) -> None:
    for bucket_id in bucket_ids:
        bucket_backfill_page(bucket_id=bucket_id)


def next_backfill() -> datetime | None:
    if not len(registry) or not _backfill_pending:
        return None
    return BucketState.objects.filter(due_at__isnull=False).aggregate(at=Min("due_at"))["at"]


def claim_checks(now: datetime, limit: int) -> list[Any]:
    global _checks_exhausted_at
    if not registry.time_based or now == _checks_exhausted_at:
        return []
    ids = claim_due(BucketCheck.objects.all(), due_field="due_at", now=now, limit=limit)
    _checks_exhausted_at = now if len(ids) < limit else None
    return ids


def process_checks(check_ids: list[Any]) -> None:
    bucket_checks_process(check_ids=check_ids)


def next_check() -> datetime | None:
    if not registry.time_based:
        return None
    return BucketCheck.objects.aggregate(at=Min("due_at"))["at"]


CHECKS = DueSource(name="bucket-checks", claim=claim_checks, process=process_checks,
                   batch_size=CHECKS_PAGE, next_due=next_check)
# One bucket per batch: each batch is one page of contacts.
BACKFILL = DueSource(name="bucket-backfill", claim=claim_backfill, process=process_backfill,
                     batch_size=1, next_due=next_backfill)
