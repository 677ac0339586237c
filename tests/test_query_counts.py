"""Statements per ingest and per resume, pinned: a batch costs the same handful
of queries however many events it carries, and a batch of resumed runs the
same handful however many runs it holds."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from hogsend_site.due import process_batch, run_due_once
from journeys.engine import send_policy
from journeys.engine.send_policy import DISPATCH_CHUNK
from tracking.ingest import EventInput, events_ingest

pytestmark = pytest.mark.django_db


def statements(fn) -> int:
    return len(statements_sql(fn))


def statements_sql(fn) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        fn()
    # Savepoints exist only because each test runs inside a transaction.
    return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


def drain() -> None:
    while run_due_once(timezone.now(), dispatch=process_batch):
        pass


@pytest.fixture
def people(db) -> list[Contact]:
    return Contact.objects.bulk_create(
        [Contact(external_id=f"p{n}", email=f"p{n}@example.com") for n in range(100)])


@pytest.mark.parametrize("size", [10, 100])
def test_a_batch_of_plain_events_costs_a_fixed_handful_of_statements(people, size):
    batch = [EventInput(name="page.viewed", user_id=f"p{n}") for n in range(size)]
    assert statements(lambda: events_ingest(batch)) <= 6


@pytest.mark.parametrize("size", [10, 100])
def test_a_batch_of_triggers_enrols_with_a_fixed_handful_of_statements(people, size):
    batch = [EventInput(name="ticket.resolved", user_id=f"p{n}", properties={"ticket_id": n})
             for n in range(size)]
    # SQLite splits a bulk INSERT every ~50 rows; PostgreSQL never does.
    assert statements(lambda: events_ingest(batch)) <= 14


def test_new_people_in_a_batch_are_created_with_one_insert(db):
    batch = [EventInput(name="page.viewed", user_id=f"new{n}", email=f"new{n}@example.com")
             for n in range(50)]
    assert statements(lambda: events_ingest(batch)) <= 8
    assert Contact.objects.count() == 50


class DedupingProvider(LocmemBackend):
    """A provider that deduplicates on the send's key (as Resend does)."""

    idempotency_key_header = "Idempotency-Key"


@pytest.mark.parametrize("size", [10, 60])
@pytest.mark.parametrize(("backend", "per_run"), [
    (f"{__name__}.DedupingProvider", 0),
    # Without provider keys each send is marked sent on its own (in-doubt window).
    ("django.core.mail.backends.locmem.EmailBackend", 1),
])
def test_the_morning_resume_of_a_batch_of_support_runs_costs_a_fixed_handful(
        people, settings, monkeypatch, size, backend, per_run):
    settings.EMAIL_BACKEND = backend
    # The status is also re-read after DISPATCH_STALE seconds of real time: a
    # slow, loaded run must not cross it here.
    monkeypatch.setattr(send_policy, "DISPATCH_STALE", 3600.0)
    with time_machine.travel(datetime(2026, 6, 16, 14, tzinfo=UTC), tick=False) as clock:
        events_ingest([EventInput(name="ticket.resolved", user_id=f"p{n}")
                       for n in range(size)])
        drain()
        clock.move_to(datetime(2026, 6, 17, 9, tzinfo=UTC))
        issued = statements_sql(drain)
    # The clock's claims; one load of runs, journals, preferences and the
    # journey's recent sends; one status read, one INSERT of the sends, one of
    # their links, one UPDATE marking them sent; one scan for the waits; the
    # journal, a locked read, the waits' scan again and one UPDATE parking the
    # runs; the timeline. However many runs the batch holds (SQLite splits a bulk
    # statement past 999 parameters; PostgreSQL never does), plus one status read
    # per DISPATCH_CHUNK messages (an exit landing while the batch sends), plus
    # one refresh of the webhook subscriptions, which each process re-reads after
    # SUBSCRIPTIONS_TTL seconds of real time (a slow, loaded drain crosses it).
    fixed = 28 if connection.vendor == "postgresql" else 38
    bound = fixed + per_run * size + math.ceil(size / DISPATCH_CHUNK) + 1
    assert len(issued) <= bound, "\n".join(sql[:160] for sql in issued)


