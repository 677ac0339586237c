"""Buckets at scale, on PostgreSQL: what 20 buckets cost batch ingest, and the sweep.

    BENCH_DB=hogsend_bench .venv/bin/python bench/buckets.py [--contacts 1000000]
        [--people 5000] [--rounds 8] [--skip-ingest] [--freeze-gc] [--rows]

(1) `events_ingest` in batches of 500 with no bucket and with 20 buckets (the
    shapes of tests/test_query_counts.py's `twenty_buckets`: properties, event
    windows, counts), the same event mix for both: `app.active` and
    `report.created` (which the buckets read), `page.viewed` (which none reads),
    and one event in ten writing `plan`/`seats`. After a warm-up that gives
    every person their memberships, rounds alternate a batch without buckets and
    one with them, so both see the same history. The shipped journeys step
    aside (one triggers on `app.active`), so the difference is the buckets' own.
(2) The reconcile sweep over --contacts people (each with `app.active`
    history, half of them dormant): one due check each for a dormant bucket,
    claimed and evaluated a page at a time through the due machinery, as the
    clock does; then a backfill of a property bucket over the same people.

On a shared machine the rate that means something is per CPU second: the
process's own CPU plus its PostgreSQL backend's (read from /proc when the
server is local); wall-clock rates are printed beside it.

Python's full (generation-2) garbage collections walk the whole heap, ~35-60 ms
here, and come every ten generation-1 collections: a round of both sides makes
about ten, so the full collection lands on the same side round after round,
whichever happens to make the tenth. The count per side is printed; with
--freeze-gc the heap is frozen after the warm-up (`gc.freeze()`, as a server
that freezes after start-up), so a full collection walks only what the batches
keep and neither side's rate depends on that phase.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
from dataclasses import dataclass
from pathlib import Path

from _setup import Timer, setup

BATCH = 500


@dataclass
class Cost:
    """Wall seconds, this process's CPU seconds and its database backend's, and the
    full garbage collections that ran meanwhile."""

    wall: float = 0.0
    cpu: float = 0.0
    db_cpu: float = 0.0
    full_gcs: int = 0

    @property
    def total_cpu(self) -> float:
        return self.cpu + self.db_cpu

    def add(self, other: Cost) -> None:
        self.wall += other.wall
        self.cpu += other.cpu
        self.db_cpu += other.db_cpu
        self.full_gcs += other.full_gcs


def _backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend (0 if not on this host)."""
    import os

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(fn) -> Cost:
    full: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    before = _backend_cpu()
    gc.callbacks.append(count)
    try:
        with Timer() as t:
            fn()
    finally:
        gc.callbacks.remove(count)
    return Cost(t.seconds, t.cpu_seconds, _backend_cpu() - before, len(full))


# --- the buckets -------------------------------------------------------------------


def twenty_buckets() -> list:
    """The shapes of tests/test_query_counts.py's `twenty_buckets` fixture."""
    from buckets import all_, any_, days, define_bucket, event, not_, prop

    shapes = [
        lambda n: all_(prop("plan").eq("trial"), prop("seats").gte(n)),
        lambda n: all_(event("app.active"), not_(event("app.active").within(days(n + 1)))),
        lambda n: event("app.active").within(days(n + 1)).at_least(1),
        lambda n: any_(prop("plan").eq("pro"), event("report.created").at_least(n)),
    ]
    return [define_bucket(id=f"b{n}", name=f"B{n}", criteria=shapes[n % 4](n))
            for n in range(20)]


def step_aside() -> None:
    """Only the buckets this bench registers, and no journey, react to its events."""
    from buckets import due as bucket_due
    from buckets.registry import registry
    from journeys.engine.registry import registry as journeys

    for bucket in list(registry):
        registry.remove(bucket.id)
    for journey in list(journeys):
        journeys.remove(journey.id)
    bucket_due.reset()


def use_buckets(buckets: list) -> None:
    from buckets.registry import registry

    for bucket in list(registry):
        registry.remove(bucket.id)
    for bucket in buckets:
        registry.add(bucket)


# --- (1) ingest --------------------------------------------------------------------


class Mix:
    """The event mix: mostly activity, some of it what the buckets read.

    One event in five carries the person's `plan`/`seats`, as SDKs send contact
    properties with their events; one of those in twenty changes them.
    """

    def __init__(self, people: int) -> None:
        self.rng = random.Random(16)
        self.people = people
        self.plans = [self.rng.choice(["trial", "pro", "free"]) for _ in range(people)]
        self.seats = [self.rng.randint(0, 30) for _ in range(people)]

    def batch(self, tag: str) -> list:
        from tracking.ingest import EventInput

        rng, items = self.rng, []
        for i in range(BATCH):
            person, roll = rng.randrange(self.people), rng.random()
            name = ("app.active" if roll < 0.5 else "report.created" if roll < 0.75
                    else "page.viewed")
            props = None
            if rng.random() < 0.2:
                if rng.random() < 0.05:
                    self.plans[person] = rng.choice(["trial", "pro", "free"])
                    self.seats[person] = rng.randint(0, 30)
                props = {"plan": self.plans[person], "seats": self.seats[person]}
            items.append(EventInput(name=name, user_id=f"bk{person}", properties={"n": i},
                                    contact_properties=props, idempotency_key=f"bk-{tag}-{i}"))
        return items


