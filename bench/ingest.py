"""Ingest throughput against a real database, next to the database's own commit rate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/ingest.py

Migrates the database, then measures, in-process (no HTTP):
  * `events_ingest` in batches of 500 (one transaction per batch), for events of
    contacts seen for the first time and of contacts that already exist;
  * `event_ingest`, one event (one transaction) at a time;
  * the database's own rate of single-row INSERT + COMMIT through psycopg, the
    ceiling for anything that commits once per event.
Every event carries an idempotency key, as API callers send. The events' names
match no journey or handler, so this is the cost of ingest itself (dispatch
hooks included). Rows it writes are deleted at the end. `--profile` prints the
hottest functions of the batch path.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Benchmarks run like production: DEBUG off, so Django does not keep every query.
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hogsend_site.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from contacts.models import Contact  # noqa: E402
from tracking.ingest import EventInput, event_ingest, events_ingest  # noqa: E402
from tracking.models import UserEvent  # noqa: E402

BATCH = 500
EVENT_PREFIX = "bench."


def _events(run: str, users: range, *, tag: str) -> list[EventInput]:
    return [
        EventInput(
            name=f"{EVENT_PREFIX}page_viewed",
            user_id=f"bench-{run}-{n}",
            email=f"bench-{run}-{n}@example.com",
            properties={"path": "/pricing", "n": n},
            idempotency_key=f"bench-{run}-{tag}-{n}",
        )
        for n in users
    ]


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:10,.0f} events/s  ({count:,} in {seconds:.2f} s)"


class QueryCounter:
    """Counts statements sent (DEBUG's query log is off, and capped anyway)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def bench_batches(run: str, batches: int, *, tag: str) -> tuple[float, int]:
    """Ingest `batches` batches of BATCH events; returns (seconds, queries per batch)."""
    elapsed, counter = 0.0, QueryCounter()
    for b in range(batches):
        items = _events(run, range(b * BATCH, (b + 1) * BATCH), tag=tag)
        with connection.execute_wrapper(counter):
            start = time.perf_counter()
            results = events_ingest(items)
            elapsed += time.perf_counter() - start
        assert all(r.stored for r in results), "bench events must be fresh"
    return elapsed, counter.count // batches


def bench_single(run: str, count: int, *, offset: int) -> tuple[float, int]:
    items = _events(run, range(offset, offset + count), tag="single")
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        start = time.perf_counter()
        for item in items:
            event_ingest(item)
        elapsed = time.perf_counter() - start
    return elapsed, counter.count // count


def bench_commit_rate(seconds: float) -> tuple[int, float]:
    """Single-row INSERT + COMMIT in a loop, straight through psycopg."""
    import psycopg

    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"],
                         password=db["PASSWORD"] or None, dbname=db["NAME"]) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_commit_probe")
        conn.execute("CREATE TABLE bench_commit_probe (id bigserial PRIMARY KEY, at timestamptz)")
        conn.commit()
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            conn.execute("INSERT INTO bench_commit_probe (at) VALUES (now())")
            conn.commit()
            count += 1
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_commit_probe")
        conn.commit()
    return count, elapsed


def cleanup(run: str) -> None:
    UserEvent.objects.filter(idempotency_key__startswith=f"bench-{run}-").delete()
    Contact.objects.filter(external_id__startswith=f"bench-{run}-").delete()


def profiled(fn: Callable[[], object], top: int) -> None:
    profile = cProfile.Profile()
    profile.runcall(fn)
    stats = pstats.Stats(profile).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=6, help="batches of 500 per phase")
    parser.add_argument("--single", type=int, default=1000, help="events for event_ingest")
    parser.add_argument("--commit-seconds", type=float, default=3.0)
    parser.add_argument("--profile", action="store_true", help="profile one batch of 500")
    parser.add_argument("--keep", action="store_true", help="keep the rows written")
    args = parser.parse_args()

    vendor = connection.vendor
    if vendor != "postgresql":
        print(f"warning: DATABASE_URL is {vendor}, not PostgreSQL", file=sys.stderr)
    call_command("migrate", "--noinput", verbosity=0)
    run = secrets.token_hex(4)
    print(f"database: {vendor} {settings.DATABASES['default']['NAME']!r}, run {run}")
    try:
        new_s, new_q = bench_batches(run, args.batches, tag="new")
        total = args.batches * BATCH
        print(f"events_ingest x{BATCH}, new contacts:      {_rate(total, new_s)}  "
              f"{new_q} queries/batch")
        old_s, old_q = bench_batches(run, args.batches, tag="again")
        print(f"events_ingest x{BATCH}, existing contacts: {_rate(total, old_s)}  "
              f"{old_q} queries/batch")
        one_s, one_q = bench_single(run, args.single, offset=0)
        print(f"event_ingest x1, existing contacts:      {_rate(args.single, one_s)}  "
              f"{one_q} queries/event")
        if args.profile:
            offset = args.batches * BATCH
            profiled(lambda: events_ingest(_events(run, range(offset, offset + BATCH),
                                                   tag="profile")), top=35)
    finally:
        if not args.keep:
            cleanup(run)
    if vendor == "postgresql":
        count, elapsed = bench_commit_rate(args.commit_seconds)
        print(f"database INSERT+COMMIT (1 row):          {count / elapsed:10,.0f} commits/s "
              f"({count:,} in {elapsed:.2f} s)")


if __name__ == "__main__":
    main()