@pytest.mark.parametrize("size", [10, 60])
def test_the_answers_resume_a_batch_with_a_fixed_handful_and_replay_the_send(people, size):
    with time_machine.travel(datetime(2026, 6, 16, 14, tzinfo=UTC), tick=False) as clock:
        events_ingest([EventInput(name="ticket.resolved", user_id=f"p{n}")
                       for n in range(size)])
        drain()
        clock.move_to(datetime(2026, 6, 17, 9, tzinfo=UTC))
        drain()
        clock.move_to(datetime(2026, 6, 17, 11, tzinfo=UTC))
        answers = [EventInput(name="support.followup_answered", user_id=f"p{n}",
                              properties={"answer": "yes"}) for n in range(size)]
        count = statements(lambda: (events_ingest(answers), drain()))
    # The ingest and its wake-up; then as above, with the send replayed from the
    # journal (no statement) and the runs completed instead of parked. (The bound
    # has a little slack for an extra clock pass; per-run work would add 60.)
    assert count <= (28 if connection.vendor == "postgresql" else 38)


@pytest.fixture
def twenty_buckets():
    """20 buckets over properties, event windows and counts (the shipped ones and
    the shipped journeys step aside, so only the buckets' own statements differ)."""
    from buckets import all_, any_, days, define_bucket, event, not_, prop
    from buckets import due as bucket_due
    from buckets.registry import registry
    from journeys.engine.registry import registry as journeys

    shipped, shipped_journeys = list(registry), list(journeys)
    for item in shipped:
        registry.remove(item.id)
    for journey in shipped_journeys:
        journeys.remove(journey.id)
    bucket_due.reset()
    shapes = [
        lambda n: all_(prop("plan").eq("trial"), prop("seats").gte(n)),
        lambda n: all_(event("app.active"), not_(event("app.active").within(days(n + 1)))),
        lambda n: event("app.active").within(days(n + 1)).at_least(1),
        lambda n: any_(prop("plan").eq("pro"), event("report.created").at_least(n)),
    ]
    for n in range(20):
        registry.add(define_bucket(id=f"b{n}", name=f"B{n}", criteria=shapes[n % 4](n)))
    yield
    for item in list(registry):
        registry.remove(item.id)
    for item in shipped:
        registry.add(item)
    for journey in shipped_journeys:
        journeys.add(journey)
    bucket_due.reset()


def statement_shapes(fn) -> list[str]:
    """The statements `fn` runs, each named by its verb and table; consecutive
    INSERTs or UPDATEs of one table count once (SQLite splits a bulk statement
    into chunks of 999 parameters; PostgreSQL never does)."""
    with CaptureQueriesContext(connection) as captured:
        fn()
    shapes: list[str] = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if "SAVEPOINT" in sql:
            continue
        words = sql.replace('"', "").split()
        table = next((w for w in words[1:] if "_" in w and not w.startswith("(")), "")
        shape = f"{words[0]} {table}"
        if shape == "SELECT alerts_webhookendpoint.kind":
            continue  # the outbound sink refreshing its subscriptions on a timer
        if words[0] in ("INSERT", "UPDATE") and shapes and shapes[-1] == shape:
            continue
        shapes.append(shape)
    return shapes


def test_twenty_buckets_evaluate_a_batch_in_the_same_statements_for_10_or_1000_events(
        db, twenty_buckets):
    Contact.objects.bulk_create([Contact(external_id=f"q{n}") for n in range(1010)])

    def batch(first: int, size: int) -> list[EventInput]:
        # Each event joins its person to 7 buckets: memberships, checks
        # and transition events are written for every one of them.
        return [EventInput(name="app.active", user_id=f"q{n}",
                           contact_properties={"plan": "trial", "seats": 5})
                for n in range(first, first + size)]

    small = statement_shapes(lambda: events_ingest(batch(0, 10)))
    large = statement_shapes(lambda: events_ingest(batch(10, 1000)))
    assert large == small
    from buckets.models import BucketMembership

    assert BucketMembership.objects.filter(status="active").count() == 1010 * 7
    # Beyond a plain event's (and the contacts' last-seen UPDATE), the buckets'
    # own share: facts, memberships, checks, two INSERTs, and the nested ingest
    # of the transitions (key check, contacts, INSERT, wake-ups).
    # (Two events: a lone one takes a shorter road than a batch.)
    plain = statement_shapes(lambda: events_ingest([
        EventInput(name="page.viewed", user_id=f"q{n}") for n in range(2)]))
    assert len(large) - len(plain) <= 1 + 9