def ingest_ratio(people: int, rounds: int, *, freeze_gc: bool = False
                 ) -> tuple[float, float, float]:
    """Events per CPU second without buckets and with 20; returns (none, twenty, ratio)."""
    from django.db import connection

    from contacts.models import Contact
    from tracking.ingest import events_ingest

    mix = Mix(people)
    Contact.objects.bulk_create(
        [Contact(external_id=f"bk{i}", properties={"plan": mix.plans[i], "seats": mix.seats[i]})
         for i in range(people)], batch_size=5_000)
    _history(people)
    buckets = twenty_buckets()
    step_aside()
    use_buckets(buckets)
    # A deploy's backfill gives everyone their memberships and checks, then a few
    # batches run, as in a steady state.
    for bucket in buckets:
        backfill(bucket)
    for n in range(4):
        events_ingest(mix.batch(f"w{n}"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    from tracking.models import UserEvent

    transitions = UserEvent.objects.filter(event__startswith="bucket:").count()
    if freeze_gc:
        gc.collect()
        gc.freeze()
    none, twenty = Cost(), Cost()
    queries = {"none": 0, "twenty": 0}
    for n in range(rounds):
        for label, cost, defined in (("none", none, []), ("twenty", twenty, buckets)):
            use_buckets(defined)
            items = mix.batch(f"{label}{n}")
            counter = QueryCounter()
            with connection.execute_wrapper(counter):
                cost.add(measure(lambda items=items: events_ingest(items)))
            queries[label] += counter.count
    events = rounds * BATCH
    transitions = UserEvent.objects.filter(event__startswith="bucket:").count() - transitions
    print(f"{transitions / rounds:.0f} joins and leaves per batch of {BATCH} (20 buckets)")
    rows = []
    for label, cost in (("no bucket", none), ("20 buckets", twenty)):
        key = "none" if label == "no bucket" else "twenty"
        rows.append(events / cost.total_cpu)
        print(f"batch ingest, {label:>10}: {events / cost.total_cpu:8,.0f} events/CPU-s "
              f"(python {cost.cpu:.2f} s + postgres {cost.db_cpu:.2f} s), "
              f"{events / cost.wall:8,.0f} events/s wall, "
              f"{queries[key] / rounds:.0f} statements per batch, "
              f"{cost.full_gcs} full GC in {rounds} batches")
    ratio = rows[1] / rows[0]
    print(f"batch ingest with 20 buckets at {ratio:.2f} of the rate without")
    use_buckets([])
    return rows[0], rows[1], ratio


def _history(people: int) -> None:
    """Each person's past: 0-19 `app.active` over the last day (the active users
    whose activity most events are) and 0-29 `report.created` over the last 60
    days (SQL, with no bucket evaluating them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tracking_userevent (contact_id, user_key, event, properties, groups,
                source, idempotency_key, value, currency, occurred_at, created_at)
            SELECT c.id, c.external_id, e.name, '{}', '{}', 'api', NULL, NULL, '',
                now() - random() * e.days * interval '1 day', now()
            FROM contacts_contact c
            CROSS JOIN (VALUES ('app.active', 1, 20), ('report.created', 60, 30)) e(name, days, n)
            CROSS JOIN LATERAL generate_series(1, (abs(hashtext(c.external_id || e.name)) %% e.n))
            WHERE c.external_id LIKE 'bk%%'
            """, [])


def backfill(bucket) -> int:
    """Run the bucket's backfill to the end, page after page; returns contacts seen."""
    from django.utils import timezone

    from buckets.models import BucketState
    from buckets.services import bucket_backfill_page

    now = timezone.now()
    BucketState.objects.update_or_create(bucket_id=bucket.id, defaults={
        "criteria_hash": bucket.criteria_hash, "due_at": now, "cursor": None,
        "backfill_started_at": now, "backfill_seen": 0})
    contacts = 0
    while seen := bucket_backfill_page(bucket_id=bucket.id):
        contacts += seen
    return contacts


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


# --- (2) sweep and backfill --------------------------------------------------------


def _people_with_history(n: int) -> None:
    """n contacts, each with one `app.active` 1-60 days ago (about half past 30 days)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, external_id, email, anonymous_id, timezone,
                properties, first_seen_at, last_seen_at, created_at, updated_at)
            SELECT md5('s' || g)::uuid, 's-' || g, NULL, NULL, '',
                jsonb_build_object('plan', CASE WHEN g %% 3 = 0 THEN 'pro' ELSE 'trial' END,
                                   'seats', g %% 30),
                now(), now(), now(), now() FROM generate_series(1, %s) g
            """, [n])
        cursor.execute(
            """
            INSERT INTO tracking_userevent (contact_id, user_key, event, properties, groups,
                source, idempotency_key, value, currency, occurred_at, created_at)
            SELECT md5('s' || g)::uuid, 's-' || g, 'app.active', '{}', '{}', 'api', NULL,
                NULL, '', now() - (1 + g %% 60) * interval '1 day', now()
            FROM generate_series(1, %s) g
            """, [n])
        cursor.execute("ANALYZE")


