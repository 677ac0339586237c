"""Backfill bucket memberships now (at deploy), instead of waiting for the clock.

`run_due` does the same work page by page (the `bucket-backfill` source) when a
bucket is new or its criteria changed; this command runs it to the end in this
process, so a deploy script can finish it before traffic arrives. `--restart`
starts the named buckets over from the first contact.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from buckets.models import BucketState
from buckets.registry import registry
from buckets.services import (
    UnknownBucket,
    bucket_backfill_page,
    bucket_backfill_restart,
    bucket_states_sync,
)


class Command(BaseCommand):
    help = "Evaluate every contact for new or changed buckets (silently, source backfill)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("bucket_ids", nargs="*", help="only these buckets (default: all)")
        parser.add_argument("--restart", action="store_true",
                            help="start the named buckets' backfill over from the first contact")

    def handle(self, *args, bucket_ids: list[str], restart: bool, **options) -> None:
        for bucket_id in bucket_ids:
            if bucket_id not in registry:
                raise CommandError(f"unknown bucket {bucket_id!r} (defined and enabled: "
                                   f"{', '.join(b.id for b in registry) or 'none'})")
        if restart and not bucket_ids:
            raise CommandError("--restart needs the bucket ids to start over")
        bucket_states_sync(now=timezone.now())
        for bucket_id in bucket_ids if restart else ():
            try:
                bucket_backfill_restart(bucket_id=bucket_id)
            except UnknownBucket as exc:  # pragma: no cover - checked above
                raise CommandError(exc.message) from exc
        pending = BucketState.objects.filter(due_at__isnull=False)
        if bucket_ids:
            pending = pending.filter(pk__in=bucket_ids)
        for bucket_id in list(pending.values_list("pk", flat=True)):
            seen = 0
            while True:
                count = bucket_backfill_page(bucket_id=bucket_id)
                seen += count
                if not BucketState.objects.filter(pk=bucket_id, due_at__isnull=False).exists():
                    break
                if count == 0:
                    raise CommandError(f"bucket {bucket_id!r}: the backfill made no progress "
                                       f"(defined differently in the database; run migrate "
                                       f"and try again)")
            self.stdout.write(f"bucket {bucket_id}: backfilled {seen} contact(s)")
        self.stdout.write("buckets_backfill: done")
