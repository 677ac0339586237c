"""Engine benchmark on PostgreSQL (in one process, no HTTP).

    DATABASE_URL is ignored; BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432)
    names the server and a database `hogsend_bench` is recreated.

    .venv/bin/python bench/engine.py [--runs 10000] [--waiting 100000]

Prints: runs enrolled/s from ingested `ticket.resolved` events (batches of 500);
the first execution of those runs (sleep until 09:00 tomorrow); the 09:00 burst
(`run_due` draining every run due at once: send + wait), per run; and the cost of
ingesting 1,000 events with 1,000 versus `--waiting` runs waiting.
"""

from __future__ import annotations

import argparse
import statistics

from _setup import Timer, insert_limit, setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--waiting", type=int, default=100_000)
    args = parser.parse_args()
    setup()
    limit = insert_limit()
    print(f"database single-row insert limit: {limit:,.0f} commits/s")
    enroll_rate = enroll(args.runs)
    first_rate = drain("first execution (park until 09:00 tomorrow)")
    burst_rate, lateness = burst()
    from bench import backends

    print(f"emails handed to the backend: {backends.sent:,}")
    costs = {}
    for waiting in (1_000, args.waiting):
        fabricate_waiting(waiting)
        costs[waiting] = ingest_cost(1_000)
        print(f"ingest with {waiting:>9,} waiting runs: {costs[waiting] * 1000:.3f} ms/event")
    print()
    print("| measure | value | vs insert limit |")
    print("|---|---|---|")
    print(
        f"| enrolments/s (batch ingest of triggers) | {enroll_rate:,.0f} "
        f"| {enroll_rate / limit:.2f} |"
    )
    print(f"| first executions/s | {first_rate:,.0f} | {first_rate / limit:.2f} |")
    print(
        f"| 09:00 burst sends/s (inline, 1 process) | {burst_rate:,.0f} "
        f"| {burst_rate / limit:.2f} |"
    )
    print(f"| burst lateness p50 / p99 | {lateness[0]:.1f}s / {lateness[1]:.1f}s | |")
    ratio = costs[args.waiting] / costs[1_000]
    print(f"| ingest cost {args.waiting:,} vs 1,000 waiting | x{ratio:.2f} | |")


def burst() -> tuple[float, tuple[float, float]]:
    """Make every parked run due at one instant (as the clock reaching 09:00
    would) and drain; lateness = when each email reached the backend - due time."""
    from django.db.models import F
    from django.utils import timezone

    from journeys.models import JourneyRun
    from tracking.models import EmailSend

    due = timezone.now()
    JourneyRun.objects.filter(status="waiting", current_step="next-morning").update(
        wake_at=due, wait_deadline=due
    )
    rate = drain("09:00 burst (send + start the answer wait)")
    late = sorted(
        (s - due).total_seconds()
        for s in EmailSend.objects.filter(status="sent", sent_at__gte=due).values_list(
            "sent_at", flat=True
        )
    )
    _ = F
    if not late:
        return rate, (0.0, 0.0)
    return rate, (late[len(late) // 2], late[min(len(late) - 1, int(len(late) * 0.99))])


def enroll(n: int) -> float:
    from tracking.ingest import EventInput, events_ingest

    batch = 500
    with Timer() as t:
        for offset in range(0, n, batch):
            events_ingest(
                [
                    EventInput(
                        name="ticket.resolved",
                        user_id=f"cust-{i}",
                        email=f"c{i}@example.com",
                        properties={"ticket_id": f"T-{i}"},
                    )
                    for i in range(offset, min(n, offset + batch))
                ]
            )
    rate = n / t.seconds
    print(
        f"enrolled {n:,} runs in {t.seconds:.2f}s: {rate:,.0f}/s "
        f"({t.cpu_seconds / n * 1000:.2f} ms CPU per run)"
    )
    return rate


def drain(label: str) -> float:
    from django.utils import timezone

    from hogsend_site.due import process_batch, run_due_once

    total = 0
    with Timer() as t:
        while claimed := run_due_once(timezone.now(), dispatch=process_batch):
            total += claimed
    rate = total / t.seconds if t.seconds else 0
    print(
        f"{label}: {total:,} runs in {t.seconds:.2f}s: {rate:,.0f}/s "
        f"({t.cpu_seconds / max(total, 1) * 1000:.2f} ms CPU per run)"
    )
    return rate


def fabricate_waiting(n: int) -> None:
    """Bulk-insert waiting runs (fabricated: this measures ingest, not enrolment)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM journeys_journeyrun WHERE journey_id = 'bench-waiting'"
        )
        have = cursor.fetchone()[0]
        if have >= n:
            return
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, external_id, email, anonymous_id, timezone,
                                          properties, first_seen_at, last_seen_at, created_at,
                                          updated_at)
            SELECT md5('w' || g)::uuid, 'w-' || g, NULL, NULL, '', '{}', now(), now(), now(), now()
            FROM generate_series(%s, %s) g ON CONFLICT DO NOTHING
            """,
            [have, n - 1],
        )
        cursor.execute(
            """
            INSERT INTO journeys_journeyrun (id, journey_id, contact_id, user_key, user_email,
                status, current_step, context, version_hash, version_label, error_message,
                exit_reason, wake_at, waiting_event, wake_seq, timezone, created_at, updated_at)
            SELECT md5('r' || g)::uuid, 'bench-waiting', md5('w' || g)::uuid, 'w-' || g, '',
                'waiting', 'await-answer', '{}', '', '', '', '', now() + interval '4 days',
                'support.followup_answered', 0, '', now(), now()
            FROM generate_series(%s, %s) g
            """,
            [have, n - 1],
        )
        cursor.execute("ANALYZE")


def ingest_cost(n: int) -> float:
    """Seconds per event for single-event ingests of an event some runs wait for."""
    from tracking.ingest import EventInput, event_ingest

    samples = []
    for i in range(n):
        with Timer() as t:
            event_ingest(
                EventInput(
                    name="support.followup_answered",
                    user_id=f"other-{i}",
                    properties={"answer": "yes"},
                )
            )
        samples.append(t.seconds)
    return statistics.median(samples)


if __name__ == "__main__":
    main()