def sweep(n: int) -> tuple[float, float]:
    """Contacts per CPU second through the reconcile sweep, then the backfill."""
    from django.db import connection
    from django.utils import timezone

    from buckets import all_, days, define_bucket, event, prop
    from buckets import due as bucket_due
    from buckets.models import BucketCheck, BucketMembership, BucketState

    step_aside()
    dormant = define_bucket(id="sweep-dormant", name="Dormant", time_based=True, criteria=all_(
        event("app.active"), event("app.active").within(days(30)).not_exists()))
    with Timer() as t:
        _people_with_history(n)
        # One check per person, due now, as ingest leaves them.
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO buckets_bucketcheck (contact_id, bucket_id, due_at)
                   SELECT id, 'sweep-dormant', now() - interval '1 minute'
                   FROM contacts_contact WHERE external_id LIKE 's-%%'""")
            cursor.execute("ANALYZE buckets_bucketcheck")
    print(f"sweep fixture: {n:,} people, events and checks inserted in {t.seconds:.0f} s")
    use_buckets([dormant])
    BucketState.objects.update_or_create(bucket_id=dormant.id, defaults={
        "criteria_hash": dormant.criteria_hash, "backfilled_hash": dormant.criteria_hash})
    bucket_due.reset()

    def drain_checks() -> None:
        now = timezone.now()
        while ids := bucket_due.claim_checks(now, bucket_due.CHECKS_PAGE):
            bucket_due.process_checks(ids)

    cost = measure(drain_checks)
    joined = BucketMembership.objects.filter(bucket_id=dormant.id, status="active").count()
    left = BucketCheck.objects.filter(due_at__lte=timezone.now()).count()
    sweep_rate = n / cost.total_cpu
    print(f"sweep: {n:,} checks in {cost.wall:.1f} s wall, {sweep_rate:,.0f} contacts/CPU-s "
          f"(python {cost.cpu:.1f} s + postgres {cost.db_cpu:.1f} s), "
          f"{n / cost.wall:,.0f}/s wall; {joined:,} joined, {left:,} checks still due")

    plan = define_bucket(id="sweep-trial", name="Trial, 10+ seats", criteria=all_(
        prop("plan").eq("trial"), prop("seats").gte(10)))
    use_buckets([plan])
    contacts = 0

    def run_backfill() -> None:
        nonlocal contacts
        contacts = backfill(plan)

    cost = measure(run_backfill)
    members = BucketMembership.objects.filter(bucket_id=plan.id, status="active").count()
    backfill_rate = contacts / cost.total_cpu
    print(f"backfill: {contacts:,} contacts in {cost.wall:.1f} s wall, "
          f"{backfill_rate:,.0f} contacts/CPU-s (python {cost.cpu:.1f} s + postgres "
          f"{cost.db_cpu:.1f} s), {contacts / cost.wall:,.0f}/s wall; {members:,} members")
    use_buckets([])
    return sweep_rate, backfill_rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000,
                        help="people the sweep and the backfill go through (0 skips them)")
    parser.add_argument("--people", type=int, default=5_000,
                        help="contacts the ingest batches pick from")
    parser.add_argument("--rounds", type=int, default=8,
                        help="measured batches of 500 per side")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--freeze-gc", action="store_true",
                        help="gc.freeze() after the ingest warm-up (see the module docstring)")
    parser.add_argument("--rows", action="store_true",
                        help="end with the rows for bench/run.py's table, as one JSON line")
    args = parser.parse_args()
    setup()
    rows: list[tuple[str, str, str]] = []
    if not args.skip_ingest:
        none, twenty, ratio = ingest_ratio(args.people, args.rounds, freeze_gc=args.freeze_gc)
        rows.append(("(h) batch ingest events/CPU-s, no bucket / 20 buckets",
                     f"{none:,.0f} / {twenty:,.0f}", f"x{ratio:.2f}"))
    if args.contacts > 0:
        sweep_rate, backfill_rate = sweep(args.contacts)
        rows.append((f"(h) reconcile sweep over {args.contacts:,} contacts, contacts/CPU-s",
                     f"{sweep_rate:,.0f}", ""))
        rows.append((f"(h) backfill over {args.contacts:,} contacts, contacts/CPU-s",
                     f"{backfill_rate:,.0f}", ""))
    if args.rows:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
