"""A broadcast to --people recipients drained by qcluster workers on PostgreSQL.

    .venv/bin/python bench/campaign.py [--people 100000] [--journeys 1000]

A database (BENCH_DB, default `hogsend_bench_campaign`, on BENCH_POSTGRES) is
recreated. --people contacts are inserted with SQL as active members of a bucket;
one campaign to that bucket is created through the service the API calls, due
at once, and one qcluster (Q_WORKERS processes, default 4 as in production) with the run_due clock
drains it, the provider stubbed at the network edge (bench/backends.py) as in
`make bench`. With --journeys, that many support follow-up runs are parked due at
the same instant, to show the broadcast does not starve them: their lateness is
printed beside the broadcast's rate.

Reported: the plan (audience counted and cut into chunks), sends/s over the
whole drain (last send minus the due instant), and the journey runs' lateness
p50/p99. Checked: every member got exactly one email (one row per
`campaign:<id>:<address>` key, all `sent`).

The workers load no buckets (BUCKET_PACKAGES=bench.no_buckets): a shipped
bucket's first backfill would otherwise evaluate every contact while the
broadcast drains. The campaign's audience is read from the membership rows; the
bucket itself is registered only in this process, for the API's check.
`bench/run.py --campaign N` runs the same as one row of `make bench`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
if __name__ == "__main__":
    os.environ.setdefault("BENCH_DB", "hogsend_bench_campaign")

from _setup import DB_NAME, ROOT, SERVER, setup

BUCKET = "bench-broadcast"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--journeys", type=int, default=1_000)
    args = parser.parse_args()
    setup()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hogsend_site.settings",
           "DATABASE_URL": f"{SERVER}/{DB_NAME}", "PYTHONPATH": str(ROOT)}
    from run import PRODUCTION_Q_WORKERS

    result = broadcast(args.people, env, journeys=args.journeys)
    print()
    print(f"email provider stub: {os.environ['EMAIL_BACKEND']} (bench/backends.py), "
          f"Q_WORKERS={os.environ.get('Q_WORKERS', PRODUCTION_Q_WORKERS)}")
    print("| measure | value |")
    print("|---|---|")
    for label, value in result.rows():
        print(f"| {label} | {value} |")


class Result:
    def __init__(self, people: int, plan: float, seconds: float, journeys: list[float]) -> None:
        self.people, self.plan, self.seconds, self.journeys = people, plan, seconds, journeys

    @property
    def rate(self) -> float:
        return self.people / self.seconds

    def rows(self) -> list[tuple[str, str]]:
        rows = [(f"broadcast to {self.people:,} people, sends/s", f"{self.rate:,.0f}"),
                ("broadcast: plan / drained in",
                 f"{self.plan:.1f}s / {self.seconds:.1f}s")]
        if self.journeys:
            late = sorted(self.journeys)
            rows.append((f"{len(late):,} journey runs due at the same instant: lateness "
                         "p50 / p99", f"{late[len(late) // 2]:.1f}s / "
                         f"{late[max(int(len(late) * 0.99) - 1, 0)]:.1f}s"))
        return rows


def members(n: int) -> None:
    """n contacts with addresses, each an active member of the bench bucket."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, external_id, email, anonymous_id, timezone,
                properties, first_seen_at, last_seen_at, created_at, updated_at)
            SELECT md5('cb' || g)::uuid, 'cb-' || g, 'cb' || g || '@example.com', NULL, '',
                '{}', now(), now(), now(), now() FROM generate_series(1, %s) g
            """, [n])
        cursor.execute(
            """
            INSERT INTO buckets_bucketmembership (contact_id, bucket_id, status, entered_at,
                left_at, entry_count, source, leave_reason, snapshot, max_dwell_at, held_out,
                created_at, updated_at)
            SELECT md5('cb' || g)::uuid, %s, 'active', now(), NULL, 1, 'backfill', '', '{}',
                NULL, false, now(), now() FROM generate_series(1, %s) g
            """, [BUCKET, n])
        cursor.execute("ANALYZE")


def park_journeys(n: int) -> None:
    """n support follow-up runs parked at next-morning (as run.py's big burst)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, external_id, email, anonymous_id, timezone,
                properties, first_seen_at, last_seen_at, created_at, updated_at)
            SELECT md5('cj' || g)::uuid, 'cj-' || g, 'cj' || g || '@example.com', NULL, '',
                '{}', now(), now(), now(), now() FROM generate_series(1, %s) g
            """, [n])
        cursor.execute(
            """
            INSERT INTO journeys_journeyrun (id, journey_id, contact_id, user_key, user_email,
                status, current_step, context, version_hash, version_label, error_message,
                exit_reason, wake_at, waiting_event, wake_seq, wait_deadline, timezone,
                created_at, updated_at)
            SELECT md5('cjr' || g)::uuid, 'support-followup', md5('cj' || g)::uuid, 'cj-' || g,
                'cj' || g || '@example.com', 'waiting', 'next-morning', '{"ticket_id": "T"}',
                '', '', '', '', now() + interval '1 day', '', 0, now() + interval '1 day',
                '', now(), now()
            FROM generate_series(1, %s) g
            """, [n])
        cursor.execute("ANALYZE")


def broadcast(n: int, env: dict[str, str], *, journeys: int = 0) -> Result:
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone
    from run import workers

    from buckets import define_bucket, prop
    from buckets.registry import registry
    from campaigns.models import Campaign
    from campaigns.services import campaign_create
    from journeys.models import JourneyRun
    from tracking.models import EmailSend

    members(n)
    if journeys:
        park_journeys(journeys)
    if BUCKET not in registry:
        registry.add(define_bucket(id=BUCKET, name="Bench broadcast",
                                   criteria=prop("bench").eq(True)))
    worker_env = {**env, "BUCKET_PACKAGES": "bench.no_buckets"}
    with workers(worker_env):
        time.sleep(3)  # let the cluster start before the broadcast
        due = timezone.now()
        campaign, _ = campaign_create(template="marketing/announcement", bucket_id=BUCKET,
                                      name="Bench broadcast", subject="Saved views are here",
                                      props={"headline": "Saved views are here",
                                             "ctaUrl": "https://example.com/views"})
        if journeys:
            JourneyRun.objects.filter(status="waiting", current_step="next-morning",
                                      user_key__startswith="cj-").update(
                wake_at=due, wait_deadline=due)
        while True:
            status = Campaign.objects.values_list("status", flat=True).get(pk=campaign.pk)
            if status not in ("queued", "sending"):
                break
            time.sleep(0.5)
        while journeys and JourneyRun.objects.filter(
                status__in=("waiting", "active"), user_key__startswith="cj-",
                wake_at__lte=due).exists():
            time.sleep(0.5)
    campaign.refresh_from_db()
    sends = EmailSend.objects.filter(idempotency_key__startswith=f"campaign:{campaign.pk}:")
    statuses = dict(sends.values_list("status").annotate(n=Count("pk")).order_by())
    if (campaign.status, campaign.sent_count, statuses) != ("sent", n, {"sent": n}):
        raise RuntimeError(f"broadcast incomplete: {campaign.status} sent={campaign.sent_count}"
                           f" skipped={campaign.skipped_count} failed={campaign.failed_count}"
                           f" rows={statuses} note={campaign.note!r}")
    last = sends.order_by("-sent_at").values_list("sent_at", flat=True).first()
    seconds = (last - due).total_seconds()
    plan = (campaign.started_at - due).total_seconds()
    late = [(at - due).total_seconds() for at in EmailSend.objects.filter(
        template_key="support/followup", to_email__startswith="cj",
        created_at__gte=due).values_list("sent_at", flat=True)] if journeys else []
    if journeys and len(late) != journeys:
        raise RuntimeError(f"{journeys - len(late)} journey runs did not send")
    print(f"broadcast of {n:,}: planned in {plan:.1f}s, drained in {seconds:.1f}s, "
          f"{n / seconds:,.0f} sends/s"
          + (f"; journeys p50 lateness {statistics.median(late):.1f}s" if late else ""))
    connection.close()
    return Result(n, plan, seconds, late)


if __name__ == "__main__":
    main()
