"""Bytes stored per waiting journey run, per table and per index (PostgreSQL).

    BENCH_DB=<name>_bench .venv/bin/python bench/storage.py [--runs 10000] [--travel]

Recreates the BENCH_DB database, enrolls --runs support follow-up runs the real
way (batches of `ticket.resolved` through ingest), executes them (each parks
until 09:00 tomorrow), then makes them due and drains them again (each sends
its email and parks on the answer wait), then once more after VACUUM FULL:
every execution writes the run row twice (its claim and its park), and with
autovacuum off the dead row versions stay until pruned. After each stage it
prints every journeys table's heap, TOAST and indexes divided by the number of
runs, as `make bench`'s (e) row counts them: the run table and its journal
(journeys_steprecord); the timeline (journeys_journeylog) is shown beside them.

Like `make bench`, it makes the runs due by rewriting their wake time (one more
row version each, which the clock reaching 09:00 never writes); `--travel`
moves the process's clock to 09:00 instead.
"""

from __future__ import annotations

import argparse

from _setup import setup

TABLES = ("journeys_journeyrun", "journeys_steprecord", "journeys_journeylog")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--travel", action="store_true",
                        help="reach 09:00 by moving the clock, not by rewriting the runs")
    args = parser.parse_args()
    setup()
    from engine import drain, enroll

    from journeys.models import JourneyRun

    enroll(args.runs)
    drain("first execution")
    report("parked until 09:00 tomorrow (next-morning)")
    from django.utils import timezone

    parked = JourneyRun.objects.filter(status="waiting", current_step="next-morning")
    if args.travel:
        import time_machine

        with time_machine.travel(max(parked.values_list("wake_at", flat=True))):
            drain("09:00 (send, wait for the answer)")
    else:
        due = timezone.now()
        parked.update(wake_at=due, wait_deadline=due)
        drain("09:00 (send, wait for the answer)")
    report("parked on the answer (await-answer)")
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM FULL {table}")
    report("the same runs after VACUUM FULL (live rows only, no dead versions)")


def report(stage: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'waiting') "
                       "FROM journeys_journeyrun")
        runs, waiting = cursor.fetchone()
        print(f"\n## {stage}: {runs:,} runs, {waiting:,} waiting\n")
        print("| relation | rows/run | bytes/run |")
        print("|---|---|---|")
        counted = 0
        for table in TABLES:
            counted += table_rows(cursor, table, runs, counted_in_bench=table != TABLES[2])
        print(f"| **run + journal (bench row (e))** | | **{counted:,.0f}** |")


def table_rows(cursor, table: str, runs: int, *, counted_in_bench: bool) -> float:
    cursor.execute(f"SELECT count(*) FROM {table}")
    rows = cursor.fetchone()[0]
    cursor.execute(
        "SELECT pg_relation_size(c.oid), "
        "COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0), "
        "pg_total_relation_size(c.oid) FROM pg_class c WHERE c.relname = %s", [table])
    heap, toast, total = cursor.fetchone()
    mark = "" if counted_in_bench else " (not in (e))"
    print(f"| **{table}**{mark} total | {rows / runs:.2f} | {total / runs:,.0f} |")
    print(f"| heap | | {heap / runs:,.0f} |")
    if toast:
        print(f"| TOAST | | {toast / runs:,.0f} |")
    cursor.execute(
        "SELECT i.relname, pg_relation_size(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "WHERE t.relname = %s ORDER BY 2 DESC", [table])
    for name, size in cursor.fetchall():
        print(f"| index {name} | | {size / runs:,.0f} |")
    return total / runs if counted_in_bench else 0.0


if __name__ == "__main__":
    main()
